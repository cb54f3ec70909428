#!/usr/bin/env bash
# Runs every test project against real PostgreSQL, RabbitMQ and Redis processes (the tests
# start them through the AppHost library) and ends with one line of totals over all projects.
set -uo pipefail
cd "$(dirname "$0")/.."

AppHost/prerequisites.sh --with-browser || exit 1
dotnet build Funnels.sln -nologo -clp:ErrorsOnly || { echo "0 passed, 1 failed"; exit 1; }

logs=artifacts/test-logs
mkdir -p "$logs"
passed=0 failed=0 skipped=0 status=0
for project in tests/*/*.Tests.csproj; do
  name=$(basename "$project" .csproj)
  echo "=== $name"
  dotnet test "$project" --no-build -nologo --logger "console;verbosity=normal" 2>&1 | tee "$logs/$name.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  # VSTest's closing block: "Test Run Successful." then "Total tests: N", "Passed: N", "Failed: N", "Skipped: N".
  summary=$(sed -n '/^Test Run \(Successful\|Failed\|Aborted\)/,$p' "$logs/$name.log")
  if ! echo "$summary" | grep -q 'Total tests:'; then
    echo "$name ended without a test summary: counted as one failure"
    failed=$((failed + 1)) status=1
    continue
  fi
  count() { echo "$summary" | sed -nE "s/^ *$1: *([0-9]+).*/\1/p" | tail -n 1; }
  p=$(count Passed) f=$(count Failed) s=$(count Skipped)
  p=${p:-0} f=${f:-0} s=${s:-0}
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done

[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
