#!/bin/sh
# run.sh -- every benchmark of partsfs, each beside its baseline in the same
# run, as a ratio.  Run from a build directory with `make bench`, or as
# bench/run.sh BUILD-DIR.  Figures go to stdout and bench/out/latest.txt.
# bench/README.md describes each benchmark.  The mount benchmarks (T4-T8)
# (and R1-R3 of the remote mount) need root, /dev/fuse and fusermount3,
# and are skipped without them; R2 needs ip and nsenter too; those
# of the real BOLTS library (B1-B2) need the corpus, FreeCAD, OpenSCAD and
# bwrap too.
set -u
start=$(date +%s)
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=${1:-$(pwd)}
corpus=${PARTSFS_CORPUS:-$top/../shared/corpus/bolts}
[ -d "$corpus/data" ] || corpus=/work/shared/corpus/bolts
mkdir -p "$here/out"
out="$here/out/latest.txt"
summary="$here/out/summary.txt"
: >"$out"
: >"$summary"

say() { echo "$@" | tee -a "$out"; }
verdict() { if [ "$1" = 1 ]; then echo "met"; else echo "NOT MET"; fi; }
# record TARGET WHAT FIGURE OK: a line of the summary printed at the end
record() {
	printf '%-3s %-58s %-18s %s\n' "$1" "$2" "$3" "$(verdict "$4")" \
	    >>"$summary"
}

say "partsfs benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r)"
say "CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); build: $build"
say ""

# 1. Loading the corpus (issue 2).
make -s -C "$build" bench/bench-load >/dev/null || exit 1
set -- $("$build/bench/bench-load" "$corpus" 30)
c_time=$1 c_combos=$2 c_rss=$3
set -- $(python3 "$here/bolts_baseline.py" "$corpus" 3)
py_time=$1 py_combos=$2
ratio=$(echo "$py_time $c_time" | awk '{printf "%.1f", $1 / $2}')
say "load+validate+resolve the BOLTS corpus ($c_combos combinations)"
say "  partsfs core (best of 30):        $(echo "$c_time" | awk '{printf "%.2f ms", $1 * 1000}'), peak RSS $(echo "$c_rss" | awk '{printf "%.1f MiB", $1 / 1024}')"
say "  BOLTS-style Python loader (best of 3): $(echo "$py_time" | awk '{printf "%.1f ms", $1 * 1000}') ($py_combos combinations)"
say "  ratio: ${ratio}x faster"
say "  target >= 20x: $(verdict $(echo "$ratio" | awk '{print ($1 >= 20)}')); < 30 ms: $(verdict $(echo "$c_time" | awk '{print ($1 < 0.030)}')); RSS < 16 MiB: $(verdict $(echo "$c_rss" | awk '{print ($1 < 16384)}'))"
record I2 "load the corpus, Python loader/partsfs core" "${ratio}x (>= 20x)" \
    "$(echo "$ratio" | awk '{print ($1 >= 20)}')"
record I2 "load the corpus, partsfs core time" \
    "$(echo "$c_time" | awk '{printf "%.2f ms", $1 * 1000}') (< 30 ms)" \
    "$(echo "$c_time" | awk '{print ($1 < 0.030)}')"
record I2 "load the corpus, partsfs core peak RSS" \
    "$(echo "$c_rss" | awk '{printf "%.1f MiB", $1 / 1024}') (< 16 MiB)" \
    "$(echo "$c_rss" | awk '{print ($1 < 16384)}')"

# 2. partsctl get (issue 3), the mount (issue 4), partsctl serve (issue
# 19), the remote mount (issue 20) and the real BOLTS library through a
# mount (issue 18): Python drivers, one section per target (T1-T7,
# S1-S3, R1-R3, B1-B2), each figure beside its baseline.
make -s -C "$build" partsctl partsfs partsfs-convert bench/timeit bench/durable \
    tests/fake-engine >/dev/null || exit 1
rc=0
for script in get.py mount.py model.py serve.py remote.py bolts.py; do
	say ""
	{ PARTSFS_CORPUS=$corpus python3 "$here/$script" "$build" "$top"
	  echo $? >"$here/out/.rc"; } \
	    2>&1 | tee -a "$out"
	if [ "$(cat "$here/out/.rc")" != 0 ]; then
		say "bench/$script FAILED (exit status $(cat "$here/out/.rc"))"
		rc=1
	fi
	rm -f "$here/out/.rc"
done

say ""
say "summary (I2: issue 2; T1-T3: issue 3; T4-T7: issue 4; S1-S3: issue 19;"
say "R1-R3: issue 20; T4, T5, T8 and M1-M2: issue 21;"
say "B1-B2 of issue 18, without targets, end bolts.py's section above):"
while IFS= read -r line; do
	say "  $line"
done <"$summary"
say "whole run: $(($(date +%s) - start)) s," \
    "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
exit $rc
