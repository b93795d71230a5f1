#!/usr/bin/env bash
# Re-captures the golden wire fixtures from the project's pinned Python Celery (.venv) into
# test/fixtures/celery-<major.minor>/ with shared/tools/wire-capture (a dev-time step whose
# output is committed; never run it from tests: it FLUSHES Redis dbs 5-9).
# Needs Redis on 127.0.0.1:6379 and RabbitMQ on 127.0.0.1:5672 (guest/guest).
#
# The capture tool writes worker/beat logs into its own folder (logs/), and shared/ is
# read-only here, so it runs from a temporary copy; paths in tracebacks are still
# normalised to "shared/tools/wire-capture" by the tool itself (it uses its own location).
# The optional amqplib (Node) view of the AMQP capture uses an amqplib installed into a
# temporary folder outside the repository (set WIREFX_AMQPLIB to reuse one).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tool="${WIREFX_TOOL_DIR:-$root/../shared/tools/wire-capture}"
python="${PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || { echo "capture-fixtures: $python missing; run scripts/setup-python.sh" >&2; exit 1; }
[ -f "$tool/run_all.sh" ] || { echo "capture-fixtures: no wire-capture tool at $tool" >&2; exit 1; }

ver="$("$python" -c 'import celery; print(".".join(celery.__version__.split(".")[:2]))')"
out="${WIREFX_FIXTURE_DIR:-$root/test/fixtures/celery-$ver}"

work="$(mktemp -d "${TMPDIR:-/tmp}/wirefx.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp -R "$tool/." "$work/tool"
chmod -R u+w "$work/tool"

if [ -z "${WIREFX_AMQPLIB:-}" ]; then
  if (cd "$work" && npm init -y >/dev/null && npm i --no-save --silent amqplib >/dev/null 2>&1); then
    export WIREFX_AMQPLIB="$work/node_modules/amqplib"
  else
    echo "capture-fixtures: could not install amqplib; the amqplib view is left out" >&2
  fi
fi

mkdir -p "$out"
echo "capture-fixtures: celery $ver -> $out" >&2
PYTHON="$python" WIREFX_FIXTURE_DIR="$out" bash "$work/tool/run_all.sh"
