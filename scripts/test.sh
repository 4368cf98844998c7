#!/usr/bin/env bash
# The whole test suite: builds the web bundle and the binary (end-to-end tests
# run the compiled binary, as users do), then runs every test with bun test
# twice, a test matrix: once on the embedded SQLite store and once on
# PostgreSQL (GAUNTLET_TEST_DATABASE_URL, default the local server's `test`
# database; every test data dir gets a schema of its own). It ends with one
# summary line over both: "tests: N passed, N failed, N skipped".
# GAUNTLET_TEST_LEGS=sqlite (or postgres) runs one leg only.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PATH="$PWD/node_modules/.bin:$PATH"

bun run scripts/build-web.ts >/dev/null || { echo "web build failed"; echo "tests: 0 passed, 1 failed"; exit 1; }
bun run scripts/build.ts >/dev/null || { echo "binary build failed"; echo "tests: 0 passed, 1 failed"; exit 1; }
export GAUNTLET_BIN="$PWD/dist/gauntlet"

legs=${GAUNTLET_TEST_LEGS:-sqlite postgres}
pg_url=${GAUNTLET_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
unset GAUNTLET_TEST_DATABASE_URL
total_pass=0 total_fail=0 total_skip=0 code=0

leg() { # name, then env assignments via the caller
  local name=$1 log
  shift
  log=$(mktemp)
  echo "=== test leg: ${name} ==="
  # bun test in a process group of its own, its output to the log, shown as it
  # comes. Not through a pipe to tee: a process a failed test left running
  # inherits the output and would hold a pipe open, and CI would wait on it
  # forever (seen: two cron-proc.ts left by a failed test/queue/cron.test.ts).
  # When bun exits, whatever it left in its group is killed.
  setsid env "$@" bun test --timeout 30000 ${TEST_ARGS[@]+"${TEST_ARGS[@]}"} >"$log" 2>&1 &
  local bpid=$!
  tail -n +1 -f --pid="$bpid" "$log" &
  local tpid=$!
  local c=0
  wait "$bpid" || c=$?
  wait "$tpid" 2>/dev/null
  kill -KILL -- "-$bpid" 2>/dev/null || true
  local pass fail skip
  pass=$(grep -Eo '^ *[0-9]+ pass$' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
  fail=$(grep -Eo '^ *[0-9]+ fail$' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
  skip=$(grep -Eo '^ *[0-9]+ skip$' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
  rm -f "$log"
  if [ "$c" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
  if [ "$c" -ne 0 ]; then code=$c; fi
  echo "leg ${name}: ${pass} passed, ${fail} failed, ${skip} skipped"
  total_pass=$((total_pass + pass)) total_fail=$((total_fail + fail)) total_skip=$((total_skip + skip))
}

TEST_ARGS=("$@")
for l in $legs; do
  case $l in
    sqlite) leg sqlite GAUNTLET_TEST_LEG=sqlite ;;
    postgres)
      hostport=${pg_url#*://}; hostport=${hostport#*@}; hostport=${hostport%%/*}
      host=${hostport%%:*}; port=${hostport##*:}; [ "$port" = "$hostport" ] && port=5432
      if (exec 3<>"/dev/tcp/${host}/${port}") 2>/dev/null; then
        GAUNTLET_TEST_DATABASE_URL="$pg_url" bun run scripts/pg-test-reset.ts || code=1
        leg postgres GAUNTLET_TEST_DATABASE_URL="$pg_url"
      else
        echo "skip the PostgreSQL leg: nothing listens on ${host}:${port}"
      fi
      ;;
    *) echo "unknown test leg ${l}"; code=2 ;;
  esac
done
echo "tests: ${total_pass} passed, ${total_fail} failed, ${total_skip} skipped"
exit "$code"
