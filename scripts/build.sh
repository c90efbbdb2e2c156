#!/usr/bin/env bash
# scripts/build.sh: what the demo and the tests both need first -- the
# packages (install-deps.sh), a build in ./build (or $SLUICE_BUILD_DIR),
# and the real Debian kernel image in the cache (idempotent: a cached image
# is not downloaded again).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${SLUICE_BUILD_DIR:-$ROOT/build}

"$ROOT/scripts/install-deps.sh"
cmake -S "$ROOT" -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j "$(nproc)"
"$BUILD/sluice" images fetch
