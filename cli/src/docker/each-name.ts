// docker's way with several names in one command: each is tried in turn, every failure but the last is printed as
// it happens, and the last is the command's own error (its exit status).

export async function forEachName(
  names: readonly string[],
  act: (name: string) => Promise<void>,
  err: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  let failure: unknown;
  for (const name of names) {
    try {
      await act(name);
    } catch (e) {
      if (failure !== undefined) err.write(`berth: ${(failure as Error).message}\n`);
      failure = e;
    }
  }
  if (failure !== undefined) throw failure;
}
