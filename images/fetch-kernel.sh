#!/usr/bin/env bash
# images/fetch-kernel.sh [--abi ABI] [--quiet]
#
# Fetches Debian's linux-image-<ABI>-amd64-unsigned into the sluice cache
# (layout in images/kimage.h): the .deb, its dpkg -x tree, the vmlinux
# decompressed from the bzImage, an index of the .ko files, the package
# version, and last the 'complete' marker.  Without --abi it takes the newest
# 6.1 ABI in the apt lists.  A complete entry is never fetched twice.
#
# Crash safety: everything is built in a temp dir inside the cache and
# renamed into place in one step, so an interrupted run leaves no entry that
# looks complete (kimage_open() also requires the marker).
#
# Progress goes to stderr as "sluice: ..." lines (none with --quiet); any
# error is one "sluice: ..." line on stderr and a non-zero exit.
set -euo pipefail
export LC_ALL=C

ABI=""
QUIET=0
FLAVOUR="amd64-unsigned"
DEFAULT_SERIES="6.1.0"

say() { [ "$QUIET" = 1 ] || printf 'sluice: %s\n' "$*" >&2; }
die() { printf 'sluice: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
    --abi) [ $# -ge 2 ] || die "--abi needs a value, e.g. --abi 6.1.0-56"
           ABI="$2"; shift 2 ;;
    --abi=*) ABI="${1#--abi=}"; shift ;;
    --quiet|-q) QUIET=1; shift ;;
    -h|--help)
        echo "usage: fetch-kernel.sh [--abi ABI] [--quiet]   (ABI like 6.1.0-56; default: newest 6.1)"
        exit 0 ;;
    *) die "unknown argument '$1' (expected --abi ABI or --quiet)" ;;
    esac
done

# The ABI becomes a path component and a package name: accept only its shape.
if [ -n "$ABI" ] && ! [[ "$ABI" =~ ^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+$ ]]; then
    die "bad ABI '$ABI' (expected the form 6.1.0-56)"
fi

for tool in apt-get apt-cache dpkg dpkg-deb xz od dd find; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (needs a Debian system with apt, dpkg and xz-utils)"
done

if [ -n "${SLUICE_CACHE:-}" ]; then
    CACHE="$SLUICE_CACHE"
elif [ -n "${HOME:-}" ]; then
    CACHE="$HOME/.cache/sluice"
else
    die "neither SLUICE_CACHE nor HOME is set (where should the cache go?)"
fi

# Prints the ABIs of the linux-image-<abi>-amd64-unsigned packages apt knows,
# numerically sorted (6.1.0-9 before 6.1.0-10).
list_abis() {
    apt-cache pkgnames linux-image- 2>/dev/null |
        sed -n "s/^linux-image-\([0-9]*\.[0-9]*\.[0-9]*-[0-9]*\)-$FLAVOUR\$/\1/p" |
        sort -t- -k1,1V -k2,2n -u
}

KERNELS="$CACHE/kernels"
mkdir -p "$KERNELS" || die "cannot create cache directory $KERNELS"

# One fetch at a time per cache: a second one waits, then finds the entry done.
exec 9>"$CACHE/.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi
# Holding the lock, any temp dir left in the cache is from a killed run.
rm -rf "$KERNELS"/.tmp-* "$KERNELS"/.old-*

write_current() {
    printf '%s\n' "$ABI" > "$CACHE/.current.tmp" && mv -f "$CACHE/.current.tmp" "$CACHE/current" ||
        die "cannot write $CACHE/current"
}

# An entry already complete is used as it is: no apt list is consulted, so
# this works offline.
entry_done() {
    ENTRY="$KERNELS/$ABI"
    if [ -f "$ENTRY/complete" ] && [ -s "$ENTRY/vmlinux" ]; then
        write_current
        say "kernel $ABI already in $ENTRY (version $(cat "$ENTRY/version" 2>/dev/null || echo '?')), nothing to download"
        exit 0
    fi
}
[ -z "$ABI" ] || entry_done

available=$(list_abis)
if [ -z "$available" ]; then
    if [ "$(id -u)" = 0 ]; then
        say "apt lists are empty: running apt-get update"
        apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed (no network?)"
        available=$(list_abis)
    else
        die "apt lists have no linux-image packages; run 'sudo apt-get update' first"
    fi
fi
[ -n "$available" ] || die "apt lists have no linux-image-*-$FLAVOUR package (is a Debian main archive in sources.list?)"

if [ -z "$ABI" ]; then
    ABI=$(printf '%s\n' "$available" | grep "^${DEFAULT_SERIES//./\\.}-" | tail -n 1 || true)
    [ -n "$ABI" ] || die "no linux-image-$DEFAULT_SERIES-N-$FLAVOUR in the apt lists (available: $(echo $available))"
fi
entry_done
PKG="linux-image-$ABI-$FLAVOUR"

if [[ $'\n'"$available"$'\n' != *$'\n'"$ABI"$'\n'* ]]; then
    first=$(printf '%s\n' "$available" | head -n 1)
    last=$(printf '%s\n' "$available" | tail -n 1)
    die "no package $PKG in the apt lists (available: $first ... $last)"
fi

size=$(apt-cache show --no-all-versions "$PKG" 2>/dev/null | sed -n 's/^Size: //p' | head -n 1)
size_note=""
[ -n "$size" ] && size_note=" ($((size / 1000000)) MB)"

TMP=$(mktemp -d "$KERNELS/.tmp-$ABI.XXXXXX") || die "cannot create a temp dir in $KERNELS"
chmod 755 "$TMP"   # mktemp makes it private; the entry is not
OLD=""
cleanup() {
    rm -rf "$TMP"
    [ -z "$OLD" ] || rm -rf "$OLD"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "downloading $PKG$size_note..."
# apt-get download writes into the current directory; it verifies the .deb
# against the hashes of the signed apt lists.  Its chatter goes to a log so
# only its error line is shown.
if ! (cd "$TMP" && apt-get download -q "$PKG" >"$TMP/apt.log" 2>&1); then
    why=$(grep -E '^(E|Err):' "$TMP/apt.log" | tail -n 1 || true)
    [ -n "$why" ] || why=$(tail -n 1 "$TMP/apt.log")
    die "download of $PKG failed (no network?): $why"
fi
debs=("$TMP"/"${PKG}"_*.deb)
[ -f "${debs[0]}" ] || die "apt-get download left no $PKG .deb in $TMP"
mv "${debs[0]}" "$TMP/pkg.deb"
rm -f "$TMP/apt.log"

say "unpacking"
dpkg -x "$TMP/pkg.deb" "$TMP/root" 2>"$TMP/dpkg.log" ||
    die "dpkg -x $TMP/pkg.deb failed: $(tail -n 1 "$TMP/dpkg.log")"
rm -f "$TMP/dpkg.log"
dpkg-deb -f "$TMP/pkg.deb" Version > "$TMP/version" || die "$TMP/pkg.deb: no Version field"

say "extracting vmlinux"
vmlinuz=$(find "$TMP/root/boot" -maxdepth 1 -name 'vmlinuz-*' -type f | head -n 1)
[ -n "$vmlinuz" ] || die "$PKG: no boot/vmlinuz-* in the package"
zname="boot/$(basename "$vmlinuz")"

# Little-endian unsigned integer of WIDTH bytes at OFFSET of FILE.
le() { od -An -tu"$3" -j "$2" -N "$3" "$1" | tr -d ' \n'; }

# The bzImage setup header (Documentation/arch/x86/boot.rst): the protected-
# mode kernel starts after the (setup_sects + 1) 512-byte setup sectors, and
# the compressed payload lies payload_offset bytes into it.
zsize=$(stat -c %s "$vmlinuz")
[ "$zsize" -ge 1024 ] || die "$zname: $zsize bytes, too short for a bzImage"
[ "$(od -An -c -j 0x202 -N 4 "$vmlinuz" | tr -d ' \n')" = "HdrS" ] ||
    die "$zname: no bzImage setup header (expected 'HdrS' at 0x202)"
setup_sects=$(le "$vmlinuz" $((0x1f1)) 1)
[ "$setup_sects" -ne 0 ] || setup_sects=4   # boot protocol: 0 means 4
payload_offset=$(le "$vmlinuz" $((0x248)) 4)
payload_length=$(le "$vmlinuz" $((0x24c)) 4)
start=$(( (setup_sects + 1) * 512 + payload_offset ))
if [ "$payload_length" -eq 0 ] || [ $((start + payload_length)) -gt "$zsize" ]; then
    die "$zname: payload [offset=$start] [length=$payload_length] lies outside the file [size=$zsize]"
fi
magic=$(od -An -tx1 -j "$start" -N 6 "$vmlinuz" | tr -d ' \n')
[ "$magic" = "fd377a585a00" ] ||
    die "$zname: payload at offset $start is not an xz stream [magic=0x$magic] (kernel built with another compressor?)"
dd if="$vmlinuz" bs=1M iflag=skip_bytes,count_bytes skip="$start" \
    count="$payload_length" status=none |
    xz -dc --single-stream > "$TMP/vmlinux" 2>"$TMP/xz.log" ||
    die "$zname: xz payload does not decompress: $(head -n 1 "$TMP/xz.log")"
rm -f "$TMP/xz.log"
[ "$(od -An -tx1 -N 4 "$TMP/vmlinux" | tr -d ' \n')" = "7f454c46" ] ||
    die "$zname: the decompressed payload is not an ELF file"
if command -v readelf >/dev/null 2>&1; then
    readelf -S -W "$TMP/vmlinux" 2>/dev/null | grep -q ' \.BTF ' ||
        die "$zname: the decompressed vmlinux has no .BTF section (kernel built without CONFIG_DEBUG_INFO_BTF?)"
fi

# name<TAB>path relative to the entry; the name is the file's basename less
# .ko, spelled as the file is ('-' and '_' are equated by the reader).
nmods=$(find "$TMP/root/lib/modules" -name '*.ko' -type f 2>/dev/null | wc -l)
[ "$nmods" -gt 0 ] || die "$PKG: no .ko files under lib/modules"
say "indexing $nmods modules"
(cd "$TMP" && find root/lib/modules -name '*.ko' -type f) |
    sed 's|^\(.*/\)\{0,1\}\([^/]*\)\.ko$|\2\t&|' | sort > "$TMP/modules.index"

: > "$TMP/complete"

# Into place.  A rename cannot replace a non-empty directory, so an old
# incomplete entry is first moved aside (and removed by the trap).
if [ -e "$ENTRY" ]; then
    OLD="$KERNELS/.old-$ABI.$$"
    mv "$ENTRY" "$OLD" || die "cannot move the old incomplete entry $ENTRY aside"
fi
mv "$TMP" "$ENTRY" || die "cannot rename $TMP to $ENTRY"
write_current
say "done: kernel $ABI ($(cat "$ENTRY/version")) in $ENTRY"
