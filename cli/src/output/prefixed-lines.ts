// A stream that writes each whole line it is given to `out` behind a prefix (`web-1  | `), as docker compose logs
// and docker service logs label the lines of several containers; a last line without a newline is written at end.

import { Writable } from 'node:stream';

export function prefixedLines(out: NodeJS.WritableStream, prefix: string): Writable {
  let pending = '';
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) out.write(`${prefix}${line}\n`);
      done();
    },
    final(done) {
      if (pending !== '') out.write(`${prefix}${pending}\n`);
      done();
    },
  });
}

/** Collects what is written, for logs read whole before they are merged. */
export function collected(): { readonly stream: Writable; text(): string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** An RFC3339 time whose fraction is padded to nanoseconds, so times compare as strings. */
const sortable = (at: string): string =>
  at.replace(
    /(\d\d:\d\d:\d\d)(?:\.(\d+))?/,
    (_m, hms: string, frac: string | undefined) => `${hms}.${(frac ?? '').padEnd(9, '0')}`,
  );

/** Lines `RFC3339 text` of several sources in time order (a stable sort: one source's lines keep their order). */
export function mergeByTime(
  sources: readonly { readonly prefix: string; readonly text: string }[],
  withTimestamps: boolean,
): string {
  const lines: { at: string; line: string; i: number }[] = [];
  for (const { prefix, text } of sources)
    for (const raw of text.split('\n')) {
      if (raw === '') continue;
      const sp = raw.indexOf(' ');
      const at = sp < 0 ? raw : raw.slice(0, sp);
      const rest = sp < 0 ? '' : raw.slice(sp + 1);
      lines.push({ at: sortable(at), line: `${prefix}${withTimestamps ? `${at} ` : ''}${rest}`, i: lines.length });
    }
  lines.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.i - b.i));
  return lines.map((l) => `${l.line}\n`).join('');
}
