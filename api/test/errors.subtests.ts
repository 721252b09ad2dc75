import t from 'tap';
import { BerthError, ParseError, isBerthError } from '@berth/api';

class WidgetError extends BerthError<'WidgetBroken' | 'WidgetMissing'> {}
class SprocketError extends WidgetError {}

t.test('a subclass is recognised by brand, by instanceof, and by its code', async (t) => {
  const cause = new Error('disk full');
  const err = new SprocketError('WidgetBroken', 'the widget broke', { cause });
  t.equal(err.name, 'SprocketError');
  t.equal(err.code, 'WidgetBroken');
  t.equal(err.cause, cause);
  t.ok(SprocketError.isInstance(err));
  t.ok(WidgetError.isInstance(err), 'a parent class recognises its subclasses');
  t.ok(BerthError.isInstance(err));
  t.ok(err instanceof WidgetError);
  t.ok(isBerthError(err, 'WidgetBroken'));
  t.notOk(isBerthError(err, 'WidgetMissing'));
  t.notOk(ParseError.isInstance(err), 'a sibling class does not');
  t.notOk(SprocketError.isInstance(new WidgetError('WidgetMissing', 'x')), 'a parent is not its subclass');
});

t.test(
  'the brand survives a second copy of the package (a structurally separate class of the same name)',
  async (t) => {
    // What a second copy of @berth/api loaded beside the first would hold: an unrelated class with the same name.
    const copy = { WidgetError: class WidgetError extends BerthError {} };
    const err = new copy.WidgetError('WidgetBroken', 'from the other copy');
    t.ok(WidgetError.isInstance(err));
    t.ok(err instanceof WidgetError);
  },
);

t.test('plain errors and non-objects are not BerthErrors', async (t) => {
  t.notOk(BerthError.isInstance(new Error('x')));
  t.notOk(BerthError.isInstance(null));
  t.notOk(BerthError.isInstance('WidgetError'));
  t.notOk(isBerthError({ code: 'WidgetBroken' }));
});
