#!/bin/sh
# Runs the whole suite with tap and ends with the totals as a plain line CI reads: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
out=$(mktemp)
code=$(mktemp)
{ npx tap --reporter=tap "$@" 2>&1; echo $? >"$code"; } | tee "$out"
status=$(cat "$code")
rm -f "$code"
# tap's closing comment looks like: # { total: 120, pass: 118, fail: 2, skip: 0 }
summary=$(grep -E '^# \{ total: [0-9]+' "$out" | tail -1)
rm -f "$out"
passed=$(echo "$summary" | sed -nE 's/.*pass: ([0-9]+).*/\1/p')
failed=$(echo "$summary" | sed -nE 's/.*fail: ([0-9]+).*/\1/p')
skipped=$(echo "$summary" | sed -nE 's/.*skip: ([0-9]+).*/\1/p')
passed=${passed:-0}
failed=${failed:-0}
# A skipped test is not a pass; a run that ended without a summary failed as a whole.
failed=$((failed + ${skipped:-0}))
[ -z "$summary" ] && failed=$((failed + 1))
echo "$passed passed, $failed failed"
[ "$status" = 0 ] && [ "$failed" = 0 ]
