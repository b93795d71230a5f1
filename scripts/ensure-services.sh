#!/usr/bin/env bash
# Makes sure the servers the integration and interop tiers talk to are up on this machine:
# Redis on 127.0.0.1:6379 and RabbitMQ on 127.0.0.1:5672 (guest/guest), installed from
# Debian's packages and started if missing.
set -euo pipefail
port_up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
apt_install() {
  echo "ensure-services: installing $*" >&2
  (apt-get update -qq && apt-get install -y -qq "$@") >&2
}

if ! port_up 6379; then
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >&2
  for _ in $(seq 50); do port_up 6379 && break; sleep 0.1; done
  port_up 6379 || { echo "ensure-services: Redis did not come up on 127.0.0.1:6379" >&2; exit 1; }
fi

if ! port_up 5672; then
  command -v rabbitmq-server >/dev/null 2>&1 || apt_install rabbitmq-server
  rabbitmq-server -detached >&2 || true
  # RabbitMQ takes a few seconds to boot; the default guest user works from localhost.
  rabbitmqctl -q await_startup --timeout 120 >&2 || true
  for _ in $(seq 100); do port_up 5672 && break; sleep 0.5; done
  port_up 5672 || { echo "ensure-services: RabbitMQ did not come up on 127.0.0.1:5672" >&2; exit 1; }
fi
