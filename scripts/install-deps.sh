#!/usr/bin/env bash
# scripts/install-deps.sh: installs the Debian 12 packages sluice needs to
# build, test, and fetch its kernel image.  Nothing is asked: it runs under
# CI with no terminal.  When everything is already installed it only checks
# (dpkg-query), so repeated runs take a fraction of a second.
#
# Runs as root, or through sudo for anyone else.
set -euo pipefail
export LC_ALL=C

# Build: compiler, cmake, pkg-config and the libraries CMakeLists.txt links.
# Run time: xz-utils, binutils (readelf), ca-certificates (https mirrors)
# for images/fetch-kernel.sh; apt and dpkg are on every Debian system.
PACKAGES=(
    build-essential cmake pkg-config
    libunicorn-dev libcapstone-dev libelf-dev libbpf-dev libsdl2-dev
    libcmocka-dev zlib1g-dev
    xz-utils binutils ca-certificates
)

die() { printf 'install-deps: %s\n' "$*" >&2; exit 1; }

command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 ||
    die "needs a Debian system with dpkg and apt (Debian 12 'bookworm')"

# One dpkg-query for all (it prints nothing for a package it never heard of).
installed=" $({ dpkg-query -W -f='${Package}:${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true; } |
              sed -n 's/:install ok installed$//p' | tr '\n' ' ') "
missing=()
for pkg in "${PACKAGES[@]}"; do
    [[ "$installed" == *" $pkg "* ]] || missing+=("$pkg")
done

# The kernel image is fetched with apt-get download, which needs apt lists;
# a fresh container has none.
need_lists=1
for list in /var/lib/apt/lists/*_Packages*; do
    [ -e "$list" ] && need_lists=0
    break
done

if [ ${#missing[@]} -eq 0 ] && [ "$need_lists" = 0 ]; then
    exit 0
fi

SUDO=()
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 ||
        die "not root and no sudo: as root run: apt-get update && apt-get install ${missing[*]}"
    # Without a terminal sudo must not wait for a password nobody can type.
    if [ -t 0 ]; then SUDO=(sudo); else SUDO=(sudo -n); fi
fi
APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Dpkg::Use-Pty=0)

echo "install-deps: apt-get update" >&2
if ! "${APT[@]}" update >/dev/null; then
    # Offline with everything installed, the cached image may still do.
    [ ${#missing[@]} -eq 0 ] || die "apt-get update failed (no network?)"
    echo "install-deps: apt-get update failed; continuing" >&2
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}" >&2
    "${APT[@]}" install --no-install-recommends "${missing[@]}" >/dev/null ||
        die "apt-get install ${missing[*]} failed"
fi
