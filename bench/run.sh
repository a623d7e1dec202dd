#!/bin/sh
# run.sh -- every benchmark of partsfs, each beside its baseline in the same
# run, as a ratio.  Run from a build directory with `make bench`, or as
# bench/run.sh BUILD-DIR.  Figures go to stdout and bench/out/latest.txt.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=${1:-$(pwd)}
corpus=${PARTSFS_CORPUS:-$top/../shared/corpus/bolts}
[ -d "$corpus/data" ] || corpus=/work/shared/corpus/bolts
mkdir -p "$here/out"
out="$here/out/latest.txt"
: >"$out"

say() { echo "$@" | tee -a "$out"; }
verdict() { if [ "$1" = 1 ]; then echo "met"; else echo "NOT MET"; fi; }

say "partsfs benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r)"
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
