#!/usr/bin/env bash
# Makes sure the servers the integration and interop tiers talk to are up on this machine:
# Redis on 127.0.0.1:6379, RabbitMQ on 127.0.0.1:5672 (guest/guest), PostgreSQL and MariaDB, installed from
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

# PostgreSQL 5432 (trust auth, user postgres) and MariaDB 3306 (root, no password) for the
# Django interop tests (test/interop/django-*.test.ts); each test file makes its own database.
if ! port_up 5432; then
  command -v pg_ctlcluster >/dev/null 2>&1 || apt_install postgresql
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >&2 || true
  for _ in $(seq 100); do port_up 5432 && break; sleep 0.2; done
  port_up 5432 || { echo "ensure-services: PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }
fi
if ! port_up 3306; then
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >&2 || true
  for _ in $(seq 100); do port_up 3306 && break; sleep 0.2; done
  port_up 3306 || { echo "ensure-services: MariaDB did not come up on 127.0.0.1:3306" >&2; exit 1; }
fi
