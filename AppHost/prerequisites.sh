#!/usr/bin/env bash
# Installs the Debian packages AppHost runs as local processes, when they are missing:
# PostgreSQL 15, RabbitMQ 3.10 and Redis 7 (and Chromium with --with-browser, for the browser tests).
# AppHost starts its own instances on its own ports and folders; the system services these
# packages may start are stopped again, since nothing relies on them.
set -euo pipefail

packages=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || packages+=(postgresql)
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || packages+=(rabbitmq-server)
if [ "${1:-}" = "--with-browser" ]; then
  command -v chromium >/dev/null 2>&1 || packages+=(chromium)
fi

[ ${#packages[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "error: missing ${packages[*]}: run as root: apt-get update && apt-get install -y ${packages[*]}" >&2
    exit 1
  fi
fi

echo "Installing ${packages[*]} (Debian packages) ..."
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
for service in postgresql redis-server rabbitmq-server; do
  $sudo service "$service" stop >/dev/null 2>&1 || true
done
$sudo pkill -x epmd >/dev/null 2>&1 || true
