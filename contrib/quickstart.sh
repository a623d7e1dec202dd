#!/bin/sh
# quickstart.sh -- the README's first command: install the Debian packages,
# build and install partsfs, then run the main job on the bundled library.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

contrib/deps.sh
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p build/release
cd build/release
[ -f Makefile ] || ../../configure --quiet
make -s -j"$(nproc)"
make -s install
cd "$top"

echo "== partsctl check library"
partsctl check library
echo "== partsctl params library bolts/hex_screw/M8/length=20.step"
partsctl params library bolts/hex_screw/M8/length=20.step
