#!/bin/bash
# memo.sh -- the resolution memo of partsctl get: a part made before is
# served without loading the library, and never once anything it came from
# has changed (library files, the engine's script, the configuration, PATH).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
plan 14

export PARTSFS_DATADIR="$top_srcdir/src/libexec"
export PARTSFS_LIBEXECDIR="$top_builddir"
export HOME="$TMP/home"
export PARTSFS_DEBUG=1
mkdir -p "$HOME"
FAKE="$top_builddir/tests/fake-engine"
LIB="$TMP/lib"
cp -R "$top_srcdir/tests/data/cmdlib" "$LIB"

# (every engine run is counted in a file of the test's, which only an
# engine outside the sandbox can write: the sandbox is off here)
conf() {  # conf FILE [PROGRAM-TO-RUN-THE-ENGINE-WITH]
	cat >"$1" <<EOF
executors:
  commands:
    - name: fake
      argv: [${2:+$2, }$FAKE, "{params}", "{output}", "{format}", "{script}"]
      formats: [stl, step]
jobs:
  sandbox: off
  timeout: ${TIMEOUT:-20}
cache:
  dir: $TMP/cache
EOF
}
conf "$TMP/partsfs.conf"
export PARTSFS_CONFIG="$TMP/partsfs.conf"

# Files changed in the last 2 seconds are never vouched for: let the
# library (just copied or edited) age past that.
settle() { sleep 2.2; }

# a part whose every engine run appends a line to $TMP/runs
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
PART="fake/box/size=7,counter=$(enc "$TMP/runs").step"
runs() { if [ -f "$TMP/runs" ]; then wc -l <"$TMP/runs"; else echo 0; fi; }
get() { run "$PARTSCTL" get "$LIB" "$PART" -o "$TMP/part.step" "$@"; }
MEMO="(resolution memo)"
FAST="(resolution memo) without the index"
CACHE="$TMP/cache"
# set the time the memo file of $PART says it was written: SECONDS ago
memo_age() {
	python3 - "$CACHE/memo" "$1" <<'PY'
import json, os, sys, time
d, age = sys.argv[1], float(sys.argv[2])
for n in os.listdir(d):
    if n.startswith("part-"):
        p = os.path.join(d, n)
        with open(p) as f:
            j = json.load(f)
        j["used"] = time.time() - age
        with open(p, "w") as f:
            json.dump(j, f)
PY
}
# the index's "last used" time of every part, as seconds ago
used_ago() {
	python3 - "$CACHE/index.sqlite" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
print(" ".join("%d" % (time.time() - u) for (u,) in
               db.execute("SELECT used FROM parts")))
PY
}

begin "a part made before is served without loading the library"
settle
get
expect_rc 0
expect_eq "$(runs)" 1 "engine runs"
cp "$TMP/part.step" "$TMP/first.step"
expect_not_contains "$err" "$MEMO" "the first get's stderr"
get
expect_rc 0
expect_contains "$err" "$MEMO" "the second get's stderr"
expect_eq "$(runs)" 1 "engine runs"
cmp -s "$TMP/part.step" "$TMP/first.step" || fail "the served part differs"
# and standard output gets the same bytes
"$PARTSCTL" get "$LIB" "$PART" >"$TMP/stdout.step" 2>/dev/null
cmp -s "$TMP/stdout.step" "$TMP/first.step" || fail "standard output differs"
end

begin "a get the memo files answer does not load sqlite nor HTTP libraries; one that asks the index loads sqlite"
# ld.so says what it loads (LD_DEBUG=libs), dlopen included
run env LD_DEBUG=libs "$PARTSCTL" get "$LIB" "$PART" -o "$TMP/part.step"
expect_rc 0
expect_contains "$err" "$FAST" "the get's stderr"
expect_not_contains "$err" "libsqlite3" "what the get loaded"
# nor the HTTP libraries partsctl serve and a library's URL load
# (compat/lazy-lib.h: 36 libraries with theirs)
expect_not_contains "$err" "libcurl" "what the get loaded"
expect_not_contains "$err" "libmicrohttpd" "what the get loaded"
expect_not_contains "$err" "libgnutls" "what the get loaded"
memo_age 120
run env LD_DEBUG=libs "$PARTSCTL" get "$LIB" "$PART" -o "$TMP/part.step"
expect_rc 0
expect_not_contains "$err" "$FAST" "a get after a stale memo file"
expect_contains "$err" "calling init: " "what ld.so said"
expect_contains "$err" "libsqlite3.so" "what the index's get loaded"
expect_eq "$(runs)" 1 "engine runs"
cmp -s "$TMP/part.step" "$TMP/first.step" || fail "the served part differs"
end

begin "an edit to the class in the .blt is seen at once"
sed -i 's/labeling: Test box/labeling: Test crate/' "$LIB/data/fake.blt"
get
expect_rc 0
expect_not_contains "$err" "$MEMO"
expect_contains "$(cat "$TMP/part.step")" "PRODUCT('Test crate 7 '"
expect_eq "$(runs)" 2 "engine runs"
end

begin "what changed in the last 2 seconds is not remembered"
get
expect_rc 0
expect_not_contains "$err" "$MEMO" "right after the edit"
settle
get
expect_not_contains "$err" "$MEMO" "the get that remembers"
get
expect_contains "$err" "$MEMO" "once remembered"
expect_contains "$(cat "$TMP/part.step")" "PRODUCT('Test crate 7 '"
expect_eq "$(runs)" 2 "engine runs"
end

begin "an edit to the engine's script makes the part again"
printf 'a changed script\n' >>"$LIB/fake/fake/box.txt"
get
expect_rc 0
expect_not_contains "$err" "$MEMO"
expect_eq "$(runs)" 3 "engine runs"
end

begin "a new file in data/ or a base directory is noticed"
settle
get
get
expect_contains "$err" "$MEMO" "before"
cp "$LIB/fake/fake/box.txt" "$LIB/fake/fake/other.txt"
get
expect_rc 0
expect_not_contains "$err" "$MEMO" "after a new sibling of the script"
expect_eq "$(runs)" 4 "engine runs (a sibling is part of the key)"
settle
get
get
expect_contains "$err" "$MEMO" "again"
printf -- '---\nid: broken\n' >"$LIB/data/broken.blt"
get
expect_rc 0
expect_not_contains "$err" "$MEMO" "after a new collection"
expect_eq "$(runs)" 4 "engine runs (same key)"
end

begin "a configuration or PATH that changes a key is not served another's"
settle
get
get
expect_contains "$err" "$MEMO" "before"
# another timeout changes no key: still remembered
TIMEOUT=30 conf "$TMP/slow.conf"
get -c "$TMP/slow.conf"
expect_contains "$err" "$MEMO" "with another timeout"
# another engine command line is another key
conf "$TMP/other.conf" /usr/bin/env
get -c "$TMP/other.conf"
expect_rc 0
expect_not_contains "$err" "$MEMO" "with another command line"
expect_eq "$(runs)" 5 "engine runs"
PATH="$TMP:$PATH" get
expect_rc 0
expect_not_contains "$err" "$MEMO" "with another PATH"
expect_eq "$(runs)" 5 "engine runs (same key)"
end

begin "a remembered part gone from the cache is made again"
get
expect_contains "$err" "$MEMO" "before"
run "$PARTSCTL" cache clear
expect_rc 0
get
expect_rc 0
expect_not_contains "$err" "$MEMO" "after cache clear"
expect_eq "$(runs)" 6 "engine runs"
cmp -s "$TMP/part.step" "$TMP/first.step" && fail "the label edit is lost"
expect_contains "$(cat "$TMP/part.step")" "PRODUCT('Test crate 7 '"
end

begin "a part of a library moved elsewhere is not served from the old one"
settle
get
get
expect_contains "$err" "$MEMO" "before"
mv "$LIB" "$TMP/moved"
mkdir -p "$LIB/data"
run "$PARTSCTL" get "$LIB" "$PART" -o "$TMP/part.step"
expect_rc 1
expect_not_contains "$err" "$MEMO" "with the library gone"
rm -rf "$LIB"
mv "$TMP/moved" "$LIB"
end

begin "a part got in the last minute is served without opening the index"
settle
get
get
get
expect_contains "$err" "$FAST" "the third get"
expect_contains "$(cat "$TMP/part.step")" "PRODUCT('Test crate 7 '"
# an index that cannot be read is not even looked at
cp "$CACHE/index.sqlite" "$TMP/index.saved"
head -c 8192 /dev/urandom >"$CACHE/index.sqlite"
get
expect_rc 0
expect_contains "$err" "$FAST" "with a garbled index"
ls "$CACHE" | grep -q damaged && fail "the index was looked at"
cp "$TMP/index.saved" "$CACHE/index.sqlite"
expect_contains "$(cat "$TMP/part.step")" "PRODUCT('Test crate 7 '"
end

begin "after a minute the index marks the part used and the memo file is renewed"
get
expect_contains "$err" "$FAST" "before"
python3 - "$CACHE/index.sqlite" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE parts SET used = ?", (time.time() - 3600,))
db.commit()
PY
memo_age 90
get
expect_rc 0
expect_contains "$err" "$MEMO" "after a minute"
expect_not_contains "$err" "$FAST" "after a minute"
for ago in $(used_ago); do
	[ "$ago" -lt 60 ] || fail "a part last used $ago s ago"
done
get
expect_contains "$err" "$FAST" "the next get"
expect_eq "$(runs)" 6 "engine runs"
end

begin "a part removed from the cache behind the memo file is made again"
get
expect_contains "$err" "$FAST" "before"
rm -f "$CACHE"/blobs/*/*
get
expect_rc 0
expect_not_contains "$err" "$MEMO" "with the part gone"
expect_eq "$(runs)" 7 "engine runs"
expect_contains "$(cat "$TMP/part.step")" "PRODUCT('Test crate 7 '"
get
get
expect_contains "$err" "$FAST" "made again"
run "$PARTSCTL" cache clear
expect_eq "$(ls "$CACHE/memo" | wc -l)" 0 "memo files after cache clear"
get
expect_not_contains "$err" "$MEMO" "after cache clear"
expect_eq "$(runs)" 8 "engine runs"
end

begin "memo files past a minute are swept out, at most once a minute"
get
get
expect_contains "$err" "$FAST" "before"
old_part=$(ls "$CACHE/memo" | grep '^part-')
lib_file=$(ls "$CACHE/memo" | grep '^lib-')
[ -n "$old_part" ] && [ -n "$lib_file" ] || fail "memo files: $(ls "$CACHE/memo")"
: >"$CACHE/memo/.new-crashed"
touch -d '3 minutes ago' "$CACHE/memo/$old_part" "$CACHE/memo/.new-crashed" \
    "$CACHE/memo/$lib_file" "$CACHE/memo/.swept"
# another part's first get writes its memo file, and sweeps
run "$PARTSCTL" get "$LIB" fake/box/size=8.step -o "$TMP/other.step"
expect_rc 0
left=$(ls -A "$CACHE/memo")
expect_not_contains "$left" "$old_part" "the aged part file"
expect_not_contains "$left" ".new-crashed" "a half-written file"
expect_contains "$left" "$lib_file" "the library's file"
expect_eq "$(ls "$CACHE/memo" | grep -c '^part-')" 1 "part files"
# within the minute no sweep again: an aged file stays
: >"$CACHE/memo/part-0000.json"
touch -d '3 minutes ago' "$CACHE/memo/part-0000.json"
run "$PARTSCTL" get "$LIB" fake/box/size=9.step -o "$TMP/other.step"
expect_rc 0
expect_contains "$(ls "$CACHE/memo")" "part-0000.json" "swept again at once"
# the swept part goes through the index and is vouched for again
get
expect_contains "$err" "$MEMO" "after the sweep"
expect_not_contains "$err" "$FAST" "after the sweep"
get
expect_contains "$err" "$FAST" "the next get"
end

begin "what a path resolves to is remembered while its engine makes the part"
# the index's part memos, counted while a get waits for a slow engine
part_memos() {
	python3 - "$CACHE/index.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=5)
print(db.execute("SELECT count(*) FROM memo WHERE name LIKE "
                 "'%resolve-part:%'").fetchone()[0])
PY
}
settle
before=$(part_memos)
"$PARTSCTL" get "$LIB" "fake/box/size=11,seconds=3,counter=$(enc "$TMP/slow").step" \
    -o "$TMP/slow.step" 2>/dev/null &
pid=$!
during=$before
for i in $(seq 50); do
	[ -s "$TMP/slow" ] && during=$(part_memos) && [ "$during" -gt "$before" ] && break
	sleep 0.05
done
kill -0 $pid 2>/dev/null || fail "the get ended before the memo was seen"
expect_eq "$during" "$((before + 1))" "part memos while the engine runs"
wait $pid
expect_eq "$?" 0 "the get"
# the next get of the path is answered by the memo
run "$PARTSCTL" get "$LIB" "fake/box/size=11,seconds=3,counter=$(enc "$TMP/slow").step" \
    -o "$TMP/slow2.step"
expect_contains "$err" "$MEMO" "the next get"
expect_eq "$(wc -l <"$TMP/slow")" 1 "engine runs"
end

done_testing
