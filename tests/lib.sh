# lib.sh -- TAP helpers for the shell tests: run a command capturing its
# output and status, state what must hold, and skip what needs a missing
# prerequisite.  Sourced by tests/*.sh.

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
PARTSCTL="$top_builddir/partsctl"
PARTSFS="$top_builddir/partsfs"
LIBRARY="$top_srcdir/library"
CORPUS="${PARTSFS_CORPUS:-}"

# The prerequisites a test point may need (see tests/tap.h), and those
# that PARTSFS_REQUIRE (names separated by commas or blanks, or "all")
# makes failures when missing, not skips.
PREREQS="corpus mountns fuse openscad freecad bwrap nginx netns"
tap_require=" $(printf '%s' "${PARTSFS_REQUIRE:-}" | tr ',\t\n' '   ') "
set -f
for tap_word in $tap_require; do
	case " $PREREQS all " in
	*" $tap_word "*) ;;
	*)
		echo "Bail out! PARTSFS_REQUIRE: '$tap_word' is not a" \
		    "prerequisite (corpus, mountns, fuse, openscad, freecad," \
		    "bwrap, nginx, netns or all)"
		exit 1
		;;
	esac
done
set +f

tap_n=0
tap_failed=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/partsfs-sh-XXXXXX")
trap 'tap_cleanup' EXIT

tap_cleanup() {
	type test_cleanup >/dev/null 2>&1 && test_cleanup
	rm -rf "$TMP"
}

plan() { echo "1..$1"; }

# run CMD...: stdout to $out, stderr to $err, status to $rc
run() {
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	out=$(cat "$TMP/out")
	err=$(cat "$TMP/err")
}

# one test point: a name, then the result of the checks done since begin
# (skipped when a prerequisite it needs is missing)
begin() { tap_name="$1"; tap_ok=1; tap_skip=""; }
fail() { tap_ok=0; printf '# %s\n' "$@"; }
end() {
	tap_n=$((tap_n + 1))
	if [ "$tap_ok" != 1 ]; then
		echo "not ok $tap_n - $tap_name"
		tap_failed=$((tap_failed + 1))
	elif [ -n "$tap_skip" ]; then
		echo "ok $tap_n - $tap_name # SKIP $tap_skip"
	else
		echo "ok $tap_n - $tap_name"
	fi
}

# need NAME: is the prerequisite NAME here?  When it is not, the test
# point is skipped with the reason, or fails with it when PARTSFS_REQUIRE
# names it, and need returns 1; the checks that need it go under it:
#	begin "the corpus checks without errors"
#	if need corpus; then
#		...
#	fi
#	end
need() {
	case " $PREREQS " in
	*" $1 "*) ;;
	*) fail "no prerequisite is named '$1'"; return 1;;
	esac
	tap_why=$(missing "$1") || return 0
	case $tap_require in
	*" $1 "*|*" all "*) fail "PARTSFS_REQUIRE requires $1: $tap_why";;
	*) [ -n "$tap_skip" ] || tap_skip=$tap_why;;
	esac
	return 1
}

# on_path PROGRAM: is PROGRAM an executable file in a directory of PATH?
on_path() {
	tap_dirs=$PATH:
	while [ -n "$tap_dirs" ]; do
		tap_dir=${tap_dirs%%:*}
		tap_dirs=${tap_dirs#*:}
		[ -f "${tap_dir:-.}/$1" ] && [ -x "${tap_dir:-.}/$1" ] && return 0
	done
	return 1
}

# missing NAME: print why the prerequisite NAME is missing, or return 1
# when it is here
missing() {
	case $1 in
	corpus)
		if [ -z "$CORPUS" ]; then
			echo "the BOLTS corpus was not found: PARTSFS_CORPUS is" \
			    "not set (configure --with-corpus=DIR sets it)"
		elif [ ! -d "$CORPUS/data" ]; then
			echo "the BOLTS corpus was not found:" \
			    "PARTSFS_CORPUS=$CORPUS has no data/ directory"
		else
			return 1
		fi
		;;
	mountns)
		if ! on_path unshare; then
			echo "unshare is not on PATH (Debian package util-linux)"
		elif ! tap_err=$(unshare -m --propagation private true 2>&1)
		then
			echo "cannot make a mount namespace of its own:" \
			    "$(printf '%s' "$tap_err" | head -n 1)"
		else
			return 1
		fi
		;;
	fuse)
		if ! (: <>/dev/fuse) 2>/dev/null; then
			echo "/dev/fuse cannot be opened for reading and writing"
		elif [ ! -c /dev/fuse ]; then
			echo "/dev/fuse is not a character device"
		elif [ "$(id -u)" != 0 ] && ! on_path fusermount3; then
			echo "FUSE mounts need root or fusermount3 on PATH" \
			    "(Debian package fuse3)"
		else
			return 1
		fi
		;;
	openscad)
		on_path openscad && return 1
		echo "openscad is not on PATH (Debian package openscad)"
		;;
	freecad)
		on_path freecadcmd && return 1
		echo "freecadcmd is not on PATH (Debian package freecad-python3)"
		;;
	bwrap)
		# bubblewrap makes a sandbox as partsfs asks for one, run as
		# the user engines run as (see tests/tap.c)
		tap_bwrap=/usr/bin/bwrap
		[ -x "$tap_bwrap" ] || tap_bwrap=$(command -v bwrap) || {
			echo "bwrap is not installed (Debian package bubblewrap)"
			return 0
		}
		set -- "$tap_bwrap" --unshare-all --unshare-user \
		    --disable-userns --die-with-parent --ro-bind /usr /usr \
		    --symlink usr/lib /lib --symlink usr/lib64 /lib64 \
		    --symlink usr/bin /bin --proc /proc --dev /dev \
		    --size 1048576 --tmpfs /tmp /usr/bin/true
		[ "$(id -u)" = 0 ] && set -- setpriv --reuid=65534 \
		    --regid=65534 --clear-groups "$@"
		tap_err=$("$@" 2>&1 </dev/null) && return 1
		echo "bwrap cannot make a sandbox here:" \
		    "$(printf '%s' "$tap_err" | head -n 1)"
		;;
	nginx)
		{ on_path nginx || [ -x /usr/sbin/nginx ]; } && return 1
		echo "nginx is not installed (Debian package nginx)"
		;;
	esac
}

expect_rc() {
	[ "$rc" = "$1" ] || fail "exit status $rc, want $1" "stderr: $err"
}
expect_eq() {  # got want [what]
	[ "$1" = "$2" ] || fail "${3:-value}: got '$1'" "want '$2'"
}
expect_contains() {  # haystack needle [what]
	case "$1" in
	*"$2"*) ;;
	*) fail "${3:-output} does not contain '$2'" "it is: $(printf '%s' "$1" | head -c 2000)";;
	esac
}
expect_not_contains() {
	case "$1" in
	*"$2"*) fail "${3:-output} contains '$2'";;
	esac
}
# json_get JSON EXPR: evaluate a Python expression over the parsed JSON `d`
# and print the result as JSON (a tuple as a list).
json_get() {
	printf '%s' "$1" | EXPR="$2" python3 -c '
import json, os, sys
d = json.load(sys.stdin)
v = eval(os.environ["EXPR"])
print(json.dumps(list(v) if isinstance(v, tuple) else v))'
}

done_testing() {
	[ "$tap_failed" = 0 ]
}
