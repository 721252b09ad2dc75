// A line diff (longest common subsequence) of two texts, as unified-diff hunks with a few lines of context: what
// the YAML editor shows between the object now and what a dry-run apply would make of it.

export interface DiffLine {
  readonly kind: ' ' | '+' | '-' | '…';
  readonly text: string;
}

export function lineDiff(before: string, after: string, context = 3): DiffLine[] {
  const a = before.split('\n');
  const b = after.split('\n');
  // lengths[i][j]: the LCS of a[i..] and b[j..]; objects are a few hundred lines, so n·m is small.
  const lengths: Uint32Array[] = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lengths[i]![j] = a[i] === b[j] ? lengths[i + 1]![j + 1]! + 1 : Math.max(lengths[i + 1]![j]!, lengths[i]![j + 1]!);
  const all: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      all.push({ kind: ' ', text: a[i++]! });
      j++;
      // Removals before additions, as unified diffs show a changed line.
    } else if (i < a.length && (j === b.length || lengths[i + 1]![j]! >= lengths[i]![j + 1]!))
      all.push({ kind: '-', text: a[i++]! });
    else all.push({ kind: '+', text: b[j++]! });
  }
  // Only the changes and their context; skipped stretches become one "…".
  const keep = all.map(() => false);
  all.forEach((line, k) => {
    if (line.kind === ' ') return;
    for (let c = Math.max(0, k - context); c <= Math.min(all.length - 1, k + context); c++) keep[c] = true;
  });
  const shown: DiffLine[] = [];
  all.forEach((line, k) => {
    if (keep[k]) shown.push(line);
    else if (shown.at(-1)?.kind !== '…') shown.push({ kind: '…', text: '' });
  });
  return shown;
}
