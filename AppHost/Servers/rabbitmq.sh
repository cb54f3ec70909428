#!/bin/sh
# Runs RabbitMQ 3.10 for AppHost as an Erlang node of its own (name, ports, cookie, folders),
# joined to the epmd resource AppHost starts beside it, so nothing daemonizes or outlives AppHost.
# The user is declared in the node's config file and created on first boot; guest is never used.
#   rabbitmq.sh SERVER FOLDER PORT DIST_PORT EPMD_PORT   (the user's password in RABBITMQ_PASSWORD)
exec 2>&1 # Aspire shows a process's stderr lines as errors.
set -eu
server="$1" folder="$2" port="$3" dist="$4" epmd="$5"
user=funnels fingerprint="$folder/password.sha256"
mkdir -p "$folder/home" "$folder/mnesia" "$folder/log"

given=$(printf %s "$RABBITMQ_PASSWORD" | sha256sum | cut -d' ' -f1)
if [ -n "$(ls -A "$folder/mnesia")" ] && [ "$(cat "$fingerprint" 2>/dev/null)" != "$given" ]; then
  echo "error: $folder was created with another rabbitmq password. Set Parameters:rabbitmq-password back" \
       "(dotnet user-secrets, see docs/configuration.md) or delete $folder to start empty."
  exit 1
fi
printf %s "$given" > "$fingerprint"

echo "[]." > "$folder/enabled_plugins"
: > "$folder/rabbitmq-env.conf"
(umask 077; cat > "$folder/rabbitmq.conf" <<CONF
default_user = $user
default_pass = $RABBITMQ_PASSWORD
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
log.console = true
log.console.level = info
log.connection.level = warning
log.file = false
CONF
)

export HOME="$folder/home"
export RABBITMQ_NODENAME="funnels-$port@localhost"
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$port" RABBITMQ_DIST_PORT="$dist"
export ERL_EPMD_PORT="$epmd" ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_MNESIA_BASE="$folder/mnesia" RABBITMQ_LOG_BASE="$folder/log" RABBITMQ_LOGS=-
export RABBITMQ_CONFIG_FILE="$folder/rabbitmq.conf" RABBITMQ_ADVANCED_CONFIG_FILE="$folder/advanced.config"
export RABBITMQ_CONF_ENV_FILE="$folder/rabbitmq-env.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$folder/enabled_plugins"
export RABBITMQ_PID_FILE="$folder/rabbitmq.pid"
# -start_epmd false: the node joins AppHost's epmd instead of starting a daemon of its own.
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false"
exec "$server"
