#!/usr/bin/env bash
# Makes sure the servers the integration and interop tiers talk to are up on this machine:
# Redis on 127.0.0.1:6379 (installed from Debian's packages and started if missing).
set -euo pipefail
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }
if redis_up; then exit 0; fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "ensure-services: installing redis-server" >&2
  (apt-get update -qq && apt-get install -y -qq redis-server) >&2
fi
redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >&2
for _ in $(seq 50); do redis_up && exit 0; sleep 0.1; done
echo "ensure-services: Redis did not come up on 127.0.0.1:6379" >&2
exit 1
