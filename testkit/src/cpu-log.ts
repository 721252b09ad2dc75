// Loaded into every test process (package.json "tap" node-arg): with BERTH_TEST_CPU_LOG set, the process appends
// the CPU it and its reaped children used to that file when it exits, to see where the suite's time goes
// (hack/test-cpu-report.sh ranks the files).

const cpuLog = process.env.BERTH_TEST_CPU_LOG;
if (cpuLog) {
  const { appendFileSync, readFileSync } = await import('node:fs');
  process.on('exit', () => {
    const own = process.cpuUsage();
    // /proc/self/stat fields 16 and 17 (after the command name): children's user and system clock ticks.
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const children = (Number(fields[13]) + Number(fields[14])) / 100;
    const line = { file: process.argv[1], self: (own.user + own.system) / 1e6, children };
    appendFileSync(cpuLog, `${JSON.stringify(line)}\n`);
  });
}
