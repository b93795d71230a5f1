#!/usr/bin/env bash
# Creates the project-local virtualenvs with the Python Celery the interop tests run against.
#   scripts/setup-python.sh            .venv: the pinned newest Celery (test/interop/requirements.txt)
#   scripts/setup-python.sh 5.2 5.4    .venv-celery/<version>: test/interop/matrix/celery-<version>.txt,
#                                      each Celery minor with the kombu and redis-py it shipped with
# Idempotent: a venv is rebuilt only when its requirements file changed.
set -euo pipefail
cd "$(dirname "$0")/.."

ensure_venv_module() {
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    echo "setup-python: installing python3-venv" >&2
    (apt-get update -qq && apt-get install -y -qq python3-venv python3-pip) >&2
  fi
}

# venv <dir> <requirements file>
venv() {
  local dir=$1 req=$2 want
  [ -f "$req" ] || { echo "setup-python: no requirements file $req" >&2; exit 2; }
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.requirements.sha" 2>/dev/null)" = "$want" ]; then return; fi
  ensure_venv_module
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check -r "$req"
  echo "$want" > "$dir/.requirements.sha"
}

if [ $# -eq 0 ]; then
  venv .venv test/interop/requirements.txt
fi
for version in "$@"; do
  if [ "$version" = "$(bash scripts/celery-versions.sh newest)" ]; then
    venv .venv test/interop/requirements.txt
  else
    venv ".venv-celery/$version" "test/interop/matrix/celery-$version.txt"
  fi
done
