// "Did you mean …?": the known words closest to a mistyped one, as cobra suggests commands (and a swapped pair
// of letters counting as one typo).

/** Edit distance of `a` and `b` where a swap of neighbours costs one (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known words at the smallest distance (at most two) from `typed`, or that it begins. */
export function suggestions(typed: string, known: readonly string[]): string[] {
  const scored = known.map((word) => ({
    word,
    d: typed.length > 1 && word.startsWith(typed) ? 0 : editDistance(typed, word),
  }));
  const best = Math.min(...scored.map((x) => x.d));
  if (best > 2) return [];
  return scored
    .filter((x) => x.d === best)
    .map((x) => x.word)
    .sort();
}
