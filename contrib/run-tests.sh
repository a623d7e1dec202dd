#!/bin/sh
# run-tests.sh -- the README's test command: the whole test suite, from a
# fresh Debian 12 machine or a built tree.  Builds out of tree under
# build/check (warnings are errors), runs `make check`, and ends with the
# line "N passed, N failed" counted over every TAP test point.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)

contrib/deps.sh || exit 1
[ -x configure ] || ./autogen.sh >/dev/null || exit 1

passed=0
failed=0

# run_suite NAME CONFIGURE-ARGS...: build in build/NAME and run make check
run_suite() {
	name=$1
	shift
	dir="$top/build/$name"
	mkdir -p "$dir"
	echo "== $name: configure $*"
	( cd "$dir" && "$top/configure" --quiet "$@" ) || { failed=$((failed + 1)); return; }
	echo "== $name: make"
	make -s -C "$dir" -j"$(nproc)" >"$dir/make.out" 2>&1 || {
		cat "$dir/make.out"
		failed=$((failed + 1))
		return
	}
	echo "== $name: make check"
	rm -f "$dir"/tests/*.trs
	make -s -C "$dir" -k check >"$dir/check.out" 2>&1
	grep -E '^(FAIL|ERROR|XPASS):' "$dir/check.out" || true
	p=$(cat "$dir"/tests/*.trs 2>/dev/null | grep -c '^:test-result: PASS')
	f=$(cat "$dir"/tests/*.trs 2>/dev/null | grep -cE '^:test-result: (FAIL|ERROR|XPASS)')
	echo "== $name: $p passed, $f failed"
	passed=$((passed + p))
	failed=$((failed + f))
}

run_suite check --enable-werror

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
