#!/bin/bash
# partsctl.sh -- partsctl from the command line: exit codes, output
# formats, help, and the bundled library's main job.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
plan 21

begin "check of the bundled library exits 0"
run "$PARTSCTL" check "$LIBRARY"
expect_rc 0
expect_contains "$out" "0 errors"
end

begin "check of the corpus exits 0 with warnings on stderr"
if need corpus; then
	run "$PARTSCTL" check "$CORPUS"
	expect_rc 0
	expect_contains "$out" "18 collections, 82 classes, 0 errors"
	expect_contains "$err" "data/hex.blt:240:11: warning: duplicate key 'nice'"
fi
end

begin "check of a library with errors exits 1 and lists every error"
mkdir -p "$TMP/bad/data"
printf 'id: bad\nauthor: a <b>\nlicense: MIT <x>\nblt-version: 0.4\nclasses:\n  - id: x.y\n    source: s\n  - id: z\n' >"$TMP/bad/data/bad.blt"
run "$PARTSCTL" check "$TMP/bad"
expect_rc 1
expect_contains "$err" "data/bad.blt:6:9: error: class id 'x.y'"
expect_contains "$err" "data/bad.blt:8:5: error: class: missing the mandatory key 'source'"
expect_contains "$out" "2 errors"
end

begin "check reports a class whose listed parts cannot be made"
# a literal Table Index value that is not a key of its table loads, but
# no part of the class can be collected
mkdir -p "$TMP/unmade/data"
cat >"$TMP/unmade/data/u.blt" <<END_BLT
id: u
author: a <b@c>
license: MIT <x>
blt-version: 0.4
classes:
  - id: k
    source: s
    parameters:
      literal: {size: M99}
      types: {size: Table Index, d: Number}
      tables: {index: size, columns: [d], data: {M1: [1], M2: [2]}}
END_BLT
run "$PARTSCTL" check "$TMP/unmade"
expect_rc 1
expect_contains "$err" "data/u.blt:6:5: error: class 'k': a part it lists cannot be made: size=M99: no row for it in the table"
expect_contains "$out" "1 errors"
end

begin "check --json reports counts and every diagnostic"
run "$PARTSCTL" check --json "$TMP/bad"
expect_rc 1
expect_eq "$(json_get "$out" 'd["valid"], d["errors"], len(d["diagnostics"]), d["diagnostics"][0]["line"]')" '[false, 2, 2, 6]'
end

begin "check -q leaves out warnings"
if need corpus; then
	run "$PARTSCTL" check -q "$CORPUS"
	expect_rc 0
	expect_not_contains "$err" "warning:"
fi
end

begin "check of a directory that is not a library fails clearly"
run "$PARTSCTL" check "$TMP"
expect_rc 1
expect_contains "$err" "is not a BOLTS library: it has no data/ directory"
end

begin "params prints the resolved set of the mission example"
run "$PARTSCTL" params "$LIBRARY" bolts/hex_screw/M8/length=20.json
expect_rc 0
expect_eq "$(json_get "$out" '[d["params"]["size"], d["params"]["length"], d["params"]["s"], d["params"]["k"]]')" '["M8", 20, 13, 5.3]'
end

begin "params takes name=value for a class and defaults the rest"
if need corpus; then
	run "$PARTSCTL" params "$CORPUS" hex/hexscrew1 key=M8 "thread_type=fine I"
	expect_rc 0
	expect_eq "$(json_get "$out" '[d["params"]["pitch"], d["params"]["l"], d["free"]["thread_type"]]')" '[1, 20, "fine I"]'
fi
end

begin "params writes each number in its own shortest form"
# one length that needs 17 digits does not give every number 17
run "$PARTSCTL" params "$LIBRARY" bolts/hex_screw/M3/length=0.30000000000000004.json
expect_rc 0
expect_contains "$out" '"length": 0.30000000000000004'
expect_contains "$out" '"e": 6.01'
expect_contains "$out" '"pitch": 0.5'
end

begin "params gives the unit of each dimension and the values an engine gets"
run "$PARTSCTL" params "$LIBRARY" bolts/hex_screw size=M10 length=35
expect_rc 0
expect_eq "$(json_get "$out" '[d["units"]["length"], d["units"]["pitch"], "size" in d["units"], d["given"] == d["params"], d["given"]["length"]]')" '["mm", "mm", false, true, 35]'
end

begin "params gives an inch class's values as named and in mm as given"
if need corpus; then
	run "$PARTSCTL" params "$CORPUS" pipes/nominalpipesize l=20
	expect_rc 0
	expect_eq "$(json_get "$out" '[d["params"]["l"], d["units"]["l"], d["given"]["l"], d["free"]["l"], d["params"]["od"], d["given"]["od"]]')" '[20, "in", 508, 20, 0.84, 21.336]'
	run "$PARTSCTL" params "$CORPUS" "profile_i/ibeam_w_imp/W10X30/default.step"
	expect_rc 0
	expect_eq "$(json_get "$out" '[d["units"]["h"], d["given"]["h"], d["params"]["h"]]')" '["in", 266.7, 10.5]'
fi
end

begin "params names the engine of a class's model in its provenance"
run "$PARTSCTL" params "$LIBRARY" bolts/hex_screw
expect_rc 0
expect_eq "$(json_get "$out" '[d["format"], d["provenance"]["generator"]["executor"], d["provenance"]["generator"]["function"]]')" '["json", "freecad", "hex_screw"]'
end

begin "params writes cells without a value as null"
if need corpus; then
	run "$PARTSCTL" params "$CORPUS" hex/hexscrew2 key=M1.6
	expect_rc 0
	expect_eq "$(json_get "$out" 'd["params"]["h"]')" 'null'
fi
end

begin "params follows by-standard links"
if need corpus; then
	run "$PARTSCTL" params "$CORPUS" by-standard/DIN933 key=M10
	expect_rc 0
	expect_eq "$(json_get "$out" 'd["class"]')" '"hexscrew1"'
fi
end

begin "params refuses a wrong value naming parameter, value and choices"
if need corpus; then
	run "$PARTSCTL" params "$CORPUS" hex/hexscrew2 key=M7.5
	expect_rc 1
	expect_contains "$err" "key=M7.5: not a choice of key; choose one of M1.6, M2, M2.5"
	run "$PARTSCTL" params "$CORPUS" hex/hexscrew2 l=-3
	expect_rc 1
	expect_contains "$err" "l=-3: a length must be a number >= 0"
	run "$PARTSCTL" params "$CORPUS" hex/hexscrew2 colour=red
	expect_rc 1
	expect_contains "$err" "its free parameters are: key, l"
fi
end

begin "ls lists a directory in the mount's order"
if need corpus; then
	run "$PARTSCTL" ls "$CORPUS" hex/hexscrew1/M8
	expect_rc 0
	expect_eq "$out" "coarse
fine I
fine II
fine III
fine IV"
fi
end

begin "ls -l marks directories, files and links"
if need corpus; then
	run "$PARTSCTL" ls -l "$CORPUS" by-standard
	expect_contains "$out" "l DIN933 -> ../hex/hexscrew1"
	run "$PARTSCTL" ls -l "$CORPUS"
	expect_contains "$out" "d hex"
	expect_contains "$out" "- hex.json"
fi
end

begin "ls of an invalid path exits 1 with the reason"
if need corpus; then
	run "$PARTSCTL" ls "$CORPUS" hex/hexscrew1/M7.5
	expect_rc 1
	expect_contains "$err" "key=M7.5: not a choice of key"
fi
end

begin "every command has --help and a bad option is a usage error"
for c in check params ls; do
	run "$PARTSCTL" "$c" --help
	expect_rc 0
	expect_contains "$out" "usage: partsctl $c"
	run "$PARTSCTL" "$c" --bogus
	expect_rc 2
done
run "$PARTSCTL" --help
expect_rc 0
run "$PARTSCTL" frobnicate
expect_rc 2
end

begin "the man page documents every command and option"
man=$(sed 's/\\-/-/g' "$top_srcdir/man/partsctl.1")
for word in check params ls --json --quiet --long "EXIT STATUS"; do
	expect_contains "$man" "$word" "man page"
done
end

done_testing
