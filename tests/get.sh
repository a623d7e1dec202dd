#!/bin/bash
# get.sh -- partsctl get and partsctl cache with real engines (OpenSCAD,
# FreeCAD) and the test engine: formats, labels, the cache, deduplication,
# every kind of engine failure, crashes of partsctl itself, injection.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
plan 39

# Run from the build tree: the driver and the converter are found here.
export PARTSFS_DATADIR="$top_srcdir/src/libexec"
export PARTSFS_LIBEXECDIR="$top_builddir"
export HOME="$TMP/home"
mkdir -p "$HOME"
FAKE="$top_builddir/tests/fake-engine"
CMDLIB="$top_srcdir/tests/data/cmdlib"

# A configuration with the test engine and a private cache; EXECUTORS may
# hold more lines for the executors: section, SANDBOX=off runs engines
# without the sandbox.
conf() {  # conf FILE
	cat >"$1" <<EOF
executors:
${EXECUTORS:-}
  commands:
    - name: fake
      argv: [$FAKE, "{params}", "{output}", "{format}", "{script}"]
      formats: [stl, step]
jobs:
  sandbox: ${SANDBOX:-bwrap}
  timeout: ${TIMEOUT:-20}
cache:
  dir: $TMP/cache
  negative-ttl: ${TTL:-30}
EOF
}
conf "$TMP/partsfs.conf"
export PARTSFS_CONFIG="$TMP/partsfs.conf"
# The tests that count an engine's runs, or follow its processes, in files
# of their own: only an engine outside the sandbox can write them (the
# sandbox's own tests are tests/sandbox.py and test-sandbox.c).
SANDBOX=off conf "$TMP/unconfined.conf"

get() { run "$PARTSCTL" get "$@"; }

# a value percent-encoded for a file name (a path holds '/')
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

# bbox_near GOT WANT TOLERANCE: two bounding boxes (6 numbers each) agree
bbox_near() {
	python3 - "$1" "$2" "$3" <<'EOF' || fail "bounding box $1, want $2 within $3"
import sys
got, want = [list(map(float, a.split())) for a in sys.argv[1:3]]
sys.exit(0 if len(got) == 6 and all(abs(g - w) <= float(sys.argv[3])
                                     for g, w in zip(got, want)) else 1)
EOF
}

# python helpers: STL bounding box, STEP product names
stl_bbox() {
	python3 - "$1" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack_from("<I", data, 80)[0]
lo, hi = [1e9] * 3, [-1e9] * 3
for i in range(n):
    v = struct.unpack_from("<12f", data, 84 + 50 * i)[3:]
    for k in range(9):
        lo[k % 3] = min(lo[k % 3], v[k]); hi[k % 3] = max(hi[k % 3], v[k])
print(" ".join("%.2f" % x for x in lo + hi))
EOF
}

# geomcheck JSON of a STEP/STL file via FreeCAD
geom() {
	PARTSFS_GEOM_IN="$1" PARTSFS_GEOM_OUT="$TMP/geom.json" \
	    freecadcmd "$top_srcdir/tests/geomcheck.py" >/dev/null 2>&1
	cat "$TMP/geom.json"
}

begin "get makes the mission example as one closed STEP solid of the right size"
if need freecad; then
	get "$LIBRARY" bolts/hex_screw/M8/length=20.step -o "$TMP/m8.step"
	expect_rc 0
	expect_eq "$(head -c 13 "$TMP/m8.step")" "ISO-10303-21;"
	g=$(geom "$TMP/m8.step")
	expect_eq "$(json_get "$g" '[d["ok"], d["solids"], d["closed"], d["valid"]]')" '[true, 1, true, true]'
	expect_eq "$(json_get "$g" '[round(d["bbox"][4] - d["bbox"][1], 2), round(d["bbox"][2], 2), round(d["bbox"][5], 2)]')" '[13.0, -20.0, 5.3]'
fi
end

begin "the STEP product name is the part's label"
if need freecad; then
	expect_contains "$(cat "$TMP/m8.step")" "PRODUCT('Hexagon head screw ISO 4017 - M8 x 20'"
fi
end

begin "a warm get answers from the cache without starting an engine"
if need freecad; then
	# wrap freecadcmd so that every start is counted
	mkdir -p "$TMP/bin"
	cat >"$TMP/bin/freecadcmd" <<EOF
#!/bin/sh
echo run >>"$TMP/freecad-runs"
exec /usr/bin/freecadcmd "\$@"
EOF
	chmod +x "$TMP/bin/freecadcmd"
	EXECUTORS="  freecad:
    program: $TMP/bin/freecadcmd" conf "$TMP/counting.conf"
	get -c "$TMP/counting.conf" "$LIBRARY" bolts/hex_nut/M6/default.step -o "$TMP/nut1.step"
	expect_rc 0
	cold=$(wc -l <"$TMP/freecad-runs")
	get -c "$TMP/counting.conf" "$LIBRARY" bolts/hex_nut/M6/default.step -o "$TMP/nut2.step"
	expect_rc 0
	expect_eq "$(wc -l <"$TMP/freecad-runs")" "$cold" "engine starts"
	cmp -s "$TMP/nut1.step" "$TMP/nut2.step" || fail "the warm copy differs"
fi
end

begin "the first FreeCAD part of a fresh cache starts FreeCAD once: its run tells the version"
if need freecad; then
	# each start says what it was for; while fc-no-report exists, the job
	# file loses report_version, as from a driver that reports nothing
	cat >"$TMP/bin/fc-starts" <<EOF
#!/bin/sh
if [ -n "\$PARTSFS_VERSION" ]; then echo query >>"$TMP/fc-starts.log"; fi
if [ -n "\$PARTSFS_JOB" ]; then
	echo job >>"$TMP/fc-starts.log"
	if [ -e "$TMP/fc-no-report" ]; then
		python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); j.pop("report_version"); json.dump(j, open(sys.argv[1], "w"))' "\$PARTSFS_JOB"
	fi
fi
exec /usr/bin/freecadcmd "\$@"
EOF
	chmod +x "$TMP/bin/fc-starts"
	SANDBOX=off EXECUTORS="  freecad:
    program: $TMP/bin/fc-starts" conf "$TMP/fc-starts.conf"
	rm -f "$TMP/fc-starts.log"
	get -q -c "$TMP/fc-starts.conf" --cache "$TMP/fc-fresh1" "$LIBRARY" bolts/hex_nut/M5/default.step -o "$TMP/fc1.step"
	expect_rc 0
	expect_eq "$(cat "$TMP/fc-starts.log")" "job" "FreeCAD started for"
	# what the run reported is what the query answers after its mark
	# (run as partsfs runs it: a clean environment, a home of its own)
	mkdir -p "$TMP/fc-home"
	want=$(env -i PATH=/usr/bin:/bin HOME="$TMP/fc-home" LANG=C.UTF-8 PARTSFS_VERSION=1 /usr/bin/freecadcmd "$PARTSFS_DATADIR/freecad-driver.py" 2>&1 </dev/null | sed -n 's/^partsfs-version: //p')
	got=$(python3 -c 'import sqlite3, sys; print([v for k, v in sqlite3.connect(sys.argv[1]).execute("select name, value from memo") if k.startswith("version ")])' "$TMP/fc-fresh1/index.sqlite")
	expect_eq "$got" "['$want']" "the version remembered"
	# a driver that reports nothing: the query after its job, and the
	# part keyed as the reported version keyed it
	rm -f "$TMP/fc-starts.log"
	touch "$TMP/fc-no-report"
	get -q -c "$TMP/fc-starts.conf" --cache "$TMP/fc-fresh2" "$LIBRARY" bolts/hex_nut/M5/default.step -o "$TMP/fc2.step"
	expect_rc 0
	rm -f "$TMP/fc-no-report"
	expect_eq "$(tr '\n' ' ' <"$TMP/fc-starts.log")" "job query " "FreeCAD started for"
	expect_eq "$(cd "$TMP/fc-fresh2/blobs" && ls ./*/*.step)" "$(cd "$TMP/fc-fresh1/blobs" && ls ./*/*.step)" "the part's key"
fi
end

# the bundled library's classes have both engines: OpenSCAD makes them
# only when the configuration says so
EXECUTORS="  model: openscad" conf "$TMP/scad.conf"

begin "one part, one shape: stl, off, 3mf and glb come from FreeCAD's model"
if need freecad; then
	get "$LIBRARY" bolts/plain_washer/M8/default.stl -o "$TMP/w.stl"
	expect_rc 0
	# a mesh of the shape, within 0.05 mm of it
	bbox_near "$(stl_bbox "$TMP/w.stl")" "-8 -8 0 8 8 1.6" 0.05
	for f in off 3mf glb; do
		get "$LIBRARY" bolts/plain_washer/M8/default.$f -o "$TMP/w.$f"
		expect_rc 0
	done
	expect_eq "$(head -c 3 "$TMP/w.off")" "OFF"
	expect_eq "$(head -c 2 "$TMP/w.3mf")" "PK"
	expect_eq "$(head -c 4 "$TMP/w.glb")" "glTF"
	for f in stl glb; do
		run "$PARTSCTL" params "$LIBRARY" bolts/plain_washer/M8/default.$f
		expect_eq "$(json_get "$out" 'd["provenance"]["generator"]["executor"]')" '"freecad"' "$f"
	done
	# FreeCAD writes no amf, csg nor png
	get "$LIBRARY" bolts/plain_washer/M8/default.png -o "$TMP/w.png"
	expect_rc 1
	expect_contains "$err" "cannot be made in the png format"
fi
end

begin "with model: openscad, stl comes from OpenSCAD and glb is converted from it"
if need openscad; then
	get -c "$TMP/scad.conf" "$LIBRARY" bolts/plain_washer/M8/default.stl -o "$TMP/ws.stl"
	expect_rc 0
	expect_eq "$(stl_bbox "$TMP/ws.stl")" "-8.00 -8.00 0.00 8.00 8.00 1.60"
	get -c "$TMP/scad.conf" "$LIBRARY" bolts/plain_washer/M8/default.glb -o "$TMP/ws.glb"
	expect_rc 0
	expect_eq "$(head -c 4 "$TMP/ws.glb")" "glTF"
	run "$PARTSCTL" params -c "$TMP/scad.conf" "$LIBRARY" bolts/plain_washer/M8/default.glb
	expect_eq "$(json_get "$out" 'd["provenance"]["generator"]["executor"]')" '"openscad"'
	# no STEP from OpenSCAD's model
	get -c "$TMP/scad.conf" "$LIBRARY" bolts/plain_washer/M8/default.step -o "$TMP/w.step"
	expect_rc 1
fi
end

begin "OpenSCAD writes off, amf, 3mf, csg and a png preview"
if need openscad; then
	for f in off amf 3mf csg png; do
		get -c "$TMP/scad.conf" "$LIBRARY" bolts/plain_washer/M10/default.$f -o "$TMP/w.$f"
		expect_rc 0
	done
	expect_eq "$(head -c 3 "$TMP/w.off")" "OFF"
	expect_contains "$(head -c 200 "$TMP/w.amf")" "<amf"
	expect_eq "$(head -c 2 "$TMP/w.3mf")" "PK"
	expect_contains "$(cat "$TMP/w.csg")" "rotate_extrude"
	expect_eq "$(head -c 4 "$TMP/w.png" | tail -c 3)" "PNG"
	# on a display that wants its key (XAUTHORITY, as ssh -X and display
	# managers give): the engine gets the key with the display
	if command -v xvfb-run >/dev/null; then
		unset XAUTHORITY
		run xvfb-run -a -f "$TMP/xauth" env DISPLAY_WAS_SET=1 \
		    "$PARTSCTL" get -c "$TMP/scad.conf" "$LIBRARY" \
		    bolts/plain_washer/M12/default.png \
		    -o "$TMP/w12.png"
		expect_rc 0
		expect_eq "$(head -c 4 "$TMP/w12.png" | tail -c 3)" "PNG"
	fi
fi
end

begin "json parts are answered at once, without the cache"
get "$LIBRARY" bolts/hex_bolt/M10/length=60.json
expect_rc 0
expect_eq "$(json_get "$out" '[d["params"]["length"], d["params"]["s"]]')" '[60, 16]'
end

begin "get writes to standard output when it is not a terminal"
if need openscad; then
	"$PARTSCTL" get "$LIBRARY" bolts/plain_washer/M8/default.stl >"$TMP/w2.stl"
	expect_eq "$?" 0 "exit status"
	cmp -s "$TMP/w.stl" "$TMP/w2.stl" || fail "standard output differs from -o"
fi
end

begin "-o - is standard output, not a file named -"
if need openscad; then
	(cd "$TMP" && "$PARTSCTL" get "$LIBRARY" bolts/plain_washer/M8/default.stl \
	    -o - >"$TMP/w3.stl")
	expect_eq "$?" 0 "exit status"
	cmp -s "$TMP/w.stl" "$TMP/w3.stl" || fail "-o - differs from -o FILE"
	[ ! -e "$TMP/-" ] || fail "a file named - was written"
fi
end

begin "an invalid path is exit status 1 with the reason"
get "$LIBRARY" bolts/hex_screw/M7/length=20.step -o "$TMP/x"
expect_rc 1
expect_contains "$err" "size=M7: not a choice of size"
get "$LIBRARY" bolts/hex_screw/M8/length=-1.step -o "$TMP/x"
expect_rc 1
expect_contains "$err" "length=-1: a length must be a number >= 0"
# beyond values.max: no part, in any format (OpenSCAD would make the head
# alone, FreeCAD would fail)
for ext in stl step; do
	get "$LIBRARY" "bolts/hex_screw/M8/length=1e15.$ext" -o "$TMP/x"
	expect_rc 1
	expect_contains "$err" "length=1000000000000000: beyond 1000000 mm, the largest value parts are made with (values.max)" "$ext"
done
printf 'values:\n  max: 50\n' >"$TMP/small.conf"
get -c "$TMP/small.conf" "$LIBRARY" bolts/hex_screw/M8/length=51.stl -o "$TMP/x"
expect_rc 1
expect_contains "$err" "length=51: beyond 50 mm"
end

begin "a missing engine names its Debian package"
EXECUTORS="  model: openscad
  openscad:
    program: /nonexistent/openscad" conf "$TMP/noscad.conf"
get -c "$TMP/noscad.conf" "$LIBRARY" bolts/plain_washer/M3/default.stl -o "$TMP/x"
expect_rc 3
expect_contains "$err" "not installed (Debian package openscad: apt-get install openscad)"
EXECUTORS="  freecad:
    program: /nonexistent/freecadcmd" conf "$TMP/nofc.conf"
get -c "$TMP/nofc.conf" "$LIBRARY" bolts/plain_washer/M3/default.step -o "$TMP/x"
expect_rc 3
expect_contains "$err" "not installed (Debian package freecad-python3: apt-get install freecad-python3)"
end

begin "the command executor makes parts with the configured engine"
get "$CMDLIB" fake/box/size=7.stl -o "$TMP/box.stl"
expect_rc 0
expect_eq "$(stl_bbox "$TMP/box.stl")" "0.00 0.00 0.00 7.00 7.00 7.00"
get "$CMDLIB" fake/box/size=7.step -o "$TMP/box.step"
expect_rc 0
expect_contains "$(cat "$TMP/box.step")" "PRODUCT('Test box 7 '"
end

begin "a failing engine: exit status, command and last stderr lines"
get "$CMDLIB" fake/box/mode=fail.stl -o "$TMP/x"
expect_rc 3
expect_contains "$err" "fake exited with status 3"
expect_contains "$err" "command: $FAKE "
expect_contains "$err" "fake-engine: giving up as asked"
end

begin "an engine that hangs is killed at the timeout, with its helpers"
TIMEOUT=1 conf "$TMP/t1.conf"
start=$(date +%s)
get -c "$TMP/t1.conf" "$CMDLIB" "fake/box/mode=orphan,seconds=100,counter=$(enc "$TMP/hang.pids").stl" -o "$TMP/x"
expect_rc 3
expect_contains "$err" "fake timed out after 1 s (every process of the job was killed)"
get --timeout 0.5 "$CMDLIB" "fake/box/mode=hang,size=2.stl" -o "$TMP/x"
expect_rc 3
expect_contains "$err" "fake timed out after 0.5 s"
[ $(( $(date +%s) - start )) -lt 10 ] || fail "took too long"
for pid in $(cat "$TMP/hang.pids"); do
	if [ -e /proc/$pid ] && ! grep -q '^State:.*Z' /proc/$pid/status; then
		fail "engine process $pid still runs"
	fi
done
end

begin "an engine that crashes is reported with its signal"
get "$CMDLIB" fake/box/mode=crash.stl -o "$TMP/x"
expect_rc 3
expect_contains "$err" "fake was killed by signal 11 (Segmentation fault)"
end

begin "garbage, empty or missing output is a failed job"
get "$CMDLIB" fake/box/mode=garbage.stl -o "$TMP/x"
expect_rc 3
expect_contains "$err" "its output is unusable: not an STL file"
get "$CMDLIB" fake/box/mode=empty.stl -o "$TMP/x"
expect_rc 3
expect_contains "$err" "its output is unusable: the output is empty"
get "$CMDLIB" fake/box/mode=nothing.step -o "$TMP/x"
expect_rc 3
expect_contains "$err" "its output is unusable: cannot open the output"
end

begin "100 MB of stderr: a bounded report and bounded memory"
run python3 -c '
import resource, subprocess, sys
p = subprocess.run(sys.argv[1:], capture_output=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stderr.write(p.stderr.decode())' "$PARTSCTL" get "$CMDLIB" fake/box/mode=flood.stl -o "$TMP/x"
expect_contains "$err" "fake exited with status 1"
expect_contains "$err" "fake-engine: the last line of the flood"
[ "${#err}" -lt 100000 ] || fail "the report is ${#err} bytes"
[ "$out" -lt 65536 ] || fail "max RSS $out KiB"
end

begin "an engine over the memory limit fails cleanly"
get "$CMDLIB" fake/box/mode=memory.stl -o "$TMP/x"
expect_rc 3
expect_contains "$err" "fake-engine: out of memory"
end

begin "failed jobs leave the cache clean"
run "$PARTSCTL" cache stats --json
expect_eq "$(json_get "$out" 'd["failures"] > 0')" "true"
leftovers=$(find "$TMP/cache/tmp" -mindepth 1 -not -name 'proc-*' -not -name lock -not -name keys.lock 2>/dev/null; find "$TMP/cache/tmp" -path '*/job-*' 2>/dev/null)
expect_eq "$leftovers" ""
for f in "$TMP"/cache/blobs/*/*; do
	[ -e "$f" ] || continue
	case "$(basename "$f")" in *.stl|*.step|*.glb|*.png|*.off|*.amf|*.3mf|*.csg) ;; *) fail "stray $f";; esac
done
end

begin "a failure is remembered, then tried again once it expires"
# a few seconds: the first two gets must fall inside it on a busy machine
SANDBOX=off TTL=3 conf "$TMP/ttl.conf"
rm -f "$TMP/ttl.count"
get -c "$TMP/ttl.conf" "$CMDLIB" "fake/box/mode=fail,counter=$(enc "$TMP/ttl.count").stl" -o "$TMP/x"
expect_rc 3
get -c "$TMP/ttl.conf" "$CMDLIB" "fake/box/mode=fail,counter=$(enc "$TMP/ttl.count").stl" -o "$TMP/x"
expect_rc 3
expect_eq "$(wc -l <"$TMP/ttl.count")" "1" "engine runs within the ttl"
sleep 3.2
get -c "$TMP/ttl.conf" "$CMDLIB" "fake/box/mode=fail,counter=$(enc "$TMP/ttl.count").stl" -o "$TMP/x"
expect_eq "$(wc -l <"$TMP/ttl.count")" "2" "engine runs after the ttl"
end

begin "a timeout is remembered up to its own limit; a longer one tries again"
rm -f "$TMP/slow.count"
slow="fake/box/seconds=1.5,counter=$(enc "$TMP/slow.count").stl"
# slow_get LIMIT REPORTED: get under --timeout LIMIT fails, saying the
# part timed out under REPORTED seconds
slow_get() {
	get -c "$TMP/unconfined.conf" --timeout "$1" "$CMDLIB" "$slow" \
	    -o "$TMP/x"
	expect_rc 3
	expect_contains "$err" "fake timed out after $2 s"
}
slow_get 0.5 0.5
slow_get 0.3 0.5
expect_eq "$(wc -l <"$TMP/slow.count")" "1" "engine runs under 0.5 s and less"
# longer, but not long enough: remembered under its own limit
slow_get 1 1
slow_get 0.8 1
expect_eq "$(wc -l <"$TMP/slow.count")" "2" "engine runs under 1 s and less"
get -c "$TMP/unconfined.conf" --timeout 20 "$CMDLIB" "$slow" \
    -o "$TMP/slow.stl"
expect_rc 0
expect_eq "$(wc -l <"$TMP/slow.count")" "3" "engine runs under 20 s"
expect_eq "$(stl_bbox "$TMP/slow.stl")" "0.00 0.00 0.00 10.00 10.00 10.00"
end

begin "another failure is remembered whatever the time limit"
rm -f "$TMP/fail.count"
failing="fake/box/mode=fail,counter=$(enc "$TMP/fail.count").stl"
get -c "$TMP/unconfined.conf" --timeout 0.5 "$CMDLIB" "$failing" -o "$TMP/x"
expect_rc 3
get -c "$TMP/unconfined.conf" --timeout 20 "$CMDLIB" "$failing" -o "$TMP/x"
expect_rc 3
expect_contains "$err" "fake exited with status 3"
expect_eq "$(wc -l <"$TMP/fail.count")" "1" "engine runs"
end

begin "16 concurrent gets of one uncached part run the engine once"
rm -f "$TMP/dedup.count"
for i in $(seq 16); do
	"$PARTSCTL" get -c "$TMP/unconfined.conf" "$CMDLIB" \
	    "fake/box/seconds=1,counter=$(enc "$TMP/dedup.count").stl" \
	    -o "$TMP/dedup.$i" 2>"$TMP/dedup.err.$i" &
done
wait
expect_eq "$(wc -l <"$TMP/dedup.count")" "1" "engine runs"
for i in $(seq 2 16); do
	cmp -s "$TMP/dedup.1" "$TMP/dedup.$i" || fail "copy $i differs"
done
end

# alive: a process that exists and is not a zombie
alive() { [ -e /proc/$1 ] && ! grep -q '^State:.*Z' /proc/$1/status; }
# the number of lines of a file, 0 while it does not exist
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

begin "a command engine without a version command is not run to ask for one"
# it may not know --version; its program's identity stands for it
cat >"$TMP/logged-engine" <<END_ENGINE
#!/bin/sh
echo "\$*" >>"$TMP/logged.args"
exec "$FAKE" "\$@"
END_ENGINE
chmod +x "$TMP/logged-engine"
cat >"$TMP/logged.conf" <<END_CONF
executors:
  commands:
    - name: fake
      argv: [$TMP/logged-engine, "{params}", "{output}", "{format}", "{script}"]
      formats: [stl]
jobs:
  sandbox: off
cache:
  dir: $TMP/loggedcache
END_CONF
rm -f "$TMP/logged.args"
get -c "$TMP/logged.conf" "$CMDLIB" fake/box/size=9.stl -o "$TMP/l.stl"
expect_rc 0
expect_eq "$(lines "$TMP/logged.args")" 1 "engine runs"
expect_not_contains "$(cat "$TMP/logged.args")" "--version"
# the same program: the part is in the cache
get -c "$TMP/logged.conf" "$CMDLIB" fake/box/size=9.stl -o "$TMP/l.stl"
expect_eq "$(lines "$TMP/logged.args")" 1 "engine runs, again"
# a new program (another modification time): a new part
touch -d "+1 minute" "$TMP/logged-engine"
get -c "$TMP/logged.conf" "$CMDLIB" fake/box/size=9.stl -o "$TMP/l.stl"
expect_rc 0
expect_eq "$(lines "$TMP/logged.args")" 2 "engine runs, new program"
end

begin "SIGTERM or Ctrl-C during a job: the engine and its helpers end with partsctl, nothing remembered"
for sig in TERM INT; do
	rm -f "$TMP/sig.pids" "$TMP/sig.stl"
	# a script runs a background job with SIGINT ignored; env gives it
	# back its default, as an interactive shell would
	env --default-signal=INT "$PARTSCTL" get -c "$TMP/unconfined.conf" \
	    --cache "$TMP/sigcache" "$CMDLIB" \
	    "fake/box/mode=orphan,seconds=30,size=4,counter=$(enc "$TMP/sig.pids").stl" \
	    -o "$TMP/sig.stl" 2>"$TMP/sig.err" &
	pid=$!
	for i in $(seq 100); do
		[ "$(lines "$TMP/sig.pids")" = 2 ] && break
		sleep 0.1
	done
	[ "$(lines "$TMP/sig.pids")" = 2 ] ||
		fail "SIG$sig: the engine did not start its helper"
	kill -$sig $pid
	wait $pid
	st=$?
	expect_eq "$st" "$((128 + $(kill -l $sig)))" "SIG$sig: exit status"
	sleep 0.3
	for p in $(cat "$TMP/sig.pids"); do
		if alive $p; then fail "SIG$sig: engine process $p still runs"; fi
	done
	if [ -e "$TMP/sig.stl" ]; then fail "SIG$sig: a part file was written"; fi
	# nothing to say (a sanitizer may warn of the engine's own stack)
	expect_not_contains "$(cat "$TMP/sig.err")" "partsctl:" "SIG$sig: stderr"
done
run "$PARTSCTL" cache --cache "$TMP/sigcache" stats
expect_contains "$out" "failures remembered: 0"
end

begin "parts evicted by other gets before they are read are not lost"
# a cache smaller than its own index: every get evicts every part it can,
# the one another get is about to read included, unless it is in use
cat >"$TMP/tiny.conf" <<END_CONF
executors:
  commands:
    - name: fake
      argv: [$FAKE, "{params}", "{output}", "{format}", "{script}"]
      formats: [stl]
cache:
  dir: $TMP/tinycache
  max-size: 20K
END_CONF
rm -rf "$TMP/tiny"
mkdir -p "$TMP/tiny"
for i in $(seq 30); do
	( "$PARTSCTL" get -q -c "$TMP/tiny.conf" "$CMDLIB" "fake/box/size=$i.stl" \
	    -o "$TMP/tiny/$i.stl" 2>"$TMP/tiny/$i.err"
	  echo $? >"$TMP/tiny/$i.rc" ) &
done
wait
for i in $(seq 30); do
	expect_eq "$(cat "$TMP/tiny/$i.rc")" 0 "get $i: $(cat "$TMP/tiny/$i.err")"
	expect_eq "$(stl_bbox "$TMP/tiny/$i.stl")" \
	    "0.00 0.00 0.00 $i.00 $i.00 $i.00" "part $i"
done
end

# on_tmpfs SIZE DIR SCRIPT: run the sh SCRIPT with a tmpfs of SIZE mounted
# at DIR, in a mount namespace of its own so that the tmpfs goes with it;
# the script has $1 DIR, $2 partsctl, $3 the test library, and $4 DIR
# again as a prefix for files outside the tmpfs.  Status 99: no tmpfs
# (the test point needs mountns first, so that this is a failure).
on_tmpfs() {
	rm -rf "$2"
	mkdir -p "$2"
	unshare -m --propagation private sh -c "mount -t tmpfs -o size=$1 \
	    tmpfs \"\$1\" || exit 99
$3" sh "$2" "$PARTSCTL" "$CMDLIB" "$2"
}

begin "-o FILE is written whole or not at all: a full disk leaves no part file, or the old one"
if need mountns; then
	# one get into a new file, one over an existing file
	on_tmpfs 8k "$TMP/small" '
		echo "the old part" >"$1/old.stl"
		dd if=/dev/zero of="$1/fill" bs=1k count=64 2>/dev/null
		for f in new old; do
			"$2" get -q "$3" fake/box/size=6.stl -o "$1/$f.stl" 2>"$4.$f.err"
			echo $? >"$4.$f.rc"
		done
		cat "$1/old.stl" >"$4.part"
		ls -a "$1" | tr "\n" " " >"$4.ls"
	'
	if [ "$?" = 99 ]; then
		fail "cannot mount a tmpfs"
	else
		for f in new old; do
			expect_eq "$(cat "$TMP/small.$f.rc")" 4 "exit status ($f)"
			expect_contains "$(cat "$TMP/small.$f.err")" \
			    "No space left on device"
		done
		expect_eq "$(cat "$TMP/small.part")" "the old part" "the old file"
		expect_eq "$(cat "$TMP/small.ls")" ". .. fill old.stl " "what is left"
	fi
fi
end

begin "cache clear frees a disk too full to open the cache index on"
if need mountns; then
	on_tmpfs 512k "$TMP/fullc" '
		# parts take much of the disk, then something else the rest
		for n in $(seq 30); do
			"$2" get -q --cache "$1/cache" "$3" fake/box/size=$n.stl \
			    -o /dev/null || exit 98
		done
		"$2" cache --cache "$1/cache" stats >/dev/null || exit 98
		# the index'"'"'s emptied WAL and shared memory, which stay
		# between runs, are not there (a cache copied without them):
		# opening the index has to write them
		rm -f "$1/cache/index.sqlite-wal" "$1/cache/index.sqlite-shm"
		dd if=/dev/zero of="$1/fill" bs=4k count=1000 2>/dev/null
		"$2" cache --cache "$1/cache" stats >/dev/null 2>"$4.stats.err"
		echo $? >"$4.stats.rc"
		"$2" cache --cache "$1/cache" clear >"$4.out" 2>"$4.err"
		echo $? >"$4.rc"
		"$2" cache --cache "$1/cache" stats >"$4.after" 2>&1
		ls "$1/cache" | tr "\n" " " >"$4.ls"
	'
	case $? in
	99) fail "cannot mount a tmpfs";;
	98) fail "the parts were not made";;
	*)
		expect_eq "$(cat "$TMP/fullc.stats.rc")" 4 "stats on the full disk"
		expect_contains "$(cat "$TMP/fullc.stats.err")" "No space left on device"
		expect_eq "$(cat "$TMP/fullc.rc")" 0 "clear: $(cat "$TMP/fullc.err")"
		expect_contains "$(cat "$TMP/fullc.err")" "removing the parts' files first"
		expect_contains "$(cat "$TMP/fullc.after")" "entries: 0"
		# nothing set aside as damaged
		expect_not_contains "$(cat "$TMP/fullc.ls")" "damaged"
		;;
	esac
fi
end

begin "kill -9 during a job: no engine left, and the next run serves the part"
rm -f "$TMP/kill.count"
"$PARTSCTL" get -c "$TMP/unconfined.conf" "$CMDLIB" \
    "fake/box/seconds=30,size=3,counter=$(enc "$TMP/kill.count").stl" \
    -o "$TMP/k.stl" 2>/dev/null &
pid=$!
for i in $(seq 100); do [ -s "$TMP/kill.count" ] && break; sleep 0.1; done
kill -9 $pid
wait $pid 2>/dev/null
sleep 0.5
engine=$(head -1 "$TMP/kill.count")
if [ -e /proc/$engine ] && ! grep -q '^State:.*Z' /proc/$engine/status; then
	fail "engine $engine outlived partsctl"
fi
get "$CMDLIB" "fake/box/size=3,counter=$(enc "$TMP/kill.count").stl" -o "$TMP/k.stl"
expect_rc 0
expect_eq "$(stl_bbox "$TMP/k.stl")" "0.00 0.00 0.00 3.00 3.00 3.00"
end

begin "a module edited while its part is made: the part of the edited one, nothing under the old key"
# the test engine names the part after its script's first line, read at
# the end of its second of work; the script is edited within that second
rm -rf "$TMP/editlib"
cp -r "$CMDLIB" "$TMP/editlib"
script="$TMP/editlib/fake/fake/box.txt"
echo "box script A" >"$script"
( sleep 0.4; echo "box script B" >"$script" ) &
get "$TMP/editlib" "fake/box/mode=script,seconds=1,size=5.stl" -o "$TMP/edit.stl"
wait
expect_rc 0
expect_contains "$err" "box.txt changed while the part was being made; nothing was stored; planned again"
expect_eq "$(head -c 40 "$TMP/edit.stl" | tr -d '\0')" "fake-engine box script B"
# back to A: A's key must give a part made from A (nothing was stored
# under it from B, nor a failure remembered)
echo "box script A" >"$script"
get "$TMP/editlib" "fake/box/mode=script,seconds=1,size=5.stl" -o "$TMP/edit.stl"
expect_rc 0
expect_eq "$(head -c 40 "$TMP/edit.stl" | tr -d '\0')" "fake-engine box script A"
end

begin "a module swapped for a link out of the library while its part is made is refused"
echo "secret line" >"$TMP/secret.txt"
rm -rf "$TMP/linklib" "$TMP/link.stl"
cp -r "$CMDLIB" "$TMP/linklib"
script="$TMP/linklib/fake/fake/box.txt"
( sleep 0.4; ln -s "$TMP/secret.txt" "$script.new" && mv -T "$script.new" "$script" ) &
get "$TMP/linklib" "fake/box/mode=script,seconds=1,size=6.stl" -o "$TMP/link.stl"
wait
expect_rc 3
expect_contains "$err" "box.txt leads outside the library now"
expect_not_contains "$err" "secret line"
[ -e "$TMP/link.stl" ] && fail "a part was written"
end

begin "a new run removes the scratch space of a killed one"
get "$CMDLIB" fake/box/size=4.stl -o "$TMP/x"
n=$(find "$TMP/cache/tmp" -maxdepth 1 -name 'proc-*' | wc -l)
expect_eq "$n" "0" "scratch directories left"
end

begin "the cache persists across runs and cache stats counts it"
run "$PARTSCTL" cache stats --json
expect_rc 0
entries=$(json_get "$out" 'd["entries"]')
[ "$entries" -ge 5 ] || fail "only $entries entries"
run "$PARTSCTL" cache stats
expect_contains "$out" "entries: $entries"
end

begin "cache verify removes a damaged part and get makes it again"
blob=$(ls "$TMP"/cache/blobs/*/*.stl | head -1)
printf 'X' | dd of="$blob" bs=1 seek=100 conv=notrunc 2>/dev/null
run "$PARTSCTL" cache verify --json
expect_rc 0
expect_eq "$(json_get "$out" 'd["removed"]')" "1"
[ -e "$blob" ] && fail "the damaged blob is still there"
end

begin "eviction keeps the cache, parts and index, under its size limit"
cat >"$TMP/small.conf" <<EOF
executors:
  commands:
    - name: fake
      argv: [$FAKE, "{params}", "{output}", "{format}", "{script}"]
      formats: [stl, step]
cache:
  dir: $TMP/small-cache
  max-size: 80K
EOF
# the limit holds the index files (some 50 KiB) and the parts, each a
# 4 KiB block of the file system: 20 parts cannot all stay
for s in $(seq 1 20); do
	get -c "$TMP/small.conf" "$CMDLIB" "fake/box/size=$s.stl" -o "$TMP/e$s"
	expect_rc 0
done
run "$PARTSCTL" cache -c "$TMP/small.conf" stats --json
[ "$(json_get "$out" 'd["bytes"] + d["index_bytes"] <= d["max_bytes"]')" = true ] ||
    fail "over the limit: $out"
[ "$(json_get "$out" '1 <= d["entries"] < 20')" = true ] ||
    fail "nothing evicted, or everything: $out"
end

begin "cache prune and clear"
run "$PARTSCTL" cache prune --json
expect_rc 0
run "$PARTSCTL" cache clear --json
expect_rc 0
run "$PARTSCTL" cache stats --json
expect_eq "$(json_get "$out" '[d["entries"], d["bytes"]]')" '[0, 0]'
end

begin "values are data for OpenSCAD, FreeCAD and command engines"
if need openscad && need freecad; then
	inj='x"); cube(1000); // $(touch '"$TMP"'/pwned) '"'"'; import os'
	lib="$TMP/injlib"
	mkdir -p "$lib/data" "$lib/openscad/inj" "$lib/freecad/inj"
	cat >"$lib/data/inj.blt" <<'EOF'
id: inj
author: t <t@example.org>
license: MIT <x>
blt-version: 0.4
classes:
  - id: word
    names: {name: Word, labeling: 'Word %(text)s'}
    parameters:
      free: [text]
      types: {text: String}
    source: test
EOF
	cat >"$lib/openscad/inj/inj.base" <<'EOF'
- {filename: word.scad, type: module, author: t <t@example.org>, license: MIT <x>,
   modules: [{name: word, arguments: [text], classids: [word]}]}
EOF
	echo 'module word(text) { cube([len(text), 1, 1]); }' >"$lib/openscad/inj/word.scad"
	cat >"$lib/freecad/inj/inj.base" <<'EOF'
- {filename: word.py, type: function, author: t <t@example.org>, license: MIT <x>,
   functions: [{name: word, classids: [word]}]}
EOF
	cat >"$lib/freecad/inj/word.py" <<'EOF'
import Part
def word(params, document):
    f = document.addObject("Part::Feature", "word")
    f.Shape = Part.makeBox(len(params["text"]), 1, 1)
    f.Label = params["name"]
EOF
	e=$(enc "$inj")
	len=$(printf '%s' "$inj" | wc -c)
	get "$lib" "inj/word/text=$e.stl" -o "$TMP/inj.stl"
	expect_rc 0
	expect_eq "$(stl_bbox "$TMP/inj.stl")" "0.00 0.00 0.00 $len.00 1.00 1.00" "OpenSCAD bbox"
	get "$lib" "inj/word/text=$e.step" -o "$TMP/inj.step"
	expect_rc 0
	g=$(geom "$TMP/inj.step")
	expect_eq "$(json_get "$g" 'round(d["bbox"][3] - d["bbox"][0], 2)')" "$len.0" "FreeCAD bbox"
	get "$CMDLIB" "fake/box/note=$e.stl" -o "$TMP/inj2.stl"
	expect_rc 0
	expect_eq "$(head -c 80 "$TMP/inj2.stl" | tr -d '\0')" "fake-engine $(printf '%s' "$inj" | head -c 67)" "command STL header"
	get "$CMDLIB" "fake/box/mode=fail,note=$e.stl" -o "$TMP/x"
	expect_not_contains "$(printf '%s' "$err" | grep '^command:')" "cube(1000)" "the command line"
	[ -e "$TMP/pwned" ] && fail "a value was run as code"
fi
end

begin "get --help and the man page describe get and cache"
run "$PARTSCTL" get --help
expect_rc 0
expect_contains "$out" "usage: partsctl get"
run "$PARTSCTL" cache --help
expect_contains "$out" "verify"
man=$(sed 's/\\-/-/g' "$top_srcdir/man/partsctl.1")
for w in "get " "--output" "--timeout" "cache " verify prune; do
	expect_contains "$man" "$w" "man page"
done
end

done_testing
