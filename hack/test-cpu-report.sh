#!/bin/sh
# Where the suite's CPU goes: run it with BERTH_TEST_CPU_LOG=FILE (testkit/src/cpu-log.ts writes it), then
# `hack/test-cpu-report.sh FILE` prints each test file's CPU seconds (its own + its reaped children's), largest first.
set -eu
node -e '
const lines = require("node:fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
const repo = process.cwd() + "/";
let total = 0;
for (const l of lines.sort((a, b) => b.self + b.children - (a.self + a.children))) {
  total += l.self + l.children;
  console.log(`${(l.self + l.children).toFixed(1).padStart(7)} s  (own ${l.self.toFixed(1)}, children ${l.children.toFixed(1)})  ${l.file.replace(repo, "")}`);
}
console.log(`${total.toFixed(1).padStart(7)} s  in ${lines.length} test processes`);
' "$1"
