#!/bin/sh
# Runs the whole suite with tap and prints the totals as a plain line CI reads: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
out=$(mktemp)
npx tap --reporter=tap "$@" | tee "$out"
status=$?
passed=$(grep -cE '^\s*ok [0-9]+' "$out")
failed=$(grep -cE '^\s*not ok [0-9]+' "$out")
rm -f "$out"
echo "$passed passed, $failed failed"
[ "$status" = 0 ] && [ "$failed" = 0 ]
