#!/usr/bin/env bash
# scripts/test.sh [CTEST ARGS...]: installs what is missing, builds, fetches
# the kernel image (tests on real drivers need it), then runs the whole
# test suite.  Exits non-zero if anything fails.  Extra arguments go to
# ctest, e.g. ./scripts/test.sh -R test_emu_cli
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${SLUICE_BUILD_DIR:-$ROOT/build}

"$ROOT/scripts/build.sh"
ctest --test-dir "$BUILD" --output-on-failure -j "$(nproc)" "$@"
