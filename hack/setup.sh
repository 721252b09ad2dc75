#!/bin/sh
# Everything `npm start` and `npm test` need on a fresh machine: Debian packages, npm deps, a build. Idempotent.
set -eu
cd "$(dirname "$0")/.."
hack/install-debian-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >/dev/null
  # tap ships prebuilt with its default plugins (ts-node among them, which fails on TypeScript 7); build the set
  # package.json names now, or the first run after an install loads the defaults.
  npx tap build >/dev/null
fi
npx tsc -b
# The web dashboard's bundle (dashboard/dist), which the API server serves at /dashboard/.
npm run build --silent -w @berth/dashboard
# The benchmarks are not built, but they must keep compiling against the code they measure.
npx tsc -p bench
# Tests run from source through tsx, which strips types without checking them: check them here.
npx tsc -p tsconfig.test.json
chmod +x cli/dist/main.js
# npm links workspace bins at install time, and skips `berth` when cli/dist does not exist yet (a fresh clone):
# link it now that the build made it, so `npx berth` runs.
[ -e node_modules/.bin/berth ] || npm rebuild --ignore-scripts --no-audit --no-fund @berth/cli >/dev/null
