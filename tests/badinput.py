#!/usr/bin/env python3
# badinput.py -- partsfs mounted for real against hostile input: names
# that are too long, escape, repeat or hold odd numbers and bytes;
# libraries that nest, explode, are huge or point outside themselves; and
# parameter values meant to break out of the OpenSCAD, FreeCAD and command
# executors.  TAP output; needs root.  A test is skipped when what it
# needs is missing: /dev/fuse, OpenSCAD or FreeCAD (need() in
# mountlib.py).

import ctypes
import errno
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mountlib import *  # noqa: E402,F401,F403

in_private_namespace(__file__)

CMDLIB = os.path.join(TOP_SRC, "tests", "data", "cmdlib")


def enc(value):
    """A value percent-encoded for a file name."""
    return urllib.parse.quote(value, safe="")


def quiet(m):
    """Nothing above started a job, and the daemon is alive."""
    check(m.proc.poll() is None, "partsfs exited: " + m.log()[-2000:])
    eq(m.stats()["jobs_run"], 0, "jobs run")


def run_measured(args, timeout=60):
    """Run a command: (status, stdout, stderr, max RSS in KiB, seconds)."""
    with open(os.path.join(TMP, "run.out"), "w+") as out, \
            open(os.path.join(TMP, "run.err"), "w+") as err:
        t0 = time.monotonic()
        p = subprocess.Popen(args, env=ENV, stdout=out, stderr=err)
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.monotonic() > t0 + timeout:
                p.kill()
                os.wait4(p.pid, 0)
                raise Failed("%s took more than %d s" % (args[:3], timeout))
            time.sleep(0.02)
        took = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read(), err.read(), ru.ru_maxrss, took


class Opens:
    """inotify on files outside the library: which of them were opened or
    read since the watch began (by any process: the tests' own files,
    which nothing else touches)."""
    IN_ACCESS, IN_OPEN = 0x1, 0x20

    def __init__(self, paths):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.names = {}
        for p in paths:
            wd = self.libc.inotify_add_watch(self.fd, os.fsencode(p),
                                             self.IN_OPEN | self.IN_ACCESS)
            if wd < 0:
                raise OSError(ctypes.get_errno(), p)
            self.names[wd] = p

    def opened(self):
        seen = set()
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            off = 0
            while off < len(buf):
                wd, mask, cookie, n = struct.unpack_from("iIII", buf, off)
                seen.add(self.names.get(wd, wd))
                off += 16 + n
        return sorted(seen)

    def close(self):
        os.close(self.fd)


# --- names -------------------------------------------------------------------

NAMES = None
NAMES_LIB = os.path.join(TMP, "libnames")

# A class with every kind of parameter: a Table Index and a Bool make the
# directory levels, the others go in the file name.
ALL_BLT = """id: fake
author: t <t@example.org>
license: MIT <x>
blt-version: 0.4
classes:
  - id: all
    names: {name: All, labeling: 'All %(key)s %(len)s'}
    parameters:
      free: [key, flag, len, num, ang, text]
      defaults: {key: M1, flag: false, len: 1, num: 1, ang: 0, text: x}
      types: {key: Table Index, d: Length (mm), flag: Bool, len: Length (mm),
              num: Number, ang: Angle (deg), text: String}
      tables: {index: key, columns: [d], data: {M1: [1], M2: [2]}}
    source: test
"""


def names_mount():
    global NAMES
    need("fuse")
    if NAMES is None:
        lib = NAMES_LIB
        os.makedirs(os.path.join(lib, "data"))
        os.makedirs(os.path.join(lib, "fake", "fake"))
        with open(os.path.join(lib, "data", "fake.blt"), "w") as f:
            f.write(ALL_BLT)
        with open(os.path.join(lib, "fake", "fake", "fake.base"), "w") as f:
            f.write("- {filename: all.txt, type: script, author: t <t@x>, "
                    "license: MIT <x>, classids: [all]}\n")
        with open(os.path.join(lib, "fake", "fake", "all.txt"), "w") as f:
            f.write("all\n")
        NAMES = Mount(lib)
        NAMES.leaf = NAMES.path("fake/all/M1/false")
    return NAMES


def absent(m, *names, allow=("ENOENT",)):
    """Each name in the leaf directory is not there (one of `allow`)."""
    for n in names:
        p = os.path.join(m.leaf, n) if isinstance(n, str) else \
            os.fsencode(m.leaf) + b"/" + n
        got = errno_of(os.stat, p)
        check(got in allow, "%r: %s, want %s" % (n[:80], got, allow))


def same(m, name, canonical):
    """`name` resolves, to the same part as `canonical` (one inode)."""
    a = os.stat(os.path.join(m.leaf, name))
    b = os.stat(os.path.join(m.leaf, canonical))
    check(a.st_ino == b.st_ino, "%s and %s are different parts" %
          (name[:80], canonical[:80]))


def absent_or_same(m, name, canonical):
    """`name` is refused, or is only another spelling of `canonical`."""
    if errno_of(os.stat, os.path.join(m.leaf, name)) != "ENOENT":
        same(m, name, canonical)


def params_of(m, name):
    return json.loads(os.getxattr(os.path.join(m.leaf, name),
                                  "user.partsfs.params"))


@test
def names_of_255_bytes_and_longer_are_refused_without_a_crash():
    m = names_mount()
    for n in (255, 256, 1024):
        absent(m, "a" * n, "len=" + "1" * (n - 8) + ".stl",
               allow=("ENOENT", "ENAMETOOLONG"))
        got = errno_of(os.stat, m.path("fake/all", "M" * n))
        check(got in ("ENOENT", "ENAMETOOLONG"), "level of %d: %s" %
              (n, got))
    for n in (1025, 4096, 4097, 5000, 70000):
        absent(m, "a" * n, allow=("ENOENT", "ENAMETOOLONG"))
        # a value in a name the kernel lets through and partsfs takes
        # (at most 255 bytes, NAME_MAX) is a value; a longer one is
        # refused
        name = "text=" + "y" * n + ".stl"
        got = errno_of(os.stat, os.path.join(m.leaf, name))
        if got is None and len(name) <= 255:
            eq(params_of(m, name)["text"], "y" * n, "the value")
        else:
            check(got in ("ENOENT", "ENAMETOOLONG"), "text of %d: %s" %
                  (n, got))
    # a long value of a String is still a value
    name = "text=" + "y" * 245 + ".stl"
    check(os.stat(os.path.join(m.leaf, name)).st_size == 0, "placeholder")
    eq(params_of(m, name)["text"], "y" * 245, "the value")
    # partsctl has no kernel in front of it
    for n in (4097, 100000):
        p = subprocess.run([PARTSCTL, "params", NAMES_LIB,
                            "fake/all/M1/false/text=" + "y" * n + ".stl"],
                           env=ENV, capture_output=True, text=True)
        eq(p.returncode, 1, "partsctl params with a name of %d: %s" %
           (n, p.stderr[:200]))
        check("too long" in p.stderr, p.stderr[:200])
    quiet(m)


@test
def dot_and_dotdot_are_never_parts_and_stay_values():
    m = names_mount()
    absent(m, ".stl", "..stl", "...stl", "%2E.stl", "%2E%2E.stl")
    for level in ("%2E", "%2E%2E", "%2e%2e", "%2E%2E%2F"):
        eq(errno_of(os.stat, m.path("fake/all", level)), "ENOENT", level)
    # the kernel resolves dot and dot-dot itself
    eq(os.stat(m.path("fake/all/M1/..")).st_ino,
       os.stat(m.path("fake/all")).st_ino, "..")
    # as values they are text
    eq(params_of(m, "text=..stl")["text"], ".", "text=.")
    eq(params_of(m, "text=...stl")["text"], "..", "text=..")
    eq(params_of(m, "text=%2E%2E%2F%2E%2E.stl")["text"], "../..",
       "text=../..")
    quiet(m)


@test
def stray_percent_escapes_are_enoent():
    m = names_mount()
    absent(m, "text=%.stl", "text=a%.stl", "text=%4.stl", "text=%zz.stl",
           "text=%G1.stl", "text=%00.stl", "text=a%00b.stl", "text=%%.stl",
           "len=%31%.stl", "%6Cen=1.stl", "text=%-1.stl", "text=%+1.stl")
    for level in ("%", "M%", "%4", "%zz", "M%00", "%00"):
        eq(errno_of(os.stat, m.path("fake/all", level)), "ENOENT", level)
    # a needless escape is only another spelling
    eq(os.stat(m.path("fake/all/%4D1")).st_ino,
       os.stat(m.path("fake/all/M1")).st_ino, "%4D1")
    same(m, "text=%41.stl", "text=A.stl")
    same(m, "len=%32.stl", "len=2.stl")
    quiet(m)


@test
def invalid_utf8_in_a_value_or_name_is_enoent():
    m = names_mount()
    bad = [b"\xff", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80",
           b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"a\x80", b"\xc3"]
    absent(m, *[b"text=" + b + b".stl" for b in bad])
    absent(m, *[b"text=" + urllib.parse.quote_from_bytes(b).encode() +
                b".stl" for b in bad])
    absent(m, b"\xff=1.stl", b"len\xff=1.stl", b"len=1\xff.stl")
    for b in bad:
        got = errno_of(os.stat, os.fsencode(m.path("fake/all")) + b"/M" + b)
        eq(got, "ENOENT", repr(b))
    # valid UTF-8 is a value
    eq(params_of(m, "text=\u00e9\u4e2d\U0001f600.stl")["text"],
       "\u00e9\u4e2d\U0001f600", "UTF-8 text")
    quiet(m)


@test
def repeated_unknown_and_malformed_pairs_are_enoent():
    m = names_mount()
    absent(m, "len=1,len=1.stl", "len=1,len=2.stl", "len=1,num=2,len=1.stl",
           "len=1,LEN=1.stl", "LEN=1.stl", "nope=1.stl", "key=M1.stl",
           "flag=true.stl", "d=1.stl", "len=1,,num=2.stl", ",len=1.stl",
           "=1.stl", "len.stl", "len=1=2.stl", "len==1.stl",
           "len=1;num=2.stl", "len=1 ,num=2.stl", "default,len=1.stl",
           "len=1.stl.stl", "len=1.STL", "len=1.exe", "len=1.", "len=1")
    absent_or_same(m, "len=1,.stl", "len=1.stl")
    # as many pairs as a name can hold
    absent(m, ",".join(["len=1"] * 170) + ".stl",
           ",".join("p%d=1" % i for i in range(150)) + ".stl",
           ",".join(["text=x"] * 140) + ".stl")
    # partsctl takes pairs without a kernel's limit: thousands of them
    base = [PARTSCTL, "params", NAMES_LIB, "fake/all"]
    for pairs, what in ((["len=1"] * 5000, "given twice"),
                        (["p%d=1" % i for i in range(5000)],
                         "not a free parameter"),
                        (["text=" + "x" * 100] * 3000, "given twice")):
        rc, out, err, rss, took = run_measured(base + pairs)
        eq(rc, 1, "partsctl params with %d pairs: %s" % (len(pairs),
                                                          err[:200]))
        check(what in err, err[:300])
    rc, out, err, rss, took = run_measured(
        base + ["len=%d" % 1] + ["text=x"] + ["num=%d" % i
                                             for i in range(2)])
    eq(rc, 1, "num twice: " + err[:200])
    quiet(m)


@test
def huge_or_odd_numbers_are_enoent_or_the_same_number():
    m = names_mount()
    absent(m, *["len=%s.stl" % v for v in (
        "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "infinity", "1e309",
        "-1e308", "-1", "-0.0001", "0x10", "0X10", "0b1", "0o7", "1_000",
        "1e", "e1", ".", "-", "+", "", "1e+", "1.2.3", "--1", "+-1", " 1",
        "1 ", "1%20", "%201", "\u0661", "\uff11", "1e99999999999999999999")])
    many = "len=%s.stl" % ("1" * 200)
    if errno_of(os.stat, os.path.join(m.leaf, many)) != "ENOENT":
        eq(params_of(m, many)["len"], float("1" * 200), "200 digits")
    absent_or_same(m, "len=0.%s.stl" % ("0" * 130), "len=0.stl")
    absent(m, *["num=%s.stl" % v for v in ("nan", "inf", "-inf", "1e309",
                                           "-1e309", "0x10")])
    absent(m, *["ang=%s.stl" % v for v in ("361", "-361", "360.0000001",
                                           "1e3", "nan", "inf")])
    for level in ("TRUE", "True", "1", "0", "yes", "on", "%74rue ", " true"):
        eq(errno_of(os.stat, m.path("fake/all/M1", level)), "ENOENT", level)
    # numbers that parse are the nearest double, however spelt
    same(m, "len=1e6.stl", "len=1E+6.stl")
    same(m, "len=1e6.stl", "len=1000000.000.stl")
    eq(params_of(m, "len=1e6.stl")["len"], 1e6, "1e6")
    eq(params_of(m, "num=-1e6.stl")["num"], -1e6, "-1e6")
    # beyond values.max (1e6 by default), whatever the spelling
    absent(m, "len=1e308.stl", "len=1E+308.stl", "num=-1e308.stl",
           "len=1000000.0000001.stl", "num=1e7.stl", "num=-1000001.stl")
    same(m, "len=-0.stl", "len=0.stl")
    same(m, "len=+5.stl", "len=5.stl")
    same(m, "len=5..stl", "len=5.stl")
    same(m, "len=.5.stl", "len=0.5.stl")
    same(m, "len=0005.000.stl", "len=5.stl")
    same(m, "ang=-0.stl", "ang=0.stl")
    same(m, "ang=360.stl", "ang=3.6e2.stl")
    # below the smallest double: zero, or refused, but no other part
    absent_or_same(m, "len=1e-400.stl", "len=0.stl")
    quiet(m)


# --- hostile libraries -------------------------------------------------------

COLL_HEAD = ("id: %s\nauthor: t <t@example.org>\nlicense: MIT <x>\n"
             "blt-version: 0.4\n")


def outside(name, text=""):
    """A file outside every library of the tests."""
    d = os.path.join(TMP, "outside")
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(text)
    return p


def check_conf():
    """A configuration with the fake engine, for partsctl check to look at
    its scripts' database too."""
    conf = os.path.join(TMP, "check.conf")
    if not os.path.exists(conf):
        write_conf(conf, os.path.join(TMP, "check-cache"))
    return conf


def check_library(lib, errors, timeout=60):
    """partsctl check reports each of `errors` and exits 1, in bounded
    time and memory; the output."""
    ENV["PARTSFS_CONFIG"] = check_conf()
    try:
        rc, out, err, rss, took = run_measured([PARTSCTL, "check", lib],
                                               timeout)
    finally:
        del ENV["PARTSFS_CONFIG"]
    eq(rc, 1, "partsctl check's exit status (stderr: %s)" % err[:500])
    for e in errors:
        check(e in err, "%r not in partsctl check's report:\n%s" %
              (e, err[:3000]))
    check(rss < 256 * 1024, "partsctl check used %d MiB" % (rss // 1024))
    return err


def serves_the_rest(lib, absent_paths=(), timeout=10):
    """The library mounts, its valid class makes a part, the `absent_paths`
    are not there (or fail) and the daemon stays up."""
    t0 = time.monotonic()
    m = Mount(lib)
    try:
        check(time.monotonic() - t0 < timeout, "mounting took %.1f s" %
              (time.monotonic() - t0))
        check_box(read_within(m, m.path("fake/rod/size=2.stl")), 2)
        for p in absent_paths:
            got = errno_of(read, m.path(p))
            check(got in ("ENOENT", "EIO"), "%s: %s" % (p, got))
        check(m.proc.poll() is None, "partsfs exited")
        os.listdir(m.path())
    finally:
        m.unmount()


def hostile(name):
    return fake_library(os.path.join(TMP, "lib-" + name))


def hostile_base(name, db, entry):
    """hostile(name) with a database directory <db>/fake whose .base file
    has the one element `entry` (the inside of a flow mapping); the
    library and that directory."""
    lib = hostile(name)
    d = os.path.join(lib, db, "fake")
    os.makedirs(d)
    with open(os.path.join(d, "fake.base"), "w") as f:
        f.write("- {%s, author: t <t@x>, license: MIT <x>}\n" % entry)
    return lib, d


@test
def deeply_nested_yaml_is_refused():
    lib = hostile("deep")
    with open(os.path.join(lib, "data", "deep.blt"), "w") as f:
        f.write(COLL_HEAD % "deep" + "classes: " + "[" * 200000 +
                "]" * 200000 + "\n")
    with open(os.path.join(lib, "data", "deepmap.blt"), "w") as f:
        f.write(COLL_HEAD % "deepmap" + "classes:\n  - id: x\n    names: " +
                "{a: " * 50000 + "1" + "}" * 50000 + "\n")
    with open(os.path.join(lib, "data", "deepinc.yml"), "w") as f:
        f.write("[" * 100000 + "]" * 100000 + "\n")
    with open(os.path.join(lib, "data", "deepinc.blt"), "w") as f:
        f.write(COLL_HEAD % "deepinc" + "classes: !include deepinc.yml\n")
    check_library(lib, ["data/deep.blt:5:", "data/deepmap.blt:", "nesting "
                        "deeper than 64 levels", "data/deepinc.yml:1:"])
    serves_the_rest(lib, ["deep.json", "deepmap.json", "deepinc/x.json"])


@test
def a_yaml_bomb_is_refused_quickly_in_little_memory():
    lib = hostile("bomb")
    text = COLL_HEAD % "bomb" + 'l0: &l0 ["lol", "lol", "lol", "lol", ' \
        '"lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for i in range(1, 10):
        text += "l%d: &l%d [%s]\n" % (i, i, ", ".join(["*l%d" % (i - 1)] * 10))
    text += "classes: *l9\n"
    with open(os.path.join(lib, "data", "bomb.blt"), "w") as f:
        f.write(text)
    t0 = time.monotonic()
    check_library(lib, ["data/bomb.blt:", "expands to more than"], 20)
    check(time.monotonic() - t0 < 10, "check took %.1f s" %
          (time.monotonic() - t0))
    serves_the_rest(lib, ["bomb.json"])


@test
def a_100_mb_blt_include_or_base_is_refused_unread():
    lib = hostile("huge")
    for path in ("data/huge.blt", "data/huge.yml"):
        with open(os.path.join(lib, path), "wb") as f:
            f.write(b"id: huge\n")
            f.truncate(100 << 20)
    with open(os.path.join(lib, "data", "hugeinc.blt"), "w") as f:
        f.write(COLL_HEAD % "hugeinc" + "classes: !include huge.yml\n")
    with open(os.path.join(lib, "fake", "fake", "fake.base"), "ab") as f:
        f.truncate(100 << 20)
    check_library(lib, ["data/huge.blt:", "more than the limit",
                        "huge.yml", "fake/fake/fake.base:"])
    # with its .base refused, rod has no engine: another library serves
    lib2 = hostile("huge2")
    shutil.copy(os.path.join(lib, "data", "huge.blt"),
                os.path.join(lib2, "data", "huge.blt"))
    serves_the_rest(lib2, ["huge.json"])


@test
def base_file_names_leaving_their_directory_are_refused():
    lib = hostile("names")
    target = outside("names-target.txt", "rod\n")
    opens = Opens([target])
    with open(os.path.join(lib, "fake", "fake", "fake.base"), "a") as f:
        for bad in ("../../etc/passwd", "/etc/passwd", "..", ".",
                    "../../../outside/names-target.txt", target,
                    "sub/../../x.txt", "rod.txt/"):
            f.write("- {filename: '%s', type: script, author: t <t@x>, "
                    "license: MIT <x>, classids: [rod]}\n" % bad)
    err = check_library(lib, ["must name a file in fake/fake/, without a "
                              "directory part"])
    eq(err.count("without a directory part"), 8, "refusals:\n" + err)
    serves_the_rest(lib)
    eq(opens.opened(), [], "files outside the library opened")
    opens.close()


def symlinked_library():
    """A library whose collection `sym` has a class for each executor and
    a drawing, every one of their files a link to a file outside; the
    FreeCAD function, if run, would leave a marker file."""
    lib = hostile("sym")
    marker = os.path.join(TMP, "sym-marker")
    targets = {
        "mod.scad": outside("mod.scad", "module m(size) { cube(size); }\n"),
        "fn.py": outside("fn.py", "open(%r, 'w').close()\n"
                         "def fn(params, document):\n"
                         "    open(%r, 'w').close()\n" % (marker, marker)),
        "script.txt": outside("script.txt", "script\n"),
        "draw.svg": outside("draw.svg", "<svg/>\n"),
        "table.yml": outside("table.yml", "M1: [1]\n"),
    }
    with open(os.path.join(lib, "data", "sym.blt"), "w") as f:
        f.write(COLL_HEAD % "sym" + """classes:
  - id: scad
    names: {name: Scad, labeling: 'Scad %(size)s'}
    parameters: {free: [size], types: {size: Length (mm)}}
    source: test
  - id: py
    names: {name: Py, labeling: 'Py %(size)s'}
    parameters: {free: [size], types: {size: Length (mm)}}
    source: test
  - id: cmd
    names: {name: Cmd, labeling: 'Cmd %(size)s'}
    parameters: {free: [size], types: {size: Length (mm)}}
    source: test
  - id: tab
    names: {name: Tab, labeling: 'Tab %(key)s'}
    parameters:
      free: [key]
      types: {key: Table Index, d: Length (mm)}
      tables: {index: key, columns: [d], data: !include table.yml}
    source: test
""")
    os.symlink(targets["table.yml"], os.path.join(lib, "data", "table.yml"))
    for db, line in (
            ("openscad", "{filename: mod.scad, type: module, modules: [{name: "
             "m, arguments: [size], classids: [scad]}]"),
            ("freecad", "{filename: fn.py, type: function, functions: "
             "[{name: fn, classids: [py]}]"),
            ("fake", "{filename: script.txt, type: script, classids: [cmd]"),
            ("drawings", "{filename: draw, type: drawing-dimensions, "
             "classids: [scad]")):
        d = os.path.join(lib, db, "sym")
        os.makedirs(d)
        with open(os.path.join(d, "sym.base"), "w") as f:
            f.write("- %s, author: t <t@x>, license: MIT <x>}\n" % line)
    os.symlink(targets["mod.scad"], os.path.join(lib, "openscad", "sym",
                                                 "mod.scad"))
    os.symlink(targets["fn.py"], os.path.join(lib, "freecad", "sym",
                                              "fn.py"))
    os.symlink(targets["script.txt"], os.path.join(lib, "fake", "sym",
                                                   "script.txt"))
    os.symlink(targets["draw.svg"], os.path.join(lib, "drawings", "sym",
                                                 "draw.svg"))
    return lib, targets, marker


@test
def modules_scripts_drawings_and_includes_linked_outside_are_refused():
    lib, targets, marker = symlinked_library()
    opens = Opens(targets.values())
    check_library(lib, [
        "openscad/sym/mod.scad is a link to %s, outside the library: "
        "refused" % targets["mod.scad"],
        "freecad/sym/fn.py is a link to %s" % targets["fn.py"],
        "fake/sym/script.txt is a link to %s" % targets["script.txt"],
        "drawings/sym/draw.svg is a link to %s" % targets["draw.svg"],
        "!include 'table.yml' points outside the data directory"])
    # nothing makes those classes: no engine is ever given the files
    serves_the_rest(lib, ["sym/scad/size=2.stl", "sym/py/size=2.step",
                          "sym/py/size=2.stl", "sym/cmd/size=2.stl",
                          "sym/scad.svg", "sym/tab/M1/default.json"])
    m = Mount(lib)
    try:
        eq(sorted(os.listdir(m.path("sym/scad"))), ["default.json"],
           "what sym/scad offers")
        for p in ("sym/scad", "sym/py", "sym/cmd"):
            for f in os.listdir(m.path(p)):
                if not f.endswith(".json"):
                    raise Failed("%s/%s offered" % (p, f))
        eq(m.stats()["jobs_run"], 0, "jobs run")
    finally:
        m.unmount()
    check(not os.path.exists(marker), "the FreeCAD function outside ran")
    eq(opens.opened(), [], "files outside the library opened")
    opens.close()


@test
def a_collection_file_linked_outside_is_refused_unread():
    lib = hostile("bltlink")
    target = outside("x.blt", (COLL_HEAD % "x") + "classes:\n  - id: xrod\n"
                     "    names: {name: X, labeling: 'X %(size)s'}\n"
                     "    parameters: {free: [size], types: {size: Length "
                     "(mm)}}\n    source: test\n")
    os.symlink(target, os.path.join(lib, "data", "x.blt"))
    opens = Opens([target])
    check_library(lib, ["data/x.blt", "outside the library"])
    serves_the_rest(lib, ["x.json", "x/xrod.json"])
    eq(opens.opened(), [], "files outside the library opened")
    opens.close()


@test
def a_base_file_linked_outside_is_refused_unread():
    lib = hostile("baselink")
    base = os.path.join(lib, "fake", "fake", "fake.base")
    target = outside("fake.base", open(base).read())
    os.unlink(base)
    os.symlink(target, base)
    opens = Opens([target])
    check_library(lib, ["fake/fake/fake.base", "outside the library"])
    m = Mount(lib)
    try:
        got = errno_of(read, m.path("fake/rod/size=2.stl"))
        eq(got, "ENOENT", "a part made with the .base outside")
    finally:
        m.unmount()
    eq(opens.opened(), [], "files outside the library opened")
    opens.close()


@test
def a_module_sibling_linked_outside_is_not_read():
    # a module may include its siblings, so their bytes are part of the
    # cache key; one that is a link out of the library must not be read
    need("openscad")
    lib, d = hostile_base("sibling", "openscad",
                          "filename: rod.scad, type: module, modules: [{name: "
                          "rod, arguments: [size], classids: [rod]}]")
    with open(os.path.join(d, "rod.scad"), "w") as f:
        f.write("module rod(size) { cube(size); }\n")
    target = outside("secret.scad", "// a secret\n")
    os.symlink(target, os.path.join(d, "secret.scad"))
    opens = Opens([target])
    p = subprocess.run([PARTSCTL, "check", lib], env=ENV,
                       capture_output=True, text=True)
    check(p.returncode in (0, 1), "partsctl check: %d" % p.returncode)
    # the class also has the test engine's script: OpenSCAD makes it only
    # when asked to
    m = Mount(lib, "model=openscad")
    try:
        # csg: OpenSCAD's alone
        data = read_within(m, m.path("fake/rod/size=2.csg"), 60)
        check(b"cube(size = [2, 2, 2]" in data, data[:300])
    finally:
        m.unmount()
    eq(opens.opened(), [], "files outside the library opened")
    opens.close()


@test
def a_drawing_swapped_for_a_link_out_while_mounted_is_not_served():
    # loading checked the drawing; a link put in its place afterwards must
    # be refused by the read itself, before the live reload drops it
    lib, d = hostile_base("drawswap", "drawings",
                          "filename: rod, type: drawing-dimensions, "
                          "classids: [rod]")
    drawing = os.path.join(d, "rod.svg")
    with open(drawing, "w") as f:
        f.write("<svg>rod</svg>\n")
    secret = "secret " * 1000
    target = outside("swapped.svg", secret)
    opens = Opens([target])
    m = Mount(lib)
    try:
        eq(read(m.path("fake/rod.svg")), b"<svg>rod</svg>\n", "the drawing")
        link = drawing + ".new"
        os.symlink(target, link)
        os.rename(link, drawing)
        # at once: the reload waits for the library to be quiet
        got = errno_of(read, m.path("fake/rod.svg"))
        eq(got, "EACCES", "reading the swapped drawing")
        try:
            size = os.stat(m.path("fake/rod.svg")).st_size
            check(size != len(secret), "the size of the file outside")
        except FileNotFoundError:
            pass
        # the reload reports the link and the drawing stays refused
        wait_until(lambda: "drawings/fake/rod.svg is a link to" in
                   read(m.path(".partsfs", "errors")).decode(),
                   "the link reported after the reload")
        got = errno_of(read, m.path("fake/rod.svg"))
        # the collection broken by the link keeps its last good version,
        # whose drawing is the path now refused
        eq(got, "EACCES", "reading it after the reload")
        check(m.proc.poll() is None, "partsfs exited")
    finally:
        m.unmount()
    eq(opens.opened(), [], "files outside the library opened")
    opens.close()


@test
def names_too_long_for_a_file_name_are_refused_and_listing_survives():
    lib = hostile("long")
    key, cid = "K" * 5000, "c" * 5000
    with open(os.path.join(lib, "data", "keys.yml"), "w") as f:
        f.write("M1: [1]\n? %s\n: [2]\n" % key)
    with open(os.path.join(lib, "data", "long.blt"), "w") as f:
        f.write(COLL_HEAD % "long" + """classes:
  - id: tab
    names: {name: Tab, labeling: 'Tab %%(key)s'}
    parameters:
      free: [key]
      defaults: {key: M1}
      types: {key: Table Index, d: Length (mm)}
      tables: {index: key, columns: [d], data: !include keys.yml}
    source: test
  - id: %s
    names: {name: Long, labeling: 'Long'}
    source: test
""" % cid)
    m = Mount(lib)
    try:
        for path in ("long", "long/tab"):
            e = errno_of(os.listdir, m.path(path))
            check(e in (None, "ENOENT") and m.proc.poll() is None,
                  "listing %s: %s; partsfs %s; its log ends: %s" %
                  (path, e, "exited" if m.proc.poll() is not None else
                   "alive", m.log()[-300:]))
        check_box(read(m.path("fake/rod/size=2.stl")), 2)
    finally:
        m.unmount()
    for path in ("long", "long/tab"):
        rc, out, err, rss, took = run_measured([PARTSCTL, "ls", lib, path])
        check(rc in (0, 1), "partsctl ls %s: status %d: %s" %
              (path, rc, err[-300:]))
    rc, out, err, rss, took = run_measured([PARTSCTL, "check", lib])
    check(rc == 1 and "data/long.blt" in err, "partsctl check does not "
          "refuse names longer than a file name (status %d): %s" %
          (rc, err[:300]))


# --- values that try to become code ------------------------------------------

INJECTIONS = [
    'x"); cube(1000); //',
    'x\\"); cube(1000); //',
    'x\\',
    "x\n); cube(1000); //\n",
    "'); import os; os.system('touch PWNED'); #",
    '"}], "text": "x", "y": [{"',
    "$(touch PWNED) `touch PWNED`; -o /tmp/x --help",
    "%s%n%x\t\r\x01\x7f",
]


def injlib():
    """A class `word` whose OpenSCAD module and FreeCAD function build a
    box len(text) x 1 x 1, and a class `fword` with only the function."""
    lib = os.path.join(TMP, "injlib")
    if os.path.exists(lib):
        return lib
    for d in ("data", "openscad/inj", "freecad/inj"):
        os.makedirs(os.path.join(lib, d))
    with open(os.path.join(lib, "data", "inj.blt"), "w") as f:
        f.write(COLL_HEAD % "inj" + """classes:
  - id: word
    names: {name: Word, labeling: 'Word'}
    parameters: {free: [text], types: {text: String}, defaults: {text: a}}
    source: test
  - id: fword
    names: {name: FWord, labeling: 'FWord'}
    parameters: {free: [text], types: {text: String}, defaults: {text: a}}
    source: test
""")
    with open(os.path.join(lib, "openscad/inj/inj.base"), "w") as f:
        f.write("- {filename: word.scad, type: module, author: t <t@x>, "
                "license: MIT <x>, modules: [{name: word, arguments: [text], "
                "classids: [word]}]}\n")
    with open(os.path.join(lib, "openscad/inj/word.scad"), "w") as f:
        f.write("module word(text) { cube([len(text), 1, 1]); }\n")
    with open(os.path.join(lib, "freecad/inj/inj.base"), "w") as f:
        f.write("- {filename: word.py, type: function, author: t <t@x>, "
                "license: MIT <x>, functions: [{name: word, classids: "
                "[fword]}]}\n")
    with open(os.path.join(lib, "freecad/inj/word.py"), "w") as f:
        f.write("import Part\n\ndef word(params, document):\n"
                "    f = document.addObject('Part::Feature', 'word')\n"
                "    f.Shape = Part.makeBox(len(params['text']), 1, 1)\n")
    return lib


def no_pwned():
    for d in (TMP, os.getcwd(), "/tmp", "/"):
        check(not os.path.exists(os.path.join(d, "PWNED")),
              "a value ran as code: %s/PWNED" % d)


def executor(lib, part):
    d = json.loads(partsctl("params", lib, part))
    return d["provenance"]["generator"]["executor"]


def box_x(data):
    lo, hi = stl_bbox(data)
    return [round(v, 3) for v in lo + hi]


@test
def openscad_values_stay_string_literals():
    need("openscad")
    m = Mount(injlib())
    try:
        eq(executor(injlib(), "inj/word/default.stl"), "openscad",
           "the engine")
        for v in INJECTIONS:
            p = m.path("inj/word/text=%s.stl" % enc(v))
            data = read_within(m, p, 60)
            eq(box_x(data), [0, 0, 0, len(v), 1, 1], "box for %r" % v)
            eq(json.loads(os.getxattr(p, "user.partsfs.params"))["text"], v,
               "the value")
    finally:
        m.unmount()
    no_pwned()


@test
def freecad_values_stay_data():
    need("freecad")
    m = Mount(injlib())
    try:
        eq(executor(injlib(), "inj/fword/default.stl"), "freecad",
           "the engine")
        for v in INJECTIONS:
            p = m.path("inj/fword/text=%s.stl" % enc(v))
            data = read_within(m, p, 120)
            eq(box_x(data), [0, 0, 0, len(v), 1, 1], "box for %r" % v)
    finally:
        m.unmount()
    no_pwned()


@test
def command_values_never_reach_the_command_line():
    m = Mount(CMDLIB)
    try:
        for i, v in enumerate(INJECTIONS):
            p = m.path("fake/box/size=%d,note=%s.stl" % (i + 1, enc(v)))
            data = read_within(m, p, 30)
            check_box(data, i + 1, "box for %r" % v)
            eq(data[:80].rstrip(b"\0"), ("fake-engine " + v).encode()[:79],
               "the STL header")
            # a failing run shows its command line: no value in it
            p = m.path("fake/box/mode=fail,note=%s.stl" % enc(v))
            raises(errno.EIO, read, p)
            reason = os.getxattr(p, "user.partsfs.error").decode()
            cmd = [l for l in reason.splitlines()
                   if l.startswith("command: ")]
            eq(len(cmd), 1, "command lines in the reason")
            for piece in ("cube", "PWNED", "import", "--help", "fail"):
                check(piece not in cmd[0], "%r in %s" % (piece, cmd[0]))
    finally:
        m.unmount()
    no_pwned()


if __name__ == "__main__":
    failed = run_tests()
    if NAMES is not None:
        NAMES.unmount()
    sys.exit(1 if failed else 0)
