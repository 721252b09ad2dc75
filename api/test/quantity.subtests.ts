// Quantities parse to exact values with Kubernetes' suffixes, rounding and error messages.
import t from 'tap';
import {
  compareQuantities,
  parseQuantity,
  quantityMilliValue,
  quantityValue,
  toBytes,
  toCount,
  toMillicores,
  validateQuantity,
} from '@berth/api';

const FORMAT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const SUFFIX = "unable to parse quantity's suffix";

t.test('memory in bytes', async (t) => {
  t.equal(toBytes('128Mi'), 134217728);
  t.equal(toBytes('1Gi'), 1073741824);
  t.equal(toBytes('1Ki'), 1024);
  t.equal(toBytes('1.5Gi'), 1610612736);
  t.equal(toBytes('1.5G'), 1500000000);
  t.equal(toBytes('64M'), 64000000);
  t.equal(toBytes('1k'), 1000);
  t.equal(toBytes('1e3'), 1000);
  t.equal(toBytes('1E3'), 1000, 'upper-case exponent');
  t.equal(toBytes('12e-1'), 2, 'fractions round up, as Quantity.Value');
  t.equal(toBytes(4096), 4096, 'a plain number');
  t.equal(quantityValue(parseQuantity('1E')), 10n ** 18n, 'E alone is exa');
  t.equal(toBytes('0'), 0);
});

t.test('cpu in millicores', async (t) => {
  t.equal(toMillicores('500m'), 500);
  t.equal(toMillicores('0.5'), 500);
  t.equal(toMillicores('.5'), 500);
  t.equal(toMillicores(0.25), 250);
  t.equal(toMillicores('2'), 2000);
  t.equal(toMillicores(2), 2000);
  t.equal(toMillicores('1.'), 1000);
  t.equal(toMillicores('100u'), 1, '0.1 millicore rounds up to 1');
  t.equal(toMillicores('+1'), 1000);
  t.equal(toCount('256'), 256);
});

t.test('exact values', async (t) => {
  t.same(parseQuantity('500m'), { numerator: 1n, denominator: 2n, format: 'DecimalSI' });
  t.same(parseQuantity('1Ki'), { numerator: 1024n, denominator: 1n, format: 'BinarySI' });
  t.same(parseQuantity('1e3'), { numerator: 1000n, denominator: 1n, format: 'DecimalExponent' });
  t.same(parseQuantity('-1.5'), { numerator: -3n, denominator: 2n, format: 'DecimalSI' });
  t.equal(quantityValue(parseQuantity('-1.5')), -2n, 'rounds away from zero');
  t.equal(quantityMilliValue(parseQuantity('1n')), 1n);
  t.equal(quantityValue(parseQuantity('8Ei')), 2n ** 63n, 'beyond int64 stays exact');
  t.equal(compareQuantities(parseQuantity('1Gi'), parseQuantity('1G')), 1);
  t.equal(compareQuantities(parseQuantity('1000m'), parseQuantity('1')), 0);
  t.equal(compareQuantities(parseQuantity('1k'), parseQuantity('1Ki')), -1);
});

t.test('invalid quantities', async (t) => {
  for (const bad of ['', 'x', '1x', '1 Mi', '1.5.5', 'Mi', '1KiB', '--1', '1e3.5'])
    t.same(validateQuantity(bad), [FORMAT], JSON.stringify(bad));
  for (const bad of ['1mm', '1e', '1i', '1Mi5', '1kk', '1m3'])
    t.same(validateQuantity(bad), [SUFFIX], JSON.stringify(bad));
  t.same(validateQuantity('1Mi'), []);
  t.same(validateQuantity(Number.NaN), [FORMAT]);
  t.throws(() => toBytes('1x'), { code: 'BERTH_QUANTITY_INVALID', message: FORMAT, input: '1x' });
  t.throws(() => toBytes('16Ei'), { code: 'BERTH_QUANTITY_INVALID', message: /too large/ });
});
