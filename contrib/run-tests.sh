#!/bin/sh
# run-tests.sh -- the README's test command: the whole test suite, from a
# fresh Debian 12 machine or a built tree, in every configuration CI holds
# the project to.  Each suite builds out of tree under build/NAME:
#   check     gcc, warnings are errors: make check (every test)
#   asan      the same under AddressSanitizer and UndefinedBehaviorSanitizer
#             (any report fails the test that caused it)
#   clang     clang, warnings are errors: the build and the unit tests
#   valgrind  in build/check: the unit tests, and the mount tests (local
#             and remote) with
#             the daemon, under valgrind memcheck (no definite leak, no
#             invalid access)
#   fuzz      contrib/fuzz.sh: each libFuzzer harness for FUZZ_SECONDS
#             (default 60) after replaying its saved crashes
# The last line is "N passed, N failed", counted over every TAP test point
# (a build that fails counts as one failure).  A test point whose
# prerequisite is missing (the BOLTS corpus, mount namespaces, /dev/fuse,
# OpenSCAD, FreeCAD: see tests/tap.h) is skipped with the reason, and the
# skips are counted apart; PARTSFS_REQUIRE=all, as .ci/run sets it, makes
# each of them a failure.  PARTSFS_TEST_FULL=1, as .ci/run sets it too,
# runs the slow tests whole (the flood of tests/integrity.py, the whole
# real BOLTS library) where make check runs a quick part of them.
# SUITES="check asan" runs only those.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)

contrib/deps.sh || exit 1
[ -x configure ] || ./autogen.sh >/dev/null || exit 1

suites=${SUITES:-check asan clang valgrind fuzz}
jobs=$(nproc)
passed=0
failed=0
skipped=0
start=$(date +%s)

# count NAME DIR: add the TAP results of DIR's .trs files
count() {
	p=$(cat "$2"/tests/*.trs 2>/dev/null | grep -c '^:test-result: PASS')
	f=$(cat "$2"/tests/*.trs 2>/dev/null |
	    grep -cE '^:test-result: (FAIL|ERROR|XPASS)')
	s=$(cat "$2"/tests/*.trs 2>/dev/null | grep -c '^:test-result: SKIP')
	echo "== $1: $p passed, $f failed, $s skipped ($(($(date +%s) - t0)) s)"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
}

# build NAME CONFIGURE-ARGS...: configure and make in build/NAME
build() {
	name=$1
	shift
	dir="$top/build/$name"
	t0=$(date +%s)
	mkdir -p "$dir"
	echo "== $name: configure $*"
	if ! (cd "$dir" && "$top/configure" --quiet "$@") >"$dir/configure.out" 2>&1
	then
		cat "$dir/configure.out"
		echo "== $name: configure FAILED"
		failed=$((failed + 1))
		return 1
	fi
	echo "== $name: make"
	if ! make -s -C "$dir" -j"$jobs" all >"$dir/make.out" 2>&1; then
		cat "$dir/make.out"
		echo "== $name: build FAILED"
		failed=$((failed + 1))
		return 1
	fi
	return 0
}

# check NAME DIR [MAKE-ARGS...]: make check in build/DIR, then count
check() {
	name=$1
	dir="$top/build/$2"
	shift 2
	t0=$(date +%s)
	echo "== $name: make check $*"
	rm -f "$dir"/tests/*.trs "$dir"/tests/*.log
	# the test programs two at a time (each mount test has a namespace
	# of its own); a suite that has not ended in SUITE_TIMEOUT seconds
	# (default 1500) is stopped, and counts as a failure with the
	# tests it had not finished
	timeout -k 30 "${SUITE_TIMEOUT:-1500}" make -s -C "$dir" -j"$jobs" \
	    -k check "$@" >"$dir/check.out" 2>&1
	if [ $? = 124 ]; then
		echo "== $name: stopped after ${SUITE_TIMEOUT:-1500} s;" \
		    "unfinished: $(cd "$dir" && for l in tests/*.log; do
			[ -f "${l%.log}.trs" ] || printf '%s ' "${l%.log}"
		    done)"
		failed=$((failed + 1))
	fi
	grep -E '^(FAIL|ERROR|XPASS):' "$dir/check.out"
	# what each failed test said: its failed points with the comment
	# lines before them (where the TAP programs say why) and the lines
	# after, and the last lines of a program that ended badly
	for trs in "$dir"/tests/*.trs; do
		[ -f "$trs" ] || continue
		grep -qE '^:test-result: (FAIL|ERROR|XPASS)' "$trs" || continue
		echo "== ${trs%.trs}.log:"
		awk 'n > 0 { print "   " $0; n--; next }
		    /^#/ { held[k++ % 8] = $0; next }
		    /^not ok/ { for (i = (k > 8 ? k - 8 : 0); i < k; i++)
				print "   " held[i % 8]
			    print "   " $0
			    n = 12 }
		    { k = 0 }' \
		    "${trs%.trs}.log" | head -n 150
		grep -q '^:test-result: ERROR' "$trs" &&
		    tail -n 15 "${trs%.trs}.log" | sed 's/^/   | /'
	done
	# each reason to skip once, with the number of points it skipped
	sed -n 's/^SKIP: .* # SKIP //p' "$dir/check.out" | sort | uniq -c |
	    sed 's/^ *\([0-9]*\) /== skipped \1: /'
	count "$name" "$dir"
}

for suite in $suites; do
	case $suite in
	check)
		build check --enable-werror && check check check
		;;
	asan)
		# halt_on_error: a report ends the program with status 1, and
		# the test that ran it fails (the mount tests check the
		# daemon's exit status); leaks are reported at exit
		# (ASan's fork() locks its allocator until the child is
		# made, so every thread of a daemon that starts engines
		# waits on each fork: the tests' waits are stretched)
		export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1
		export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
		export PARTSFS_TEST_SLOW=10
		build asan --enable-asan --enable-werror && check asan asan
		unset ASAN_OPTIONS UBSAN_OPTIONS PARTSFS_TEST_SLOW
		;;
	clang)
		build clang CC=clang --enable-werror &&
		    check clang clang TESTS='$(TEST_PROGS)'
		;;
	valgrind)
		vg="valgrind -q --error-exitcode=99 --leak-check=full"
		vg="$vg --errors-for-leak-kinds=definite --show-leak-kinds=definite"
		# the unit tests, and the mount tests with the daemon under
		# memcheck (PARTSFS_WRAPPER), their waits stretched for it
		# (in the tree of the check suite, built if it is not)
		export PARTSFS_WRAPPER="$vg" PARTSFS_TEST_SLOW=10
		{ [ -f build/check/partsfs ] || build check --enable-werror; } &&
		    check valgrind check TESTS='$(TEST_PROGS) tests/mount.py tests/remote-mount.py' \
		    LOG_COMPILER="$vg"
		unset PARTSFS_WRAPPER PARTSFS_TEST_SLOW
		;;
	fuzz)
		t0=$(date +%s)
		echo "== fuzz: contrib/fuzz.sh ${FUZZ_SECONDS:-60}"
		sh contrib/fuzz.sh "${FUZZ_SECONDS:-60}" >"$top/build/fuzz.out" 2>&1
		grep -E 'FAILED|crash|leak|timeout' "$top/build/fuzz.out"
		last=$(tail -n 1 "$top/build/fuzz.out")
		p=$(echo "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
		f=$(echo "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
		if [ -z "$p" ]; then
			tail -n 20 "$top/build/fuzz.out"
			p=0
			f=1
		fi
		echo "== fuzz: $p passed, $f failed ($(($(date +%s) - t0)) s)"
		passed=$((passed + p))
		failed=$((failed + f))
		;;
	*)
		echo "run-tests.sh: unknown suite '$suite'" >&2
		failed=$((failed + 1))
		;;
	esac
done

echo "== all suites: $(($(date +%s) - start)) s, $skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
