#!/usr/bin/env bash
# Creates the project-local virtualenv (.venv) with the pinned Python Celery the interop
# tests run against. Idempotent: reinstalls only when the requirements file changed.
set -euo pipefail
cd "$(dirname "$0")/.."
req=test/interop/requirements.txt
stamp=.venv/.requirements.sha
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then exit 0; fi
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  echo "setup-python: installing python3-venv" >&2
  (apt-get update -qq && apt-get install -y -qq python3-venv python3-pip) >&2
fi
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r "$req"
echo "$want" > "$stamp"
