#!/usr/bin/env bash
# Runs the test tiers with node's own test runner (TypeScript through tsx).
#   scripts/test.sh all | unit | integration | interop
# "all" type-checks first, prepares the Python venv for the interop tier, then runs
# every tier in one runner invocation so the summary line counts everything.
set -euo pipefail
cd "$(dirname "$0")/.."
tier="${1:-all}"
case "$tier" in
  unit|integration|interop) dirs=("test/$tier") ;;
  all) dirs=(test/unit test/integration test/interop) ;;
  *) echo "usage: scripts/test.sh all|unit|integration|interop" >&2; exit 2 ;;
esac
if [ "$tier" = all ]; then
  npx tsc -p tsconfig.json --noEmit
fi
if [ "$tier" != unit ]; then
  bash scripts/ensure-services.sh
fi
if [ "$tier" = all ] || [ "$tier" = interop ]; then
  # The pinned newest runs the whole interop tier; the oldest supported runs its smoke subset
  # (test/interop/compat-oldest.test.ts). `npm run test:matrix` covers every version.
  bash scripts/setup-python.sh
  bash scripts/setup-python.sh "$(bash scripts/celery-versions.sh oldest)"
fi
mapfile -t files < <(find "${dirs[@]}" -name '*.test.ts' 2>/dev/null | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files under ${dirs[*]}" >&2; exit 1; fi
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-4}" --test-timeout=180000 "${files[@]}"
