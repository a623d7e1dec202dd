# lib.sh -- TAP helpers for the shell tests: run a command capturing its
# output and status, and state what must hold.  Sourced by tests/*.sh.

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
PARTSCTL="$top_builddir/partsctl"
PARTSFS="$top_builddir/partsfs"
LIBRARY="$top_srcdir/library"
CORPUS="${PARTSFS_CORPUS:-}"

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
begin() { tap_name="$1"; tap_ok=1; }
fail() { tap_ok=0; printf '# %s\n' "$@"; }
end() {
	tap_n=$((tap_n + 1))
	if [ "$tap_ok" = 1 ]; then
		echo "ok $tap_n - $tap_name"
	else
		echo "not ok $tap_n - $tap_name"
		tap_failed=$((tap_failed + 1))
	fi
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
