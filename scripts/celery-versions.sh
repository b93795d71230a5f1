#!/usr/bin/env bash
# The Celery minors ts-celery is proven against, oldest first (test/interop/matrix/ holds a
# requirements file for each but the newest, which is .venv's test/interop/requirements.txt).
#   celery-versions.sh          all of them, one a line
#   celery-versions.sh oldest   the oldest supported (CI runs the smoke subset against it)
#   celery-versions.sh newest   the pinned newest (CI runs the whole interop tier against it)
set -euo pipefail
cd "$(dirname "$0")/.."
newest=$(sed -nE 's/^celery\[[^]]*\]==([0-9]+\.[0-9]+)\..*/\1/p' test/interop/requirements.txt)
mapfile -t older < <(ls test/interop/matrix | sed -nE 's/^celery-([0-9]+\.[0-9]+)\.txt$/\1/p' | sort -t. -k1,1n -k2,2n)
case "${1:-all}" in
  oldest) echo "${older[0]:-$newest}" ;;
  newest) echo "$newest" ;;
  all) printf '%s\n' "${older[@]}" "$newest" ;;
  *) echo "usage: celery-versions.sh [all|oldest|newest]" >&2; exit 2 ;;
esac
