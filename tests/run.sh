#!/usr/bin/env bash
# Runs every test project against real PostgreSQL, RabbitMQ and Redis processes (the tests start
# them through the AppHost under Aspire) and ends with one line of totals over all projects.
#
#   tests/run.sh               the whole suite
#   tests/run.sh --under-load  the same while two busy loops keep both cores loaded (ended with the run):
#                              the suite must pass on a busy machine, as on CI's and on users' laptops
set -uo pipefail
cd "$(dirname "$0")/.."

under_load=false
for arg in "$@"; do
  case "$arg" in
    --under-load) under_load=true ;;
    *) echo "usage: tests/run.sh [--under-load]" >&2; exit 2 ;;
  esac
done

AppHost/prerequisites.sh --with-browser || exit 1
dotnet build Funnels.sln -nologo -clp:ErrorsOnly || { echo "0 passed, 1 failed"; exit 1; }

load_pids=()
stop_load() { [ ${#load_pids[@]} -eq 0 ] || kill "${load_pids[@]}" 2>/dev/null; }
trap stop_load EXIT
if $under_load; then
  for _ in 1 2; do sha256sum /dev/zero >/dev/null & load_pids+=($!); done
  echo "Under load: ${#load_pids[@]} busy loops (pids ${load_pids[*]}) until the run ends"
fi

logs=artifacts/test-logs
mkdir -p "$logs"
passed=0 failed=0 skipped=0 status=0
for project in tests/*/*.Tests.csproj; do
  name=$(basename "$project" .csproj)
  echo "=== $name"
  # A test running 10 minutes is hung: blame ends it with a failure and a mini dump under artifacts/test-results.
  dotnet test "$project" --no-build -nologo --logger "console;verbosity=normal" \
    --blame-hang-timeout 10m --blame-hang-dump-type mini --results-directory "artifacts/test-results/$name" \
    2>&1 | tee "$logs/$name.log"
  code=${PIPESTATUS[0]}
  [ "$code" -eq 0 ] || status=1
  # VSTest's closing block: "Test Run Successful." (or Failed / Aborted) then "Total tests: N", "Passed: N", "Failed: N", "Skipped: N".
  summary=$(sed -n '/^Test Run \(Successful\|Failed\|Aborted\)/,$p' "$logs/$name.log")
  count() { echo "$summary" | sed -nE "s/^ *$1: *([0-9]+).*/\1/p" | tail -n 1; }
  p=$(count Passed) f=$(count Failed) s=$(count Skipped)
  p=${p:-0} f=${f:-0} s=${s:-0}
  # An aborted run (a crashed or hung test host) says "Total tests: Unknown": its tests did not all pass.
  if ! echo "$summary" | grep -qE 'Total tests: [0-9]+' || echo "$summary" | grep -q '^Test Run Aborted'; then
    echo "$name: the test run aborted (no complete summary): counted as one more failure"
    f=$((f + 1))
  elif [ "$code" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "$name: dotnet test exited with $code although no test failed: counted as one failure"
    f=1
  fi
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done

[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
