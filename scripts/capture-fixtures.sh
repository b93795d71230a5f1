#!/usr/bin/env bash
# Re-captures the golden wire fixtures from a Python Celery into test/fixtures/celery-<major.minor>/
# with tools/wire-capture (a dev-time step whose output is committed; never run it from tests:
# it FLUSHES Redis dbs 5-9). PYTHON picks the interpreter (default: the pinned .venv; a matrix
# venv such as .venv-celery/5.3/bin/python captures that version's folder).
# Needs Redis on 127.0.0.1:6379 and RabbitMQ on 127.0.0.1:5672 (guest/guest); the amqplib view
# of the AMQP capture uses the project's own node_modules/amqplib.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || { echo "capture-fixtures: $python missing; run scripts/setup-python.sh" >&2; exit 1; }
ver="$("$python" -c 'import celery; print(".".join(celery.__version__.split(".")[:2]))')"
out="${WIREFX_FIXTURE_DIR:-$root/test/fixtures/celery-$ver}"
mkdir -p "$out"
echo "capture-fixtures: celery $ver -> $out" >&2
cd "$root"
PYTHON="$python" WIREFX_FIXTURE_DIR="$out" WIREFX_AMQPLIB="${WIREFX_AMQPLIB:-$root/node_modules/amqplib}" \
  bash tools/wire-capture/run_all.sh
