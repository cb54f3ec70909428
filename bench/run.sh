#!/usr/bin/env bash
# The one command: builds the bench, AppHost and the services in Release, starts the whole topology
# under .NET Aspire through AppHost's own Program (Aspire.Hosting.Testing: DCP, the dashboard, the
# servers, each service through `dotnet run --no-build --configuration Release`; random loopback
# ports, a throw-away folder), runs every scenario, prints the results table and keeps it in
# artifacts/bench/results-<UTC time>.md.
#   bench/run.sh                 3 runs, figures are their medians (about 15 minutes on 2 quiet cores)
#   bench/run.sh --runs 5        more runs
#   bench/run.sh --quick         a smoke run with small sizes (about 3 minutes; not a measurement)
#   bench/run.sh --no-dashboard  without Aspire's dashboard (see bench/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."

AppHost/prerequisites.sh
[ -x /usr/lib/postgresql/15/bin/pgbench ] || { echo "error: pgbench is missing (apt-get install -y postgresql-client-15)" >&2; exit 1; }
# Release throughout: the bench's project reference builds AppHost in Release, and AppHost starts
# each service with `dotnet run --no-build` in its own configuration, so from bin/Release.
dotnet build bench/Funnels.Bench/Funnels.Bench.csproj -c Release -nologo -clp:ErrorsOnly

mkdir -p artifacts/bench
out="artifacts/bench/results-$(date -u +%Y%m%dT%H%M%SZ).md"
dotnet bench/Funnels.Bench/bin/Release/net10.0/Funnels.Bench.dll --out "$out" "$@"
echo "Table written to $out" >&2
