#!/bin/sh
# quickstart.sh -- the README's first command: install the Debian packages,
# build and install partsfs, then run the main job on the bundled library:
# check it, mount it at /mnt/parts (or $PARTSFS_MOUNT) and read the mission
# example bolts/hex_screw/M8/length=20.step from the mount.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
mnt=${PARTSFS_MOUNT:-/mnt/parts}

contrib/deps.sh
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p build/release
cd build/release
[ -f Makefile ] || ../../configure --quiet
make -s -j"$(nproc)"
make -s install
cd "$top"
# engines run as a system user of their own when partsfs runs as root
if ! getent passwd partsfs >/dev/null; then
	echo "== adduser --system --group --no-create-home partsfs"
	adduser --quiet --system --group --no-create-home \
	    --home /nonexistent partsfs
fi

echo "== partsctl check library (it says how engines run)"
partsctl check library
echo "== partsctl params library bolts/hex_screw/M8/length=20.step"
partsctl params library bolts/hex_screw/M8/length=20.step

echo "== partsfs library $mnt"
if mountpoint -q "$mnt"; then
	fusermount3 -u "$mnt"
fi
mkdir -p "$mnt"
partsfs library "$mnt"
echo "== ls $mnt/bolts/hex_screw/M8 (the first of its parts)"
ls "$mnt/bolts/hex_screw/M8" | head -12
echo "== cp $mnt/bolts/hex_screw/M8/length=20.step m8x20.step"
cp "$mnt/bolts/hex_screw/M8/length=20.step" m8x20.step
ls -l m8x20.step
grep -m1 "PRODUCT(" m8x20.step
echo "== the drive stays mounted at $mnt; fusermount3 -u $mnt unmounts it"
