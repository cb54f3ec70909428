#!/bin/sh
# Runs Redis 7 for AppHost on loopback, in the foreground (DCP supervises it), without
# persistence. The password goes through an owner-only config file, not the command line (ps).
#   redis.sh SERVER FOLDER PORT   (the password in REDIS_PASSWORD)
exec 2>&1
set -eu
server="$1" folder="$2" port="$3"
(umask 077; printf 'requirepass "%s"\n' "$REDIS_PASSWORD" > "$folder/redis.conf")
exec "$server" "$folder/redis.conf" --port "$port" --bind 127.0.0.1 --dir "$folder" \
  --save "" --appendonly no --daemonize no
