#!/usr/bin/env bash
# The whole test suite: builds the web bundle and the binary (end-to-end tests
# run the compiled binary, as users do), then runs every test with bun test,
# and ends with one summary line: "tests: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

bun run scripts/build-web.ts >/dev/null || { echo "web build failed"; echo "tests: 0 passed, 1 failed"; exit 1; }
bun run scripts/build.ts >/dev/null || { echo "binary build failed"; echo "tests: 0 passed, 1 failed"; exit 1; }
export GAUNTLET_BIN="$PWD/dist/gauntlet"

log=$(mktemp)
bun test "$@" 2>&1 | tee "$log"
code=${PIPESTATUS[0]}
pass=$(grep -Eo '^ *[0-9]+ pass$' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
fail=$(grep -Eo '^ *[0-9]+ fail$' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
skip=$(grep -Eo '^ *[0-9]+ skip$' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
rm -f "$log"
if [ "$code" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
echo "tests: ${pass} passed, ${fail} failed, ${skip} skipped"
exit "$code"
