#!/bin/sh
# deps.sh -- install the Debian 12 packages partsfs needs to build, run and
# be tested.  The one package list; quickstart.sh and run-tests.sh use it.
# Run as root.  Installs only what is missing.
set -eu

PACKAGES="
gcc make pkg-config autoconf automake
libfuse3-dev fuse3 libyaml-dev libjansson-dev libcurl4-openssl-dev
libsqlite3-dev nettle-dev libassimp-dev libmicrohttpd-dev bubblewrap adduser
libjs-three wrk
openscad freecad-python3 xvfb xauth
python3 python3-requests valgrind clang libclang-rt-14-dev nginx jq
chromium chromium-driver python3-selenium
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages:$missing; run me as root" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
