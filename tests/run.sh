#!/usr/bin/env bash
# Runs every test project against real PostgreSQL, RabbitMQ and Redis processes (the tests
# start them through the AppHost library) and ends with one line of totals over all projects.
set -uo pipefail
cd "$(dirname "$0")/.."

AppHost/prerequisites.sh --with-browser || exit 1
dotnet build Funnels.sln -nologo -clp:ErrorsOnly || { echo "0 passed, 1 failed"; exit 1; }

logs=$(mktemp -d)
passed=0 failed=0 skipped=0 status=0
for project in tests/*/*.Tests.csproj; do
  name=$(basename "$project" .csproj)
  echo "=== $name"
  dotnet test "$project" --no-build -nologo --logger "console;verbosity=normal" 2>&1 | tee "$logs/$name.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  # VSTest's summary: "Passed!  - Failed:     0, Passed:    12, Skipped:     0, Total:    12, ..."
  summary=$(grep -E '(Passed|Failed)! +- Failed: ' "$logs/$name.log" | tail -n 1)
  if [ -z "$summary" ]; then
    echo "$name ended without a test summary: counted as one failure"
    failed=$((failed + 1)) status=1
    continue
  fi
  read -r f p s < <(echo "$summary" | sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\1 \2 \3/')
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done

[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
