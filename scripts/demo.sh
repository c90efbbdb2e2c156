#!/usr/bin/env bash
# scripts/demo.sh: installs what is missing, builds, fetches the kernel
# image, then runs Debian's real 8139too.ko against an emulated RTL8139:
# module init, PCI probe, remove, module exit; then a ping through it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${SLUICE_BUILD_DIR:-$ROOT/build}

"$ROOT/scripts/build.sh" >/dev/null

trace=$(mktemp "${TMPDIR:-/tmp}/sluice-demo-mmio.XXXXXX")
trap 'rm -f "$trace"' EXIT

echo "== sluice run --driver 8139too: the driver's own printk lines"
"$BUILD/sluice" run --driver 8139too --trace-mmio "$trace"

echo
echo "== --trace-mmio: $(wc -l <"$trace") register accesses by the driver; the first 15:"
echo "   (config space, the chip reset, the start of the EEPROM read)"
head -n 15 "$trace"

echo
echo "== sluice run --driver 8139too --ping 3: up, ARP and ICMP echo through the"
echo "   driver's DMA rings, interrupts and NAPI, to the built-in peer 10.0.2.2"
"$BUILD/sluice" run --driver 8139too --ping 3
