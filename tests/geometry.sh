#!/bin/bash
# geometry.sh -- every class of the bundled library, default part, in STEP
# (FreeCAD) and STL (OpenSCAD): re-imported with FreeCAD, it must be one
# closed, valid solid whose bounding box matches its table within 0.05 mm
# under the library's convention (z is the axis, z = 0 the bearing face,
# hexagon flats parallel to x).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
plan 11

export PARTSFS_DATADIR="$top_srcdir/src/libexec"
export PARTSFS_LIBEXECDIR="$top_builddir"
export HOME="$TMP/home"
mkdir -p "$HOME"
printf 'cache:\n  dir: %s\n' "$TMP/cache" >"$TMP/partsfs.conf"
export PARTSFS_CONFIG="$TMP/partsfs.conf"

# expected [xmin, ymin, zmin, xmax, ymax, zmax] from the parameters
expected() {
	python3 - "$1" <<'EOF'
import json, math, sys
d = json.loads(sys.argv[1]); p = d["params"]; c = d["class"]
hexx = lambda s: s / math.sqrt(3)          # half the corner-to-corner width
if c in ("hex_screw", "hex_bolt"):
    b = [-hexx(p["s"]), -p["s"] / 2, -p["length"], hexx(p["s"]), p["s"] / 2, p["k"]]
elif c == "socket_head_cap_screw":
    b = [-p["dk"] / 2, -p["dk"] / 2, -p["length"], p["dk"] / 2, p["dk"] / 2, p["k"]]
elif c == "hex_nut":
    b = [-hexx(p["s"]), -p["s"] / 2, 0, hexx(p["s"]), p["s"] / 2, p["m"]]
elif c == "plain_washer":
    b = [-p["d2"] / 2, -p["d2"] / 2, 0, p["d2"] / 2, p["d2"] / 2, p["h"]]
print(json.dumps(b))
EOF
}

check_part() {  # check_part CLASS-PATH FORMAT
	local path=$1 fmt=$2 f="$TMP/part.$2" params want g
	run "$PARTSCTL" get "$LIBRARY" "$path/default.$fmt" -o "$f"
	expect_rc 0
	params=$("$PARTSCTL" params "$LIBRARY" "$path/default.$fmt")
	want=$(expected "$params")
	PARTSFS_GEOM_IN="$f" PARTSFS_GEOM_OUT="$TMP/g.json" \
	    freecadcmd "$top_srcdir/tests/geomcheck.py" >/dev/null 2>&1
	g=$(cat "$TMP/g.json")
	expect_eq "$(json_get "$g" '[d["ok"], d["solids"], d["closed"], d["valid"]]')" '[true, 1, true, true]' "$path $fmt solid"
	expect_eq "$(json_get "$g" "all(abs(a - b) <= 0.05 for a, b in zip(d['bbox'], $want))")" "true" "$path $fmt bbox $(json_get "$g" 'd["bbox"]') vs $want"
	if [ "$fmt" = step ]; then
		expect_eq "$(json_get "$g" 'd["labels"][0]')" "$(json_get "$params" 'd["label"]["nice"]')" "$path label"
	fi
}

# FreeCAD makes the STEP parts and OpenSCAD the STL ones; FreeCAD
# measures both
for cls in hex_screw hex_bolt socket_head_cap_screw hex_nut plain_washer; do
	for fmt in step stl; do
		begin "bolts/$cls default $fmt is a closed solid matching its table"
		maker=freecad
		[ "$fmt" = stl ] && maker=openscad
		if need "$maker" && need freecad; then
			check_part "bolts/$cls/M8" "$fmt"
		fi
		end
	done
done

begin "the mission example measures 13 across flats, 5.3 head, 25.3 overall"
if need freecad; then
	run "$PARTSCTL" get "$LIBRARY" bolts/hex_screw/M8/length=20.step -o "$TMP/m8.step"
	PARTSFS_GEOM_IN="$TMP/m8.step" PARTSFS_GEOM_OUT="$TMP/g.json" \
	    freecadcmd "$top_srcdir/tests/geomcheck.py" >/dev/null 2>&1
	g=$(cat "$TMP/g.json")
	expect_eq "$(json_get "$g" '[round(d["bbox"][4] - d["bbox"][1], 2), round(d["bbox"][5], 2), round(d["bbox"][5] - d["bbox"][2], 2)]')" '[13.0, 5.3, 25.3]'
fi
end

done_testing
