#!/usr/bin/env bash
# Builds our `bench` in release mode for the compare scripts (skipped with SKIP_SWIFT_BUILD=1).
# A failed build is reported, not fatal: the compare scripts then show n/a in our columns.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ -n "${SKIP_SWIFT_BUILD:-}" ] && exit 0
cd "$root"
[ -x scripts/setup ] && scripts/setup
if ! command -v swift >/dev/null 2>&1; then
    echo "build-ours.sh: no swift toolchain: our columns will be n/a" >&2; exit 0
fi
echo "build-ours.sh: swift build -c release --product bench" >&2
swift build -c release --product bench >&2 || echo "build-ours.sh: swift build failed: our columns will be n/a" >&2
exit 0
