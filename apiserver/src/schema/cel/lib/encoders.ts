// CEL's encoders extension as Kubernetes enables it: base64.encode(bytes) and base64.decode(string).

import { CelScalar, celError, celFunc, type CelFunc } from '@bufbuild/cel';

export const encodersLibrary: CelFunc[] = [
  celFunc('base64.encode', [CelScalar.BYTES], CelScalar.STRING, (b) => Buffer.from(b).toString('base64')),
  celFunc('base64.decode', [CelScalar.STRING], CelScalar.BYTES, (s) => {
    // Go accepts padded and unpadded standard base64; anything else is an error.
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw celError('illegal base64 data');
    return Uint8Array.from(Buffer.from(s, 'base64'));
  }),
];
