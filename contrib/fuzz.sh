#!/bin/sh
# fuzz.sh -- run the libFuzzer harnesses of tests/fuzz/ for SECONDS each
# (default 60): build them in build/fuzz (clang, --enable-fuzz), replay the
# saved crashes of tests/fuzz/regress/, seed the corpora (the BOLTS corpus
# and the bundled library, copied at run time, never committed), fuzz, and
# keep crash/leak/timeout inputs in build/fuzz/artifacts.  The last line
# is "N passed, N failed" over the four targets; the exit status is
# non-zero when any target failed.
#
# Environment: PARTSFS_CORPUS (the BOLTS corpus, default
# ../shared/corpus/bolts), FUZZ_ARGS (more libFuzzer options, e.g.
# "-jobs=2 -workers=2").
set -u
cd "$(dirname "$0")/.."
top=$(pwd)

usage() {
	echo "usage: contrib/fuzz.sh [SECONDS]" >&2
	exit 2
}

secs=${1:-60}
case $secs in
''|*[!0-9]*) usage ;;
esac
[ $# -le 1 ] || usage

build=$top/build/fuzz
targets="fuzz-yaml fuzz-path fuzz-params fuzz-route"
corpus=${PARTSFS_CORPUS:-}
if [ -z "$corpus" ]; then
	for d in "$top/../shared/corpus/bolts" /work/shared/corpus/bolts; do
		if [ -d "$d/data" ]; then
			corpus=$(cd "$d" && pwd)
			break
		fi
	done
fi

# Build.
[ -x configure ] || ./autogen.sh >/dev/null || exit 1
mkdir -p "$build"
if [ ! -f "$build/Makefile" ]; then
	echo "== configure --enable-fuzz CC=clang (build/fuzz)"
	(cd "$build" && "$top/configure" --quiet --enable-fuzz CC=clang) ||
	    exit 1
fi
echo "== make (build/fuzz)"
if ! make -C "$build" -s -j"$(nproc)" >"$build/make.out" 2>&1; then
	cat "$build/make.out"
	echo "0 passed, 4 failed"
	exit 1
fi

art=$build/artifacts
seeds=$build/seeds
tmp=$build/tmp
mkdir -p "$art" "$tmp"
rm -rf "$seeds" "$tmp"/*
# The harnesses make their scratch libraries under $TMPDIR.
TMPDIR=$tmp
export TMPDIR
# partsctl (instrumented too) walks the libraries for seeds: its leak
# check at exit is not this script's business.
walk_env="ASAN_OPTIONS=detect_leaks=0"

# Seeds of fuzz-yaml: every .blt as it is, its !include files and the
# .base files, and each collection as one input in the harness's section
# format (the .blt as data/f.blt, its bases and includes after #@ lines).
seed_yaml() {
	out=$seeds/fuzz-yaml
	mkdir -p "$out"
	cp "$top"/tests/fuzz/seeds/fuzz-yaml/* "$out"/ 2>/dev/null
	for lib in "$corpus" "$top/library"; do
		[ -n "$lib" ] && [ -d "$lib/data" ] || continue
		tag=$(basename "$lib")
		for blt in "$lib"/data/*.blt; do
			[ -f "$blt" ] || continue
			id=$(basename "$blt" .blt)
			cp "$blt" "$out/$tag-$id.blt"
			{
				sed "s/^id: *$id *\$/id: f/" "$blt"
				for db in openscad freecad drawings; do
					b=$lib/$db/$id/$id.base
					[ -f "$b" ] || continue
					printf '\n#@%s\n' "$db"
					cat "$b"
				done
				for inc in "$lib"/data/"$id"/*.yaml; do
					[ -f "$inc" ] || continue
					printf '\n#@include %s/%s\n' "$id" \
					    "$(basename "$inc")"
					cat "$inc"
				done
			} >"$out/$tag-$id.lib"
			for inc in "$lib"/data/"$id"/*.yaml; do
				[ -f "$inc" ] && cp "$inc" \
				    "$out/$tag-$id-$(basename "$inc")"
			done
		done
		for b in "$lib"/*/*/*.base; do
			[ -f "$b" ] || continue
			db=$(basename "$(dirname "$(dirname "$b")")")
			cp "$b" "$out/$tag-$db-$(basename "$b")"
		done
	done
}

# walk LIBRARY TAG BUDGET: paths of the tree as `partsctl ls` shows it,
# breadth first, descending into the first, middle and last subdirectory
# of each directory (and one link of each index), BUDGET directories in
# all, at most 12 files of each.  Lines are "TAG<tab>path".
walk() {
	lib=$1
	wtag=$2
	budget=$3
	q=$tmp/queue
	printf '/\n' >"$q"
	while [ "$budget" -gt 0 ] && [ -s "$q" ]; do
		dir=$(head -n 1 "$q")
		sed -i 1d "$q"
		budget=$((budget - 1))
		env $walk_env "$build/partsctl" ls -l "$lib" "$dir" \
		    >"$tmp/ls" 2>/dev/null || continue
		P=${dir#/}
		[ -n "$P" ] && P=$P/
		export P
		# files and links as they are; directories: a few, queued
		awk '/^- / && nf++ < 12 { print ENVIRON["P"] substr($0, 3) }
		    /^l / && nl++ < 12 { sub(/ -> .*/, ""); print ENVIRON["P"] substr($0, 3) }' \
		    "$tmp/ls"
		awk '/^d / { d[++n] = substr($0, 3) }
		    /^l / && !l++ { sub(/ -> .*/, ""); d[++n] = substr($0, 3) }
		    END { if (n == 0) exit
			m = int((n + 1) / 2)
			print ENVIRON["P"] d[1]
			if (m > 1) print ENVIRON["P"] d[m]
			if (n > m) print ENVIRON["P"] d[n] }' "$tmp/ls" >"$tmp/sub"
		cat "$tmp/sub"
		cat "$tmp/sub" >>"$q"
	done | awk -v t="$wtag" '{ print t "\t" $0 }'
}

# Seeds of fuzz-path: the walks of the fixed library (written out by the
# harness), the bundled library and the corpus, and the handwritten odd
# paths.  Seeds of fuzz-params: name=value lines from the part stems of
# those walks (after an "@DIR EXT" line), and the handwritten ones.  The
# walks take a while under the sanitizers: they are kept in
# build/fuzz/paths.txt until partsctl is rebuilt.
seed_paths() {
	pout=$seeds/fuzz-path
	vout=$seeds/fuzz-params
	paths=$build/paths.txt
	mkdir -p "$pout" "$vout"
	cp "$top"/tests/fuzz/seeds/fuzz-path/* "$pout"/ 2>/dev/null
	cp "$top"/tests/fuzz/seeds/fuzz-params/* "$vout"/ 2>/dev/null
	if [ ! -s "$paths" ] || [ "$build/partsctl" -nt "$paths" ] ||
	    [ "$build/tests/fuzz/fuzz-path" -nt "$paths" ]; then
		rm -rf "$tmp/fixed"
		mkdir -p "$tmp/empty"
		PARTSFS_FUZZ_WRITE_FIXED=$tmp/fixed \
		    "$build/tests/fuzz/fuzz-path" -runs=0 "$tmp/empty" \
		    >/dev/null 2>&1
		{
			walk "$tmp/fixed" fixed 40
			walk "$top/library" library 25
			[ -n "$corpus" ] && walk "$corpus" corpus 50
		} >"$paths.new" && mv "$paths.new" "$paths"
	fi
	i=0
	while IFS='	' read -r wtag path; do
		i=$((i + 1))
		printf '%s' "$path" >"$pout/$wtag-$i"
		case $path in
		*/*=*.*) ;;
		*) continue ;;
		esac
		stem=${path##*/}
		ext=${stem##*.}
		stem=${stem%.*}
		{
			printf '@%s %s\n' "${path%/*}" "$ext"
			printf '%s\n' "$stem" | tr ',' '\n'
		} >"$vout/$wtag-$i"
	done <"$paths"
	echo "   $(wc -l <"$paths") paths from partsctl ls walks"
}

# Seeds of fuzz-route: the handwritten requests only (a URL line, then
# Range, If-None-Match, Prefer and Accept lines).
seed_route() {
	mkdir -p "$seeds/fuzz-route"
	cp "$top"/tests/fuzz/seeds/fuzz-route/* "$seeds/fuzz-route"/
}

echo "== seeds (corpus: ${corpus:-not found})"
seed_yaml
seed_paths
seed_route

passed=0
failed=0
for t in $targets; do
	bin=$build/tests/fuzz/$t
	log=$build/$t.log
	rlog=$build/$t-replay.log
	nregress=0
	: >"$rlog"

	# Replay the saved crashes first: each must now run cleanly.  The
	# harnesses step around bugs they know of unless strict.
	for f in "$top/tests/fuzz/regress/$t"/*; do
		[ -f "$f" ] || continue
		if ! PARTSFS_FUZZ_STRICT=1 "$bin" "$f" >"$tmp/replay" 2>&1; then
			echo "== $t: regression input $(basename "$f") fails:"
			grep -E 'invariant broken|runtime error|==ERROR|fatal:' \
			    "$tmp/replay" | head -n 3 | sed 's/^/   /'
			cat "$tmp/replay" >>"$rlog"
			nregress=$((nregress + 1))
		fi
	done

	mkdir -p "$build/corpus/$t"
	before=$(ls "$art" | wc -l)
	echo "== $t: fuzzing for $secs s"
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
	    -max_len=262144 -print_final_stats=1 \
	    -dict="$top/tests/fuzz/$t.dict" -artifact_prefix="$art/$t-" \
	    ${FUZZ_ARGS:-} "$build/corpus/$t" "$seeds/$t" >"$log" 2>&1
	rc=$?
	after=$(ls "$art" | wc -l)
	found=0
	if [ "$rc" -ne 0 ] || [ "$after" -ne "$before" ] ||
	    grep -qE '^==[0-9]+==( ERROR|ERROR)|^SUMMARY: |runtime error:' \
	    "$log"; then
		found=1
	fi
	stats=$(grep -E '^#[0-9]+' "$log" | tail -n 1 |
	    sed 's/^#\([0-9]*\)[^c]*\(cov: [0-9]*\) \(ft: [0-9]*\) \(corp: [^ ]*\).*exec\/s: \([0-9]*\).*/\1 runs, \2, \3, \4, \5 exec\/s/')
	echo "   $stats"
	if [ "$found" -ne 0 ]; then
		echo "== $t: the fuzzer found a problem (build/fuzz/$t.log):"
		grep -E '^==[0-9]+==( ERROR|ERROR)|^SUMMARY: |runtime error:|invariant broken|fatal:|Test unit written' \
		    "$log" | head -n 10 | sed 's/^/   /'
	fi
	if [ "$found" -ne 0 ] || [ "$nregress" -ne 0 ]; then
		echo "== $t: FAILED ($nregress regression inputs fail," \
		    "fuzzing $([ "$found" -ne 0 ] && echo found a problem ||
		    echo clean))"
		failed=$((failed + 1))
	else
		passed=$((passed + 1))
	fi
done
rm -rf "$tmp"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
