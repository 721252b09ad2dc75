#!/bin/sh
# The long fuzz runs `npm test` bounds: the API's hostile-input run, the security layers' run
# (apiserver/test/security/security-fuzz.test.ts) and the hostile-tarball run (layers and build contexts,
# node-agent/test/unpack/extract-layer.test.ts) with many more cases, on one seed (BERTH_FUZZ_SEED, default
# today's date) so a finding can be replayed. Prints each run's figures (requests, time, answers by code).
set -eu
cd "$(dirname "$0")/.."
seed="${BERTH_FUZZ_SEED:-$(date +%Y%m%d)}"
export BERTH_HOSTILE_SEED="$seed" BERTH_HOSTILE_RUNS="${BERTH_HOSTILE_RUNS:-30000}"
export BERTH_SECURITY_FUZZ_SEED="$seed" BERTH_SECURITY_FUZZ_RUNS="${BERTH_SECURITY_FUZZ_RUNS:-20000}"
export BERTH_TAR_FUZZ_SEED="$seed" BERTH_TAR_FUZZ_RUNS="${BERTH_TAR_FUZZ_RUNS:-20000}"
exec npx tap --timeout 3600 --jobs 1 apiserver/test/e2e/hostile-run.test.ts apiserver/test/security/security-fuzz.test.ts \
  node-agent/test/unpack/extract-layer.test.ts
