#!/usr/bin/env python3
# sandbox.py -- engines in the sandbox, for real: hostile engines (a
# command executor's script, a FreeCAD function, an OpenSCAD module) try
# every escape and each attempt fails; what an engine leaves running ends
# with its job, its time limit, or the daemon killed with SIGKILL, and
# cannot alter a part once it is made; an unprivileged partsfs mounting
# through fusermount3 sandboxes its engines too; -o sandbox=off is the
# explicit way out; partsctl get sandboxes as the mount does.
# TAP output; needs root.  A test is skipped when what it needs is
# missing: /dev/fuse, bubblewrap, OpenSCAD or FreeCAD (need() in
# mountlib.py).

import atexit
import errno
import glob
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mountlib import *  # noqa: E402,F401,F403
import mountlib  # noqa: E402

# Mounted in a namespace of its own, as mount.py is (see there).
in_private_namespace(__file__)

# --- the hostile engines ----------------------------------------------------

# The command executor's engine: a Python script of the library, run as
# python3 SCRIPT PARAMS OUTPUT MARK.  Its literal parameters say what to
# try ("attempts", names from ATTEMPTS below, "all" for every one), where
# the test put things (outside: a directory of the host anyone may write;
# port: a TCP listener on 127.0.0.1; abstract: an abstract unix socket;
# rootfile: a file in /root; cache: the mount's cache; hostpid: the test's
# process) and what to do after (mode): make (write the part and exit),
# linger (a setsid'd double-forked grandchild keeps the output open,
# rewrites it 0.5 s and extends it 2 s after the engine exited), hang
# (the same, and the engine never exits).  The part is an ASCII STL of two
# solids, the second named after the report: {attempt: "denied: why" or
# "ALLOWED: what it got"}, so what it read would be in the part.
EVIL_PY = r'''
import ctypes, json, os, signal, socket, sys, time

job = json.load(open(sys.argv[1]))
p = job["params"]
out = sys.argv[2]
mark = p["mark"]
script = os.path.abspath(sys.argv[0])
library = os.path.dirname(os.path.dirname(os.path.dirname(script)))


def write(path, data="evil\n", mode="w"):
    with open(path, mode) as f:
        f.write(data)
    return path


def read(path):
    with open(path, errors="replace") as f:
        return f.read(400)


def see(path, name):
    names = os.listdir(path)
    if name not in names:
        raise OSError("%s not in %s %s" % (name, path, names))
    return " ".join(names)


def connect(family, addr):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect(addr)
    s.sendall(b"escaped " + mark.encode())
    return "connected"


def nested_userns():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x10000000) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return "a user namespace of its own"


def capabilities():
    for line in open("/proc/self/status"):
        if line.startswith("CapEff:") and int(line.split()[1], 16) != 0:
            return line.strip()
    raise OSError("CapEff 0")


def signal_host():
    os.kill(int(p["hostpid"]), 0)
    return "signalled"


def see_host():
    return read("/proc/%s/cmdline" % p["hostpid"])


name = "evil-" + mark
ATTEMPTS = {
    "write_outside": lambda: write(os.path.join(p["outside"], name)),
    "write_var_tmp": lambda: write("/var/tmp/" + name),
    "write_library": lambda: write(os.path.join(library, name)),
    "change_script": lambda: write(script, "# changed\n", "a"),
    "write_cache": lambda: write(os.path.join(p["cache"], name)),
    "write_beside_scratch": lambda: write(os.path.join(
        os.path.dirname(os.getcwd()), name)),
    "write_etc": lambda: write("/etc/" + name),
    "write_usr": lambda: write("/usr/" + name),
    "read_shadow": lambda: read("/etc/shadow"),
    "read_root": lambda: read("/root/" + p["rootfile"]),
    "see_root_file": lambda: see("/root", p["rootfile"]),
    "read_outside": lambda: read(os.path.join(p["outside"], "secret.txt")),
    "connect_tcp": lambda: connect(socket.AF_INET,
                                   ("127.0.0.1", int(p["port"]))),
    "connect_abstract": lambda: connect(socket.AF_UNIX,
                                        "\0" + p["abstract"]),
    "signal_host": signal_host,
    "see_host": see_host,
    "nested_userns": nested_userns,
    "capabilities": capabilities,
}

report = {"uid": os.getuid()}
wanted = p["attempts"].split(",") if p["attempts"] != "all" else ATTEMPTS
for a in wanted:
    try:
        got = ATTEMPTS[a]()
        report[a] = "ALLOWED: %s" % (got,)
    except Exception as e:
        report[a] = "denied: %s" % (e,)
# what it wrote in its private /tmp: the host never sees it
try:
    write("/tmp/" + name)
    write("/dev/shm/" + name)
except OSError:
    pass

facet = (" facet normal 0 0 -1\n  outer loop\n   vertex 0 0 0\n"
         "   vertex 1 0 0\n   vertex 0 1 0\n  endloop\n endfacet\n")
text = ("solid evil\n" + facet + "endsolid evil\nsolid report %s\n"
        % json.dumps(report) + facet + "endsolid report\n").encode()
fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, text)
if p["mode"] in ("linger", "hang"):
    if os.fork() == 0:
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT,
                  signal.SIGPIPE):
            signal.signal(s, signal.SIG_IGN)
        null = os.open("/dev/null", os.O_RDWR)
        for i in (0, 1, 2):
            os.dup2(null, i)
        time.sleep(0.5)
        os.pwrite(fd, b"solid EVIL", 0)
        time.sleep(1.5)
        os.lseek(fd, 0, os.SEEK_END)
        os.write(fd, b"solid tampered\nendsolid tampered\n")
        while True:
            time.sleep(1)
    if p["mode"] == "hang":
        while True:
            time.sleep(1)
os.close(fd)
'''

# Every attempt of EVIL_PY, and the few that harm nothing when they work
# (for the engine run without a sandbox).
ALL = ("write_outside write_var_tmp write_library change_script write_cache "
       "write_beside_scratch write_etc write_usr read_shadow read_root "
       "see_root_file read_outside connect_tcp connect_abstract signal_host "
       "see_host nested_userns capabilities").split()
HARMLESS = ["write_outside", "read_outside", "connect_tcp"]

# Unique to this run: in the engines' command lines (found on the host by
# it) and in every file an engine tries to leave.
MARK = "sbt%d" % os.getpid()
SERIAL = [0]


def fresh():
    """A fresh marker for one test's engines (no marker the prefix of
    another), and a path for its library; the listeners forget what
    connected before."""
    SERIAL[0] += 1
    outside().connections.clear()
    return "%s-%02d" % (MARK, SERIAL[0]), os.path.join(TMP, "lib%d" %
                                                       SERIAL[0])


class Outside:
    """What a hostile engine reaches for on the host: a directory anyone
    may write in /tmp (unconfined, even nobody could), with a secret file
    anyone may read; a TCP listener on 127.0.0.1 and an abstract unix
    socket, which count what connects; a file in /root."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="partsfs-sbout-")
        os.chmod(self.dir, 0o777)
        with open(os.path.join(self.dir, "secret.txt"), "w") as f:
            f.write("outside-secret-%s\n" % MARK)
        os.chmod(os.path.join(self.dir, "secret.txt"), 0o644)
        self.rootfile = "partsfs-sbtest-%s" % MARK
        if os.geteuid() == 0:
            with open("/root/" + self.rootfile, "w") as f:
                f.write("root-secret-%s\n" % MARK)
        self.connections = []
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(16)
        self.port = self.tcp.getsockname()[1]
        self.abstract = "partsfs-sbtest-%s" % MARK
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind("\0" + self.abstract)
        self.unix.listen(16)
        for s in (self.tcp, self.unix):
            threading.Thread(target=self._accept, args=(s,),
                             daemon=True).start()
        atexit.register(self.remove)

    def _accept(self, s):
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            self.connections.append(c.recv(100))
            c.close()

    def params(self, cache):
        return {"outside": self.dir, "port": str(self.port),
                "abstract": self.abstract, "rootfile": self.rootfile,
                "cache": cache, "hostpid": str(os.getpid())}

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        # (and what an engine left where it should not have)
        for f in ["/root/" + self.rootfile] + [
                f for d in ("/tmp", "/var/tmp", "/dev/shm", "/etc", "/usr")
                for f in glob.glob("%s/*%s*" % (d, MARK))]:
            try:
                os.unlink(f)
            except OSError:
                pass


OUTSIDE = None


def outside():
    global OUTSIDE
    if OUTSIDE is None:
        OUTSIDE = Outside()
    return OUTSIDE


def evil_command(m):
    """The command executor `evil` (python3 running the library's script),
    its processes marked with `m`."""
    return ("    - name: evil\n"
            "      argv: [/usr/bin/python3, \"{script}\", \"{params}\", "
            "\"{output}\", %s]\n"
            "      formats: [stl]\n" % m)


def evil_library(root, classes):
    """A library of one collection `evil` made by the command `evil`:
    `classes` maps a class id to its literal parameters (all strings:
    mode, attempts, and where things are, see EVIL_PY); each class has a
    free size, 1 by default, and sizes 1 to 9."""
    os.makedirs(os.path.join(root, "data"), exist_ok=True)
    os.makedirs(os.path.join(root, "evil", "evil"), exist_ok=True)
    text = ("id: evil\nauthor: t <t@example.org>\nlicense: MIT <x>\n"
            "blt-version: 0.4\nclasses:\n")
    for cid, literal in classes.items():
        lit = ", ".join("%s: %s" % (k, json.dumps(v))
                        for k, v in sorted(literal.items()))
        typ = ", ".join(["size: Length (mm)"] + ["%s: String" % k
                                                 for k in sorted(literal)])
        text += ("  - id: %s\n    names: {name: %s, labeling: '%s "
                 "%%(size)s'}\n    parameters:\n      literal: {%s}\n"
                 "      free: [size]\n      defaults: {size: 1}\n"
                 "      types: {%s}\n      common: [[[1, 2, 3, 4, 5, 6, 7, "
                 "8, 9]]]\n    source: test\n" % (cid, cid, cid, lit, typ))
    with open(os.path.join(root, "data", "evil.blt"), "w") as f:
        f.write(text)
    with open(os.path.join(root, "evil", "evil", "evil.base"), "w") as f:
        f.write("- {filename: evil.py, type: script, author: t <t@x>, "
                "license: MIT <x>, classids: [%s]}\n" % ", ".join(classes))
    with open(os.path.join(root, "evil", "evil", "evil.py"), "w") as f:
        f.write(EVIL_PY)
    return root


def hostile(cache, mode="make", attempts="all", m=""):
    """The literal parameters of a class of evil_library."""
    return dict(outside().params(cache), mode=mode, attempts=attempts,
                mark=m or MARK)


def new_cache():
    """A cache out of /tmp (where root's is, in /root): a write to its
    path from the sandbox, whose /tmp is a private one, would not even
    reach the host's."""
    home = "/root" if os.geteuid() == 0 else os.path.expanduser("~")
    d = tempfile.mkdtemp(dir=home, prefix=".partsfs-sbtest-cache-")
    atexit.register(shutil.rmtree, d, True)
    return d


def report_of(data):
    """The report a part of EVIL_PY holds."""
    lines = data.decode(errors="replace").splitlines()
    check(lines and lines[0] == "solid evil", "not the evil engine's "
          "part: %r" % data[:200])
    for line in lines:
        if line.startswith("solid report {"):
            return json.loads(line[len("solid report "):])
    raise Failed("no report in the part: %r" % data[:200])


def check_denied(report, attempts):
    allowed = {a: report.get(a) for a in attempts
               if not str(report.get(a, "")).startswith("denied: ")}
    check(not allowed, "escapes not denied: %s" % allowed)


def snapshot(root):
    """Every file under root with its size, modification time and mode."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            out[p] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return out


def marked_files(m, roots):
    """Files under roots whose name holds the marker m."""
    found = []
    for r in roots:
        for d, dirs, files in os.walk(r):
            found += [os.path.join(d, n) for n in dirs + files if m in n]
    return found


def check_nothing_left_outside(m, data, lib_before, lib, cache):
    """From the host: no file of an engine in /tmp, /var/tmp, the outside
    directory, the library or the cache; the library as it was; nothing
    of /etc/shadow, /root or the outside secret in the part; nothing
    connected to the listeners."""
    o = outside()
    left = [f for d in ("/tmp", "/var/tmp", "/dev/shm", "/etc", "/usr")
            for f in glob.glob("%s/*%s*" % (d, m))] + marked_files(
                m, [o.dir, lib, cache])
    eq(left, [], "files an engine left outside its scratch directory")
    eq(snapshot(lib), lib_before, "the library after the engine ran")
    with open("/etc/shadow", "rb") as f:
        for line in f.read().splitlines():
            check(len(line) < 8 or line not in data,
                  "a line of /etc/shadow is in the part")
    check(b"root-secret" not in data, "the file in /root is in the part")
    check(b"outside-secret" not in data, "the outside file is in the part")
    eq(o.connections, [], "connections to the listeners")


# --- processes ---------------------------------------------------------------

def procs(m):
    """The live processes (not zombies) whose command line holds `m`."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if m.encode() in cmd and alive(int(p)):
            found.append((int(p), cmd.replace(b"\0", b" ").decode(
                errors="replace")[:200]))
    return found


def none_alive(m, within=1.0, what="processes of the job"):
    """No process marked `m` is alive `within` seconds from now."""
    deadline = time.monotonic() + within
    while True:
        left = procs(m)
        if not left:
            return
        if time.monotonic() > deadline:
            raise Failed("%s alive %.1f s later: %s" % (what, within, left))
        time.sleep(0.02)


def read_part(mnt, path):
    """The part at `path` of mount `mnt`, or Failed with the reason the
    mount gives for it."""
    try:
        return read_within(mnt, path, 60 * SLOW)
    except OSError as e:
        try:
            why = os.getxattr(path, "user.partsfs.error").decode()
        except OSError as e2:
            why = "(no user.partsfs.error: %s)" % e2
        raise Failed("%s: %s\n%s" % (path, e, why))


def blobs(cache):
    return [f for f in glob.glob(os.path.join(cache, "blobs", "*", "*"))
            if os.path.isfile(f)]


# --- the command executor ---------------------------------------------------

@test
def a_hostile_command_engine_is_denied_every_escape():
    need("bwrap")
    m, lib = fresh()
    cache = new_cache()
    evil_library(lib, {
        "evil": hostile(cache, m=m)})
    before = snapshot(lib)
    mnt = Mount(lib, cache=cache, commands=evil_command(m))
    try:
        data = read_part(mnt, mnt.path("evil/evil/size=1.stl"))
        none_alive(m, 1.0)
        report = report_of(data)
        check_denied(report, ALL)
        # as root, the engine runs as the job user (partsfs, else nobody)
        if os.geteuid() == 0:
            check(report["uid"] != 0, "the engine ran as root")
        check_nothing_left_outside(m, data, before, lib, cache)
        check("engines run sandboxed" in mnt.log(), mnt.log())
    finally:
        mnt.unmount()


@test
def a_setsid_grandchild_cannot_alter_a_part_once_it_is_made():
    need("bwrap")
    m, lib = fresh()
    cache = new_cache()
    evil_library(lib, {
        "evil": hostile(cache, "linger", "write_outside", m)})
    mnt = Mount(lib, cache=cache, commands=evil_command(m))
    try:
        p = mnt.path("evil/evil/size=1.stl")
        first = read_part(mnt, p)
        none_alive(m, 1.0)
        check(first.startswith(b"solid evil\n"), "altered: %r" % first[:40])
        time.sleep(3)
        eq(read(p), first, "the part 3 s later")
        b = blobs(cache)
        eq(len(b), 1, "blobs in the cache")
        eq(os.path.getsize(b[0]), len(first), "the cached blob's size")
        eq(read(b[0]), first, "the cached blob")
    finally:
        mnt.unmount()


@test
def an_engine_hanging_with_setsid_children_hits_the_time_limit_whole():
    need("bwrap")
    m, lib = fresh()
    cache = new_cache()
    evil_library(lib, {
        "evil": hostile(cache, "hang", "write_outside", m)})
    mnt = Mount(lib, "timeout=2", cache=cache, commands=evil_command(m))
    try:
        p = mnt.path("evil/evil/size=1.stl")
        t0 = time.monotonic()
        raises(errno.EIO, read, p)
        took = time.monotonic() - t0
        check(took < 2 + 10 * SLOW, "EIO after %.1f s" % took)
        none_alive(m, 1.0)
        why = os.getxattr(p, "user.partsfs.error").decode()
        check("timed out" in why, "user.partsfs.error: " + why)
        eq(blobs(cache), [], "blobs in the cache")
    finally:
        mnt.unmount()


@test
def kill_9_of_the_daemon_ends_every_sandboxed_job():
    need("bwrap")
    m, lib = fresh()
    cache = new_cache()
    evil_library(lib, {
        "evil": hostile(cache, "hang", "write_outside", m)})
    mnt = Mount(lib, "jobs=3", cache=cache, commands=evil_command(m))
    cats = [subprocess.Popen(["cat", mnt.path("evil/evil/size=%d.stl" % s)],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
            for s in (1, 2, 3)]
    def engines():
        return [c for _, c in procs(m) if c.startswith("/usr/bin/python3")]
    try:
        # each job: bwrap, its pid 1, the engine (python3) and its
        # setsid'd grandchild, all marked
        try:
            wait_until(lambda: len(engines()) >= 6,
                       "three engines and their grandchildren", 20 * SLOW)
        except Failed as e:
            raise Failed("%s: %s\n%s" % (e, procs(m), mnt.log()))
        os.kill(mnt.proc.pid, signal.SIGKILL)
        mnt.proc.wait(10)
        none_alive(m, 1.0)
    finally:
        # (the daemon first: a reader whose open it has taken waits for
        # its answer whatever signal it gets)
        if mnt.proc.poll() is None:
            mnt.proc.kill()
            mnt.proc.wait()
        for c in cats:
            c.kill()
            c.wait(10)
        subprocess.run(["fusermount3", "-uz", mnt.dir], capture_output=True)
        mnt.unmount()


# --- the way out, partsctl, an unprivileged partsfs -------------------------

@test
def sandbox_off_runs_engines_unconfined_and_says_so():
    m, lib = fresh()
    cache = new_cache()
    # only what harms nothing when it works, as it does here
    evil_library(lib, {"evil": hostile(cache, "make", ",".join(HARMLESS),
                                       m)})
    mnt = Mount(lib, "sandbox=off", cache=cache, commands=evil_command(m))
    try:
        report = report_of(read_part(mnt, mnt.path("evil/evil/size=1.stl")))
        # (which shows that the other tests' engines would see an escape)
        eq({a: report[a].split(":")[0] for a in HARMLESS},
           {a: "ALLOWED" for a in HARMLESS}, "attempts unconfined")
        eq(len(outside().connections), 1, "connections to the listener")
        check("engines run unconfined" in mnt.log(), mnt.log())
        check("engines run sandboxed" not in mnt.log(), mnt.log())
    finally:
        mnt.unmount()
        for f in marked_files(m, [outside().dir]):
            os.unlink(f)


@test
def partsctl_get_sandboxes_its_engine_too():
    need("bwrap")
    m, lib = fresh()
    cache = new_cache()
    evil_library(lib, {"evil": hostile(cache, "linger", "all", m)})
    before = snapshot(lib)
    conf = os.path.join(TMP, "get%d.conf" % SERIAL[0])
    write_conf(conf, cache, commands=evil_command(m))
    out = os.path.join(TMP, "get%d.stl" % SERIAL[0])
    p = subprocess.run([PARTSCTL, "get", lib, "evil/evil/size=1.stl", "-q",
                        "-o", out, "--config", conf], env=ENV,
                       capture_output=True, text=True, timeout=60 * SLOW)
    eq(p.returncode, 0, "partsctl get: " + p.stderr)
    none_alive(m, 1.0)
    data = read(out)
    check_denied(report_of(data), ALL)
    check_nothing_left_outside(m, data, before, lib, cache)
    time.sleep(2.5)
    eq(read(out), data, "the part 2.5 s later")


NOBODY = 65534


def as_nobody(argv, **kw):
    return subprocess.run(argv, user=NOBODY, group=NOBODY, extra_groups=[],
                          capture_output=True, **kw)


def unprivileged_fuse():
    """Can nobody mount through fusermount3: it is on PATH, and /dev/fuse
    opens for anyone (libfuse opens it before it runs fusermount3).
    Where the device is 0600 (a machine without udev, which makes it
    0666), a node of mode 0666 is bound over it in this file's mount
    namespace only.  When that cannot be, the test is skipped as need()
    would skip it for "fuse"."""
    why = None
    if not on_path("fusermount3"):
        why = "fusermount3 is not on PATH (Debian package fuse3)"
    elif as_nobody(["sh", "-c", "exec 3<>/dev/fuse"]).returncode != 0:
        node = os.path.join(TMP, "fuse")
        st = os.stat("/dev/fuse")
        if not os.environ.get("PARTSFS_UNSHARED"):
            why = ("/dev/fuse is mode %o: only root may mount a FUSE file "
                   "system" % (st.st_mode & 0o777))
        else:
            if not os.path.exists(node):
                os.mknod(node, 0o666 | stat.S_IFCHR, st.st_rdev)
                os.chmod(node, 0o666)
                subprocess.run(["mount", "--bind", node, "/dev/fuse"],
                               check=True)
            if as_nobody(["sh", "-c", "exec 3<>/dev/fuse"]).returncode != 0:
                why = "/dev/fuse cannot be opened by nobody"
    if why is None:
        return
    if "fuse" in mountlib.REQUIRE or "all" in mountlib.REQUIRE:
        raise Failed("PARTSFS_REQUIRE requires fuse: " + why)
    raise Skip(why)


@test
def an_unprivileged_partsfs_through_fusermount3_sandboxes_its_engines():
    need("bwrap")
    need("fuse")
    check(os.geteuid() == 0, "this test becomes nobody: it runs as root")
    unprivileged_fuse()
    m, lib = fresh()
    # everything of the user's in a directory only it can reach (not in
    # /tmp, which the sandbox replaces: a write there would not even
    # reach the host's)
    home = tempfile.mkdtemp(dir="/var/tmp", prefix="partsfs-sbuser-")
    atexit.register(shutil.rmtree, home, True)
    lib = os.path.join(home, "lib")
    mnt = os.path.join(home, "mnt")
    cache = os.path.join(home, "cache")
    for d in (mnt, cache, os.path.join(home, "home")):
        os.makedirs(d)
    # the library and cache are the user's: only the sandbox stops it
    evil_library(lib, {"evil": hostile(cache, "linger", ",".join(
        ["write_outside", "write_library", "change_script", "write_cache",
         "write_beside_scratch", "write_var_tmp", "read_shadow",
         "connect_tcp", "connect_abstract", "signal_host", "see_host"]),
        m)})
    conf = os.path.join(home, "partsfs.conf")
    write_conf(conf, cache, commands=evil_command(m))
    for d, dirs, files in os.walk(home):
        for n in [d] + [os.path.join(d, f) for f in dirs + files]:
            os.chown(n, NOBODY, NOBODY)
    os.chmod(home, 0o700)
    before = snapshot(lib)
    env = dict(ENV, HOME=os.path.join(home, "home"))
    log = open(os.path.join(TMP, "nobody%d.log" % SERIAL[0]), "w+")
    proc = subprocess.Popen(
        ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
         "--clear-groups"] + WRAPPER + [PARTSFS, lib, mnt, "-f", "-o",
                                        "config=" + conf],
        env=env, stdout=log, stderr=log)

    def logged():
        log.flush()
        return read(log.name).decode(errors="replace")
    try:
        def mounted():
            if proc.poll() is not None:
                raise Failed("partsfs exited: " + logged())
            with open("/proc/self/mountinfo") as f:
                return " %s " % mnt in f.read()
        wait_until(mounted, "mounted", 10 * SLOW)
        part = os.path.join(mnt, "evil/evil/size=1.stl")
        got = as_nobody(["cat", part], timeout=60 * SLOW)
        eq(got.returncode, 0, "cat as nobody: %r\n%s" % (got.stderr,
                                                           logged()))
        none_alive(m, 1.0)
        report = report_of(got.stdout)
        eq(report["uid"], NOBODY, "the engine's uid")
        check_denied(report, [a for a in report if a != "uid"])
        check_nothing_left_outside(m, got.stdout, before, lib, cache)
        check("engines run sandboxed" in logged(), logged())
        u = as_nobody(["fusermount3", "-u", mnt], timeout=30)
        eq(u.returncode, 0, "fusermount3 -u: %r" % u.stderr)
        eq(proc.wait(20 * SLOW), 0, "partsfs's exit status: " + logged())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        subprocess.run(["fusermount3", "-uz", mnt], capture_output=True)


# --- a FreeCAD function ----------------------------------------------------

# A BOLTS FreeCAD function that tries what a module might: read
# /etc/shadow, /root and a file outside the library, write into the
# library and outside it, reach the listener.  The box it makes is 10 mm
# high, and 2^i mm higher when attempt i worked.  It also leaves a setsid'd
# double-forked python3 (marked) that waits for freecadcmd to end, and
# then rewrites and extends the output the driver wrote, twice.
EVIL_FC = r"""
import os, socket
import Part

HERE = os.path.dirname(os.path.abspath(__file__))
LINGER = '''
import os, sys, time
main, scratch = int(sys.argv[1]), sys.argv[2]


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False


# the output open as freecadcmd ends (the driver writes it last)
fd = -1
while alive(main):
    try:
        new = os.open(os.path.join(scratch, "out.step"), os.O_RDWR)
        if fd != -1:
            os.close(fd)
        fd = new
    except OSError:
        pass
    time.sleep(0.01)
time.sleep(0.3)
os.pwrite(fd, b"ISO-10303-21;/* tampered */", 0)
time.sleep(1)
os.lseek(fd, 0, os.SEEK_END)
os.write(fd, b"/* tampered */END-ISO-10303-21;")
while True:
    time.sleep(1)
'''


def linger(mark):
    main = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                null = os.open("/dev/null", os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                os.execv("/usr/bin/python3", ["python3", "-c", LINGER,
                                              str(main), os.getcwd(), mark])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def connect(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect(("127.0.0.1", int(port)))
    s.sendall(b"escaped from FreeCAD")


def write(path):
    with open(path, "w") as f:
        f.write("evil")


def evil(params, document):
    name = "evil-" + params["mark"]
    attempts = [
        lambda: open("/etc/shadow").read(),
        lambda: open("/root/" + params["rootfile"]).read(),
        lambda: open(os.path.join(params["outside"], "secret.txt")).read(),
        lambda: write(os.path.join(HERE, name)),
        lambda: write(os.path.join(params["outside"], name)),
        lambda: write("/var/tmp/" + name),
        lambda: connect(params["port"]),
    ]
    mask = 0
    for i, attempt in enumerate(attempts):
        try:
            attempt()
            mask |= 1 << i
        except Exception:
            pass
    box = document.addObject("Part::Feature", "box")
    box.Shape = Part.makeBox(10, 10, 10 + mask)
    linger(params["mark"])
"""
FC_ATTEMPTS = ["read_shadow", "read_root", "read_outside", "write_library",
               "write_outside", "write_var_tmp", "connect_tcp"]


def one_class_blt(root, coll, cid, literal):
    """data/COLL.blt: one class `cid` with a free size (1 by default) and
    the literal string parameters `literal`."""
    os.makedirs(os.path.join(root, "data"), exist_ok=True)
    lit = ", ".join("%s: %s" % (k, json.dumps(v))
                    for k, v in sorted(literal.items()))
    typ = ", ".join(["size: Length (mm)"] + ["%s: String" % k
                                             for k in sorted(literal)])
    with open(os.path.join(root, "data", coll + ".blt"), "w") as f:
        f.write("id: %s\nauthor: t <t@example.org>\nlicense: MIT <x>\n"
                "blt-version: 0.4\nclasses:\n  - id: %s\n"
                "    names: {name: %s, labeling: '%s %%(size)s'}\n"
                "    parameters:\n      literal: {%s}\n      free: [size]\n"
                "      defaults: {size: 1}\n      types: {%s}\n"
                "      common: [[[1, 2]]]\n    source: test\n"
                % (coll, cid, cid, cid, lit, typ))


def step_bbox(data):
    """The bounding box of the 3D CARTESIAN_POINTs of a STEP file."""
    pts = [[float(x) for x in m.group(1).split(b",")] for m in re.finditer(
        rb"CARTESIAN_POINT\s*\(\s*'[^']*'\s*,\s*\(([^)]*)\)", data)]
    # (the 2D points of curves on surfaces aside)
    pts = [p for p in pts if len(p) == 3]
    check(pts, "no CARTESIAN_POINT in the STEP file")
    return ([min(p[k] for p in pts) for k in range(3)],
            [max(p[k] for p in pts) for k in range(3)])


@test
def a_hostile_freecad_function_is_denied_every_escape():
    need("bwrap")
    need("freecad")
    m, lib = fresh()
    cache = new_cache()
    one_class_blt(lib, "evilfc", "fcevil", dict(
        outside().params(cache), mark=m))
    os.makedirs(os.path.join(lib, "freecad", "evilfc"))
    with open(os.path.join(lib, "freecad", "evilfc", "evilfc.base"),
              "w") as f:
        f.write("- filename: evilfc.py\n  type: function\n"
                "  author: t <t@x>\n  license: MIT <x>\n  functions:\n"
                "    - name: evil\n      classids: [fcevil]\n")
    with open(os.path.join(lib, "freecad", "evilfc", "evilfc.py"), "w") as f:
        f.write(EVIL_FC)
    before = snapshot(lib)
    mnt = Mount(lib, cache=cache)
    try:
        data = read_part(mnt, mnt.path("evilfc/fcevil/size=1.step"))
        lo, hi = step_bbox(data)
        mask = int(round(hi[2])) - 10
        eq([FC_ATTEMPTS[i] for i in range(len(FC_ATTEMPTS))
            if mask & (1 << i)], [], "attempts that worked")
        eq((lo, hi), ([0.0] * 3, [10.0] * 3), "the box")
        check_nothing_left_outside(m, data, before, lib, cache)
        # what it left ends with the job, and never changes the part
        none_alive(m, 1.0)
        time.sleep(1.5)
        eq(read(mnt.path("evilfc/fcevil/size=1.step")), data,
           "the part 1.5 s later")
        eq([os.path.getsize(f) for f in blobs(cache)], [len(data)],
           "the cached blob")
    finally:
        mnt.unmount()


# --- an OpenSCAD module -----------------------------------------------------

@test
def openscad_gets_no_file_outside_the_library():
    need("bwrap")
    need("openscad")
    o = outside()
    # outside the library, where anyone may read: top-level geometry and a
    # module in a file to include, a mesh to import(), heights for surface()
    files = {
        "outside.scad": "translate([0, 100, 0]) cube(5);\n"
                        "module outside_module() "
                        "{ translate([100, 0, 0]) cube(5); }\n",
        "outside.stl": "solid o\n facet normal 0 0 1\n  outer loop\n"
                       "   vertex 0 0 200\n   vertex 1 0 200\n"
                       "   vertex 0 1 200\n  endloop\n endfacet\n"
                       "endsolid o\n",
        "outside.dat": "1 2\n3 4\n",
    }
    for name, text in files.items():
        with open(os.path.join(o.dir, name), "w") as f:
            f.write(text)
    m, lib = fresh()
    one_class_blt(lib, "evilscad", "scadevil", {})
    os.makedirs(os.path.join(lib, "openscad", "evilscad"))
    with open(os.path.join(lib, "openscad", "evilscad", "evilscad.base"),
              "w") as f:
        f.write("- filename: evil.scad\n  type: module\n"
                "  author: t <t@x>\n  license: MIT <x>\n  modules:\n"
                "    - name: evil\n      arguments: [size]\n"
                "      classids: [scadevil]\n")
    with open(os.path.join(lib, "openscad", "evilscad", "evil.scad"),
              "w") as f:
        f.write("include <%(d)s/outside.scad>\n"
                "module evil(size) {\n"
                "  cube(10);\n"
                "  import(\"%(d)s/outside.stl\");\n"
                "  translate([0, 0, 300])\n"
                "    surface(file = \"%(d)s/outside.dat\");\n"
                "  outside_module();\n"
                "}\n" % {"d": o.dir})
    mnt = Mount(lib, cache=new_cache())
    try:
        p = mnt.path("evilscad/scadevil/size=1.stl")
        try:
            data = read_within(mnt, p, 60 * SLOW)
        except OSError as e:
            # nothing but the outside geometry would be an empty result
            eq(e.errno, errno.EIO, "errno")
            why = os.getxattr(p, "user.partsfs.error").decode()
            check(why, "EIO without a reason")
            return
        eq(stl_bbox(data), ([0.0] * 3, [10.0] * 3), "the part's box")
    finally:
        mnt.unmount()


@atexit.register
def _kill_what_engines_left():
    # should a test have failed: what its engines left, found by the
    # marker of this run
    for pid, _ in procs(MARK):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(1 if run_tests() else 0)
