#!/usr/bin/env bash
# Builds and runs Tests/Downstream, a package that depends on this one the way another project
# would: `.package(url:, from: "1.0.0")` on a git clone of the committed state (HEAD), tagged
# 1.0.0. SwiftPM treats a file:// URL like a remote, so this fails if any product of ours carries
# unsafe build flags. Uncommitted changes are not part of the check (commit first).
#   Tests/downstream-check.sh [--keep]     (--keep: leave the scratch directory for inspection)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/graph-engine-downstream.XXXXXX)"
[[ "${1:-}" == "--keep" ]] || trap 'rm -rf "$work"' EXIT

git clone --quiet --no-local "$root" "$work/GraphEngine"
git -C "$work/GraphEngine" -c user.name=check -c user.email=check@localhost tag -a 1.0.0 -m "downstream check"
cp -R "$root/Tests/Downstream" "$work/Downstream"
rm -rf "$work/Downstream/.build" "$work/Downstream/Package.resolved"

cd "$work/Downstream"
export GRAPH_ENGINE_URL="file://$work/GraphEngine"
# A debug build: SwiftPM refuses unsafe flags in a versioned dependency whatever the
# configuration, and the release build took 116 s of CI's 30 minutes against 30 s.
swift build
.build/debug/Downstream
