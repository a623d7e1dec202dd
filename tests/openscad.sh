#!/bin/bash
# openscad.sh -- the OpenSCAD executor with the real engine: BOLTS's own
# helpers taken from a checkout with no configuration (and the corpus
# without them failing with OpenSCAD's message), a module file's stray
# top-level object left out of its parts (the vacuum flange), the strict
# rules on a hostile little library and the key that relaxes them, and
# partsctl check trying the modules.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
plan 11

export HOME="$TMP/home"
mkdir -p "$HOME"

conf() {  # conf FILE [LINES under executors.openscad]
	cat >"$1" <<EOF
executors:
  openscad:
    program: openscad
${2:-}
cache:
  dir: $TMP/cache
EOF
}
conf "$TMP/partsfs.conf"
export PARTSFS_CONFIG="$TMP/partsfs.conf"

get() { run "$PARTSCTL" get "$@"; }

# triangles, bounding box and volume of a binary STL:
# "n xmin ymin zmin xmax ymax zmax volume"
stl_info() {
	python3 - "$1" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack_from("<I", data, 80)[0]
lo, hi, vol = [1e300] * 3, [-1e300] * 3, 0.0
for i in range(n):
    a, b, c = (struct.unpack_from("<3f", data, 84 + 50 * i + 12 + 12 * k)
               for k in range(3))
    for p in (a, b, c):
        for k in range(3):
            lo[k] = min(lo[k], p[k]); hi[k] = max(hi[k], p[k])
    vol += (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] -
            b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0])) / 6
print(n, " ".join("%.3f" % x for x in lo + hi), "%.1f" % vol)
EOF
}
# near GOT WANT TOLERANCE: |got - want| <= tolerance
near() { python3 -c 'import sys; g, w, t = map(float, sys.argv[1:]); sys.exit(abs(g - w) > t)' "$@"; }

# A copy of the corpus an engine may read, OpenSCAD its only engine (so
# that its STL is OpenSCAD's, whatever the default engine of a class
# with both is): data/ and openscad/, with backends/ when `helpers`.
corpus_copy() {  # corpus_copy DIR [helpers]
	mkdir -p "$1"
	cp -r "$CORPUS/data" "$CORPUS/openscad" "$1/"
	[ "${2:-}" = helpers ] && cp -r "$CORPUS/backends" "$1/"
	chmod -R u+w "$1"
}
if [ -n "$CORPUS" ] && [ -d "$CORPUS/data" ]; then
	corpus_copy "$TMP/bare"
	corpus_copy "$TMP/bolts" helpers
fi

begin "without BOLTS's helpers a part that needs them fails with OpenSCAD's message"
if need corpus && need openscad; then
	get "$TMP/bare" hex/hexscrew1/M3/coarse/default.stl -o "$TMP/x.stl"
	expect_rc 3
	expect_contains "$err" "WARNING: Ignoring unknown module 'BOLTS_hex_head' in file $TMP/bare/openscad/hex/hex.scad, line 21" "stderr"
	expect_contains "$err" "allow-warnings: [unknown-module]" "stderr"
	[ -e "$TMP/x.stl" ] && fail "a part was written"
fi
end

begin "with the helpers of a checkout and no configuration, the part is right"
if need corpus && need openscad; then
	get "$TMP/bolts" hex/hexscrew1/M3/coarse/default.stl -o "$TMP/hex.stl"
	expect_rc 0
	info=$(stl_info "$TMP/hex.stl")
	set -- $info
	# M3 x 20: head 2 mm high below z = 0, 5.5 mm across flats
	expect_eq "$2 $3 $4 $5 $6 $7" "-2.750 -3.175 -2.000 2.750 3.175 20.000" "bbox"
	near "$8" 159.4 0.5 || fail "volume $8, want 159.4"
fi
end

begin "a stray top-level object of a module file stays out: one vacuum flange"
if need corpus && need openscad; then
	get "$TMP/bolts" vacuum/vacuumflange/DN100/default.stl -o "$TMP/flange.stl"
	expect_rc 0
	info=$(stl_info "$TMP/flange.stl")
	set -- $info
	expect_eq "$4 $7" "0.000 1000.000" "z extent"
	# two flanges (the stray CFFlange(); drawn too) are 966858 mm3
	near "$8" 798671 800 || fail "volume $8, want 798671 (one flange)"
fi
end

begin "partsctl check of the corpus without helpers reports the modules that call what is defined nowhere"
if need corpus && need openscad; then
	run "$PARTSCTL" check "$TMP/bare"
	expect_rc 1
	expect_contains "$err" "openscad/hex/hex.scad:21: error: class 'hexscrew1', its default part in OpenSCAD: WARNING: Ignoring unknown module 'BOLTS_hex_head'" "stderr"
	expect_contains "$err" "openscad/nut/nut.scad:24: error: class 'hexagonnut1'" "stderr"
	expect_contains "$out" "OpenSCAD modules: 9 files and the default parts of 29 classes tried in" "stdout"
fi
end

begin "partsctl check of the corpus with helpers: no errors, a warning for the vacuum flange's stray object"
if need corpus && need openscad; then
	t0=$(date +%s.%N)
	run "$PARTSCTL" check "$TMP/bolts"
	t1=$(date +%s.%N)
	echo "# partsctl check of the corpus: $(python3 -c "print('%.1f' % ($t1 - $t0))") s"
	expect_rc 0
	expect_contains "$err" "openscad/vacuum/CF-Flange.scad:104: warning: 'CFFlange();' at the top level" "stderr"
	expect_not_contains "$err" "unknown module"
	expect_not_contains "$err" "error:"
	expect_contains "$out" "OpenSCAD modules: 9 files and the default parts of 29 classes tried in" "stdout"
fi
end

# A hostile little library: a class per rule, each in its own file.
lib="$TMP/hostile"
mkdir -p "$lib/data" "$lib/openscad/bad"
{
	printf 'id: bad\nname: Bad modules\nauthor: t <t@example.invalid>\n'
	printf 'license: MIT <http://opensource.org/licenses/MIT>\n'
	printf 'blt-version: 0.4\nclasses:\n'
	for c in um uf uv inc parse empty bolts stray ok; do
		printf '  - id: %s\n    names: {name: %s, labeling: %s}\n' "$c" "$c" "$c"
		printf '    parameters: {free: [size], defaults: {size: 10}, '
		printf 'types: {size: Length (mm)}}\n    source: test\n'
	done
} >"$lib/data/bad.blt"
: >"$lib/openscad/bad/bad.base"
for c in um uf uv inc parse empty bolts stray ok; do
	printf -- '- filename: %s.scad\n  type: module\n  author: t <t@example.invalid>\n  license: MIT <http://opensource.org/licenses/MIT>\n  modules:\n    - {name: m, arguments: [size], classids: [%s]}\n' "$c" "$c" >>"$lib/openscad/bad/bad.base"
done
w="$lib/openscad/bad"
printf 'module m(size) {\n\tnothere(size);\n\tcube(size);\n}\n' >"$w/um.scad"
printf 'module m(size) { cube(twice(size)); }\n' >"$w/uf.scad"
printf 'module m(size) { cube(size + extra); }\n' >"$w/uv.scad"
printf 'include <nowhere.scad>\nmodule m(size) { cube(size); }\n' >"$w/inc.scad"
printf 'module m(size) {\n\tcube(size)\n' >"$w/parse.scad"
printf 'module m(size) { }\n' >"$w/empty.scad"
printf 'module m(size) { echo("BOLTS Error: no size"); cube(size); }\n' >"$w/bolts.scad"
printf 'module m(size) { cube(size); }\ntranslate([100, 0, 0]) cube(1);\n' >"$w/stray.scad"
printf 'module m(size) { cube(size); }\n' >"$w/ok.scad"

begin "every strict rule fails its part with OpenSCAD's message"
if need openscad; then
	for c in "um:Ignoring unknown module 'nothere'" \
	    "uf:Ignoring unknown function 'twice'" \
	    "uv:Ignoring unknown variable 'extra'" \
	    "inc:Can't open include file 'nowhere.scad'" \
	    "parse:ERROR: Parser error: syntax error" \
	    "empty:Current top level object is empty." \
	    'bolts:ECHO: "BOLTS Error: no size"'; do
		get "$lib" "bad/${c%%:*}/default.stl" -o "$TMP/bad.stl"
		expect_rc 3
		expect_contains "$err" "${c#*:}" "bad/${c%%:*}: stderr"
		[ -e "$TMP/bad.stl" ] && fail "bad/${c%%:*}: a part was written"
	done
	# OpenSCAD writes the CSG of nothing, "group();", and exits 0
	get "$lib" bad/empty/default.csg -o "$TMP/bad.csg"
	expect_rc 3
	expect_contains "$err" "the CSG it wrote draws no object" "bad/empty csg: stderr"
	get "$lib" bad/ok/default.csg -o "$TMP/ok.csg"
	expect_rc 0
fi
end

begin "a good module and one with a stray object make their parts, the stray left out"
if need openscad; then
	for c in ok stray; do
		get "$lib" "bad/$c/default.stl" -o "$TMP/$c.stl"
		expect_rc 0
		set -- $(stl_info "$TMP/$c.stl")
		expect_eq "$2 $5" "0.000 10.000" "bad/$c x extent"
	done
fi
end

begin "executors.openscad.allow-warnings lets the kinds it names through, and only those"
if need openscad; then
	conf "$TMP/relaxed.conf" "    allow-warnings: [unknown-variable]"
	get "$lib" bad/uv/default.stl -o "$TMP/uv.stl" --config "$TMP/relaxed.conf"
	expect_rc 0
	get "$lib" bad/um/default.stl -o "$TMP/um.stl" --config "$TMP/relaxed.conf"
	expect_rc 3
	expect_contains "$err" "Ignoring unknown module 'nothere'" "stderr"
	# the failure remembered under the strict rules is not this part's
	get "$lib" bad/uv/default.stl -o "$TMP/uv2.stl"
	expect_rc 3
fi
end

begin "partsctl check reports each rule at its line, and warns of the stray object"
if need openscad; then
	run "$PARTSCTL" check "$lib"
	expect_rc 1
	for want in \
	    "openscad/bad/um.scad:2: error: class 'um', its default part in OpenSCAD: WARNING: Ignoring unknown module 'nothere'" \
	    "openscad/bad/uf.scad:1: error: class 'uf', its default part in OpenSCAD: WARNING: Ignoring unknown function 'twice'" \
	    "openscad/bad/uv.scad:1: warning: class 'uv', its default part in OpenSCAD: WARNING: Ignoring unknown variable 'extra'" \
	    "openscad/bad/inc.scad: error: OpenSCAD, loading it for inc: WARNING: Can't open include file 'nowhere.scad'" \
	    ": error: OpenSCAD cannot compile it: ERROR: Parser error: syntax error" \
	    "openscad/bad/empty.scad: error: class 'empty', its default part in OpenSCAD: the module draws no object" \
	    "openscad/bad/bolts.scad: error: class 'bolts', its default part in OpenSCAD: ECHO: \"BOLTS Error: no size\"" \
	    "openscad/bad/stray.scad:2: warning: 'translate([100, 0, 0]) cube(1);' at the top level of an OpenSCAD module file"; do
		expect_contains "$err" "$want" "stderr"
	done
	expect_contains "$err" "openscad/bad/parse.scad:" "stderr"
	expect_not_contains "$err" "bad/ok.scad"
	expect_contains "$out" "OpenSCAD modules: 9 files and the default parts of 8 classes tried in" "stdout"
	run "$PARTSCTL" check --json "$lib"
	expect_eq "$(json_get "$out" 'd["openscad"].startswith("OpenSCAD modules: 9 files")')" true "check --json openscad"
fi
end

begin "partsctl check says when OpenSCAD is not there to try the modules"
run env PATH=/nonexistent "$PARTSCTL" check "$lib"
expect_contains "$out" "OpenSCAD modules were not tried: 'openscad' is not installed" "stdout"
end

begin "a library with helpers that lead out of it is refused"
if need openscad; then
	mkdir -p "$TMP/outside" "$TMP/linked/backends/openscad"
	cp -r "$lib/data" "$lib/openscad" "$TMP/linked/"
	printf 'module BOLTS_x() { cube(1); }\n' >"$TMP/outside/common.scad"
	ln -s "$TMP/outside/common.scad" "$TMP/linked/backends/openscad/common.scad"
	printf '// conf\n' >"$TMP/linked/backends/openscad/conf.scad"
	get "$TMP/linked" bad/ok/default.stl -o "$TMP/linked.stl"
	expect_rc 1
	expect_contains "$err" "outside the library: refused" "stderr"
fi
end

done_testing
