#!/bin/sh
# Runs PostgreSQL 15 for AppHost: creates the cluster on first start, then runs the postmaster
# (as the postgres user when root: PostgreSQL refuses root) until DCP stops it.
#   postgres.sh BIN_DIR DATA_FOLDER PORT   (the superuser's password in POSTGRES_PASSWORD)
exec 2>&1 # Aspire shows a process's stderr lines as errors; initdb and postgres chat there.
set -eu
bin="$1" folder="$2" port="$3"
data="$folder/data" run="$folder/run" fingerprint="$folder/password.sha256"
mkdir -p "$run"

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then exec_prefix="setpriv --reuid=postgres --regid=postgres --init-groups --"; else exec_prefix=""; fi
}
as_postgres

given=$(printf %s "$POSTGRES_PASSWORD" | sha256sum | cut -d' ' -f1)
if [ -f "$data/PG_VERSION" ]; then
  # The cluster keeps the password it was created with; a new generated one cannot log in.
  if [ "$(cat "$fingerprint" 2>/dev/null)" != "$given" ]; then
    echo "error: $data was created with another postgres password. Set Parameters:postgres-password back" \
         "(dotnet user-secrets, see docs/configuration.md) or delete $folder to start empty."
    exit 1
  fi
else
  rm -rf "$data" # a first start that died half-way
  mkdir -p "$data"
  pwfile="$folder/.initdb-password"
  (umask 077; printf %s "$POSTGRES_PASSWORD" > "$pwfile")
  [ "$(id -u)" -ne 0 ] || chown -R postgres:postgres "$folder"
  $exec_prefix "$bin/initdb" -D "$data" -U postgres --pwfile="$pwfile" --auth=scram-sha-256 -E UTF8 --locale=C --no-instructions
  rm -f "$pwfile"
  printf %s "$given" > "$fingerprint"
fi
[ "$(id -u)" -ne 0 ] || chown -R postgres:postgres "$folder"

# Durability is the product: fsync and synchronous_commit keep their defaults (on).
# Four services with pools of their own (and a second worker) need more than 100 slots.
$exec_prefix "$bin/postgres" -D "$data" -p "$port" -k "$run" \
  -c listen_addresses=127.0.0.1 -c max_connections=400 &
postmaster=$!
# DCP stops a process with SIGTERM, PostgreSQL's "smart" shutdown, which waits for every
# pooled client to leave. Stopping means a fast shutdown here (SIGINT, as `pg_ctl stop`):
# sessions end, and everything committed is on disk.
trap 'kill -INT "$postmaster" 2>/dev/null' TERM INT
wait "$postmaster" || true
wait "$postmaster"
