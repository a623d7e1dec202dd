# mountlib.py -- the harness of the tests that mount partsfs for real: a
# TAP runner that skips a test whose prerequisite is missing, mounts in the
# foreground with a private configuration and cache, libraries made by the
# fake engine, and small helpers.

import atexit
import errno
import json
import mmap
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

TOP_SRC = os.environ.get("top_srcdir") or os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))
TOP_BUILD = os.environ.get("top_builddir") or TOP_SRC
PARTSFS = os.path.join(TOP_BUILD, "partsfs")
PARTSCTL = os.path.join(TOP_BUILD, "partsctl")
FAKE = os.path.join(TOP_BUILD, "tests", "fake-engine")
LIBRARY = os.path.join(TOP_SRC, "library")
CORPUS = os.environ.get("PARTSFS_CORPUS", "")
TMP = tempfile.mkdtemp(prefix="partsfs-mount-")
ENV = dict(os.environ, PARTSFS_DATADIR=os.path.join(TOP_SRC, "src", "libexec"),
           PARTSFS_LIBEXECDIR=TOP_BUILD, HOME=os.path.join(TMP, "home"))
ENV.pop("PARTSFS_CONFIG", None)
os.makedirs(ENV["HOME"], exist_ok=True)
# PARTSFS_WRAPPER runs the daemon under a tool ("valgrind -q ..."), and
# PARTSFS_TEST_SLOW (a factor, default 1) stretches the harness's waits
# for it; PARTSFS_TEST_ONLY=name,name runs only those tests.
WRAPPER = os.environ.get("PARTSFS_WRAPPER", "").split()
SLOW = float(os.environ.get("PARTSFS_TEST_SLOW", "1"))

# --- TAP -------------------------------------------------------------------

TESTS = []
MOUNTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Failed(Exception):
    pass


class Skip(Exception):
    """The test is skipped: a prerequisite it needs is missing (the
    reason)."""


def check(cond, what="check failed"):
    if not cond:
        raise Failed(what)


def eq(got, want, what="value"):
    if got != want:
        raise Failed("%s: got %r, want %r" % (what, got, want))


def raises(err, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except OSError as e:
        eq(errno.errorcode.get(e.errno), errno.errorcode[err],
           "%s%r" % (fn.__name__, args))
        return
    raise Failed("%s%r did not fail with %s" % (fn.__name__, args,
                                                errno.errorcode[err]))


def run_tests():
    only = os.environ.get("PARTSFS_TEST_ONLY")
    tests = [fn for fn in TESTS
             if not only or fn.__name__ in only.split(",")]
    unknown = [w for w in REQUIRE if w not in PREREQS + ("all",)]
    if unknown:
        print("Bail out! PARTSFS_REQUIRE: '%s' is not a prerequisite "
              "(corpus, mountns, fuse, openscad, freecad, bwrap, nginx, "
              "netns or all)"
              % unknown[0], flush=True)
        return 1
    print("1..%d" % len(tests), flush=True)
    failed = 0
    for i, fn in enumerate(tests, 1):
        try:
            fn()
            print("ok %d - %s" % (i, fn.__name__), flush=True)
        except Skip as e:
            print("ok %d - %s # SKIP %s" % (i, fn.__name__, e), flush=True)
        except Exception as e:  # a test's failure, whatever raised it
            failed += 1
            for line in ("%s: %s" % (type(e).__name__, e)).splitlines():
                print("# " + line)
            print("not ok %d - %s" % (i, fn.__name__), flush=True)
    return failed


# --- prerequisites ---------------------------------------------------------

# What a test may need that a machine may lack (see tests/tap.h).  need()
# returns when it is here; otherwise the test is skipped with the reason,
# or fails with it when PARTSFS_REQUIRE (names separated by commas or
# blanks, or "all") names it.  A Mount needs fuse, a Tmpfs mountns; a test
# says first what else it needs (bwrap: engines can be sandboxed here;
# netns: network namespaces joined by veth pairs can be made).
PREREQS = ("corpus", "mountns", "fuse", "openscad", "freecad", "bwrap",
           "nginx", "netns")
REQUIRE = os.environ.get("PARTSFS_REQUIRE", "").replace(",", " ").split()
MISSING = {}


def need(name):
    if name not in PREREQS:
        raise Failed("no prerequisite is named %r" % name)
    if name not in MISSING:
        MISSING[name] = missing(name)
    why = MISSING[name]
    if why is None:
        return
    if name in REQUIRE or "all" in REQUIRE:
        raise Failed("PARTSFS_REQUIRE requires %s: %s" % (name, why))
    raise Skip(why)


def on_path(prog):
    """Is `prog` an executable file in a directory of $PATH?"""
    for d in os.environ.get("PATH", "").split(os.pathsep):
        f = os.path.join(d or ".", prog)
        if os.path.isfile(f) and os.access(f, os.X_OK):
            return True
    return False


def missing(name):
    """Why the prerequisite `name` is missing, or None when it is here."""
    if name == "corpus":
        if not CORPUS:
            return ("the BOLTS corpus was not found: PARTSFS_CORPUS is not "
                    "set (configure --with-corpus=DIR sets it)")
        if not os.path.isdir(os.path.join(CORPUS, "data")):
            return ("the BOLTS corpus was not found: PARTSFS_CORPUS=%s has "
                    "no data/ directory" % CORPUS)
    elif name == "mountns":
        if not on_path("unshare"):
            return "unshare is not on PATH (Debian package util-linux)"
        p = subprocess.run(["unshare", "-m", "--propagation", "private",
                            "true"], capture_output=True, text=True)
        if p.returncode != 0:
            said = p.stderr.strip().splitlines() or [
                "unshare exited with status %d" % p.returncode]
            return "cannot make a mount namespace of its own: " + said[0]
    elif name == "fuse":
        try:
            fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
        except OSError as e:
            return "/dev/fuse cannot be opened: " + e.strerror
        try:
            if not stat.S_ISCHR(os.fstat(fd).st_mode):
                return "/dev/fuse is not a character device"
        finally:
            os.close(fd)
        if os.geteuid() != 0 and not on_path("fusermount3"):
            return ("FUSE mounts need root or fusermount3 on PATH "
                    "(Debian package fuse3)")
    elif name == "openscad":
        if not on_path("openscad"):
            return "openscad is not on PATH (Debian package openscad)"
    elif name == "freecad":
        if not on_path("freecadcmd"):
            return ("freecadcmd is not on PATH (Debian package "
                    "freecad-python3)")
    elif name == "bwrap":
        return missing_bwrap()
    elif name == "netns":
        for prog, pkg in (("ip", "iproute2"), ("nsenter", "util-linux"),
                          ("unshare", "util-linux")):
            if not on_path(prog):
                return "%s is not on PATH (Debian package %s)" % (prog, pkg)
        if os.geteuid() != 0:
            return "network namespaces and veth pairs need root"
        p = subprocess.run(["unshare", "-n", "true"], capture_output=True,
                           text=True)
        if p.returncode != 0:
            said = p.stderr.strip().splitlines() or [
                "unshare exited with status %d" % p.returncode]
            return "cannot make a network namespace: " + said[0]
    elif name == "nginx":
        if not any(os.access(p, os.X_OK) for p in (
                shutil.which("nginx"), "/usr/sbin/nginx") if p):
            return "nginx is not installed (Debian package nginx)"
    return None


def missing_bwrap():
    """Why engines cannot be sandboxed here, or None: bubblewrap 0.8.0 or
    later, run as the user engines run as (nobody when we are root: it
    makes an unprivileged user namespace), makes a sandbox as partsfs
    asks for one (tests/tap.c checks the same)."""
    bwrap = next((p for p in ("/usr/bin/bwrap", shutil.which("bwrap"))
                  if p and os.access(p, os.X_OK)), None)
    if bwrap is None:
        return "bwrap is not installed (Debian package bubblewrap)"
    argv = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns",
            "--die-with-parent", "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/lib", "/lib64"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    argv += ["--proc", "/proc", "--dev", "/dev", "--size", "1048576",
             "--tmpfs", "/tmp", "/usr/bin/true"]
    kw = {}
    if os.geteuid() == 0:
        kw = dict(user=65534, group=65534, extra_groups=[])
    try:
        p = subprocess.run(argv, capture_output=True, text=True,
                           timeout=60, **kw)
    except (OSError, subprocess.SubprocessError) as e:
        return "bwrap cannot be run: %s" % e
    if p.returncode != 0:
        said = (p.stderr.strip().splitlines() or
                ["exit status %d" % p.returncode])[0]
        return "bwrap cannot make a sandbox here: " + said
    return None


# --- mounting --------------------------------------------------------------

def partsctl(*args, check_rc=True):
    p = subprocess.run([PARTSCTL] + list(args), env=ENV,
                       capture_output=True, text=True)
    if check_rc and p.returncode != 0:
        raise Failed("partsctl %s: %s" % (" ".join(args), p.stderr))
    return p.stdout


def write_conf(path, cache, extra="", executors="", version=None,
               commands="", engine=FAKE):
    """A configuration with the fake engine (`engine`, a copy of it), a
    private cache, `executors` lines under executors: and `extra`
    top-level sections; `version`, a list, is the fake engine's version
    command; `commands`, more items of the command list.  With engine
    None, no executors at all: the private cache and `extra` alone, so
    that the engines, and which makes a class's model, are partsfs's
    defaults."""
    if engine is None:
        if executors or commands or version is not None:
            raise Failed("write_conf: executors without an engine")
        with open(path, "w") as f:
            f.write("cache:\n  dir: %s\n%s" % (cache, extra))
        return
    with open(path, "w") as f:
        f.write("executors:\n%s  commands:\n    - name: fake\n"
                "      argv: [%s, \"{params}\", \"{output}\", \"{format}\","
                " \"{script}\"]\n      formats: [stl, step]\n"
                % (executors, engine))
        if version is not None:
            f.write("      version: %s\n" % json.dumps(version))
        f.write(commands)
        f.write("cache:\n  dir: %s\n%s" % (cache, extra))


class Mount:
    """partsfs in the foreground on a fresh mount point, with its own
    configuration and cache; its log is self.log().  engine=None mounts
    with no executors configured (see write_conf); `prefix` is put before
    the command ("nsenter --net=..." to run it in a network namespace)."""

    def __init__(self, library, *opts, conf_extra="", executors="",
                 cache=None, version=None, commands="", engine=FAKE,
                 as_mounted=None, prefix=()):
        need("fuse")
        self.dir = tempfile.mkdtemp(dir=TMP, prefix="mnt-")
        self.cache = cache or tempfile.mkdtemp(dir=TMP, prefix="cache-")
        self.conf = os.path.join(self.dir + ".conf")
        write_conf(self.conf, self.cache, conf_extra, executors, version,
                   commands, engine)
        self.logfile = open(self.dir + ".log", "w+")
        args = list(prefix) + WRAPPER + [
            PARTSFS, library, self.dir, "-f", "-o", "config=" + self.conf]
        for o in opts:
            args += ["-o", o]
        self.proc = subprocess.Popen(args, env=ENV, stderr=self.logfile,
                                     stdout=self.logfile)
        MOUNTS.append(self)
        self.dev = None
        deadline = time.monotonic() + 4 * SLOW
        if as_mounted is not None:
            # the moment the mount is in the table, before the daemon
            # answers anything (a stat of it would wait for that)
            point = " %s " % self.dir
            while time.monotonic() < deadline:
                with open("/proc/self/mountinfo") as f:
                    if point in f.read():
                        break
                if self.proc.poll() is not None:
                    raise Failed("partsfs exited: " + self.log())
            as_mounted()
        while time.monotonic() < deadline:
            if os.path.ismount(self.dir):
                st = os.stat(self.dir)
                self.dev = "%d:%d" % (os.major(st.st_dev),
                                      os.minor(st.st_dev))
                return
            if self.proc.poll() is not None:
                raise Failed("partsfs exited: " + self.log())
            time.sleep(0.02)
        raise Failed("not mounted after %g s: %s" % (4 * SLOW, self.log()))

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def log(self):
        self.logfile.flush()
        with open(self.logfile.name) as f:
            return f.read()

    def stats(self):
        """/.partsfs/stats, its figures (a remote mount's remote_url,
        or a line saying why its server's could not be had, is not
        one)."""
        with open(self.path(".partsfs", "stats")) as f:
            return {k: int(v) for k, _, v in (l.strip().partition(" ")
                                              for l in f)
                    if v.lstrip("-").isdigit()}

    def unmount(self, timeout=20):
        """Unmount and wait for the daemon, which must exit with status 0
        (a sanitizer's or valgrind's report makes it non-zero), unless a
        test killed it with SIGKILL."""
        if self in MOUNTS:
            MOUNTS.remove(self)
        if self.proc.poll() is None:
            um = subprocess.run(["fusermount3", "-u", self.dir],
                                capture_output=True, text=True)
            try:
                self.proc.wait(timeout * SLOW)
            except subprocess.TimeoutExpired:
                where = stacks(self.proc.pid, self.dir, self.dev)
                self.proc.kill()
                self.proc.wait()
                subprocess.run(["fusermount3", "-uz", self.dir],
                               capture_output=True)
                raise Failed("partsfs did not exit after unmounting "
                             "(fusermount3: %s)\n%s\nwhere it was:\n%s" % (
                                 um.stderr.strip() or "ok",
                                 self.log()[-3000:], where))
        if self.proc.returncode not in (0, -signal.SIGKILL):
            raise Failed("partsfs exited with status %d:\n%s" % (
                self.proc.returncode, self.log()[-3000:]))


def stacks(pid, where=None, dev=None):
    """Where every thread of a process is, for a failure's report: its
    kernel stack and, with gdb at hand, its own; with `where` (a mount
    point), whether it is still mounted, what the FUSE connections are
    waiting for, and which processes hold files under it; with `dev` (the
    mount's "major:minor"), which other mount namespaces still have it."""
    out = []
    if where is not None:
        with open("/proc/self/mountinfo") as f:
            out.append("mounted: %s" % [l.strip() for l in f
                                        if where in l])
    if dev is not None:
        out += holding_namespaces(dev)
    if where is not None:
        conns = "/sys/fs/fuse/connections"
        for c in sorted(os.listdir(conns)) if os.path.isdir(conns) else []:
            try:
                with open(os.path.join(conns, c, "waiting")) as f:
                    out.append("fuse connection %s waiting %s" % (
                        c, f.read().strip()))
            except OSError:
                pass
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            held = []
            for link in ["cwd", "root"] + [
                    "fd/" + fd for fd in _listdir("/proc/%s/fd" % p)]:
                try:
                    t = os.readlink("/proc/%s/%s" % (p, link))
                except OSError:
                    continue
                if t == where or t.startswith(where + "/"):
                    held.append("%s -> %s" % (link, t))
            if held:
                out.append("process %s (%s) holds %s" % (
                    p, _read("/proc/%s/cmdline" % p).replace("\0", " "),
                    held))
    try:
        for tid in sorted(os.listdir("/proc/%d/task" % pid), key=int):
            t = "/proc/%d/task/%s/" % (pid, tid)
            def get(name):
                try:
                    with open(t + name) as f:
                        return f.read().strip()
                except OSError as e:
                    return "(%s)" % e.strerror
            out.append("thread %s %s wchan=%s\n%s" % (
                tid, get("comm"), get("wchan"), get("stack")))
    except OSError as e:
        out.append("(no /proc/%d: %s)" % (pid, e.strerror))
    if shutil.which("gdb"):
        try:
            g = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx",
                                "-ex", "thread apply all bt"],
                               capture_output=True, text=True, timeout=60)
            out.append(g.stdout[-12000:])
        except subprocess.TimeoutExpired:
            out.append("(gdb took too long)")
    return "\n".join(out)


def holding_namespaces(dev):
    """The mount namespaces other than ours that have a mount of the file
    system `dev` ("major:minor"), a line each: one of them keeps the
    superblock, and so the FUSE connection and its daemon, alive after it
    is unmounted here."""
    ours = _readlink("/proc/self/ns/mnt")
    seen = {}
    for p in sorted((p for p in os.listdir("/proc") if p.isdigit()), key=int):
        ns = _readlink("/proc/%s/ns/mnt" % p)
        if ns is None or ns == ours or ns in seen:
            continue
        points = [l.split()[4] for l in _read("/proc/%s/mountinfo" % p)
                  .splitlines() if l.split()[2:3] == [dev]]
        seen[ns] = True
        if points:
            yield ("mount namespace %s of process %s (%s) still has it at %s"
                   % (ns, p, _read("/proc/%s/cmdline" % p)
                      .replace("\0", " ").strip(), points))


def _readlink(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


def _listdir(d):
    try:
        return os.listdir(d)
    except OSError:
        return []


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


@atexit.register
def cleanup():
    for m in list(MOUNTS):
        try:
            m.unmount(5)
        except Exception:
            pass
    shutil.rmtree(TMP, ignore_errors=True)


def fake_library(root, sizes=range(1, 9), seconds=0.0, counter="",
                 mode="box", extra_classes=""):
    """A library of one class `rod` made by the fake engine: a leaf
    directory with default and one stem per size."""
    os.makedirs(os.path.join(root, "data"), exist_ok=True)
    os.makedirs(os.path.join(root, "fake", "fake"), exist_ok=True)
    with open(os.path.join(root, "data", "fake.blt"), "w") as f:
        f.write("""id: fake
author: t <t@example.org>
license: MIT <x>
blt-version: 0.4
classes:
  - id: rod
    names: {name: Rod, labeling: 'Rod %%(size)s'}
    parameters:
      literal: {seconds: %s, counter: '%s', mode: %s}
      free: [size]
      defaults: {size: 1}
      types: {size: Length (mm), seconds: Number, counter: String,
              mode: String}
      common: [[[%s]]]
    source: test
%s""" % (seconds, counter, mode, ", ".join(str(s) for s in sizes),
         extra_classes))
    with open(os.path.join(root, "fake", "fake", "fake.base"), "w") as f:
        f.write("- {filename: rod.txt, type: script, author: t <t@x>, "
                "license: MIT <x>, classids: [rod]}\n")
    with open(os.path.join(root, "fake", "fake", "rod.txt"), "w") as f:
        f.write("rod script 1\n")
    return root


def count_lines(path):
    try:
        with open(path) as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def read(path):
    with open(path, "rb") as f:
        return f.read()


def alive(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            return not any(l.startswith("State:") and "Z" in l for l in f)
    except FileNotFoundError:
        return False


BUNDLED = None


def bundled():
    global BUNDLED
    if BUNDLED is None:
        BUNDLED = Mount(LIBRARY)
    return BUNDLED




# --- more helpers (faults.py, badinput.py) ----------------------------------

def errno_of(fn, *args):
    """The errno name fn(*args) fails with, or None when it succeeds."""
    try:
        fn(*args)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    return None


def blackhole():
    """A listener on 127.0.0.1 that never accepts, its backlog full, so
    that connecting to it hangs: [the listener, the sockets filling it]
    (the caller closes them); its port is that of the first."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(0)
    fill = []
    for _ in range(4):
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(s.getsockname())
        fill.append(f)
    time.sleep(0.2)
    return [s] + fill


def wait_until(cond, what, timeout=5.0):
    """Poll cond() until it gives something true, and return that; Failed
    when the deadline passes first."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Failed("%s: not within %.1f s" % (what, timeout))
        time.sleep(0.02)


def in_private_namespace(script):
    """Run the calling test file again in a mount namespace of its own, so
    that whatever it mounts (tmpfs, FUSE) vanishes with it.  Returns only
    in the copy that runs there, or when there is no mount namespace to
    be had (the tests that need one are skipped)."""
    if os.environ.get("PARTSFS_UNSHARED") or missing("mountns") is not None:
        return
    env = dict(os.environ, PARTSFS_UNSHARED="1")
    shutil.rmtree(TMP, ignore_errors=True)
    os.execvpe("unshare", ["unshare", "-m", "--propagation", "private",
                           sys.executable, os.path.abspath(script)], env)


def fake_classes(root, classes, sizes=range(1, 9)):
    """A library of one collection `fake` whose classes are all made by
    the fake engine: `classes` maps a class id to its literal parameters
    (mode, seconds, counter, note: see tests/fake-engine.c); each class
    has a free size (Length) with a default of 1 and `sizes` in common."""
    os.makedirs(os.path.join(root, "data"), exist_ok=True)
    os.makedirs(os.path.join(root, "fake", "fake"), exist_ok=True)
    types = {"seconds": "Number", "counter": "String", "mode": "String",
             "note": "String"}
    text = ("id: fake\nauthor: t <t@example.org>\nlicense: MIT <x>\n"
            "blt-version: 0.4\nclasses:\n")
    for cid, literal in classes.items():
        lit = ", ".join("%s: %s" % (k, json.dumps(v))
                        for k, v in literal.items())
        typ = ", ".join(["size: Length (mm)"] + ["%s: %s" % (k, types[k])
                                                 for k in literal])
        text += ("  - id: %s\n    names: {name: %s, labeling: '%s "
                 "%%(size)s'}\n    parameters:\n      literal: {%s}\n"
                 "      free: [size]\n      defaults: {size: 1}\n"
                 "      types: {%s}\n      common: [[[%s]]]\n"
                 "    source: test\n" % (cid, cid, cid, lit, typ,
                                         ", ".join(str(s) for s in sizes)))
    with open(os.path.join(root, "data", "fake.blt"), "w") as f:
        f.write(text)
    with open(os.path.join(root, "fake", "fake", "fake.base"), "w") as f:
        f.write("- {filename: script.txt, type: script, author: t <t@x>, "
                "license: MIT <x>, classids: [%s]}\n" % ", ".join(classes))
    with open(os.path.join(root, "fake", "fake", "script.txt"), "w") as f:
        f.write("fake script\n")
    return root


def stl_bbox(data):
    """The bounding box of a binary STL, (lo, hi) as lists of 3 floats."""
    import struct
    n = struct.unpack_from("<I", data, 80)[0]
    if len(data) != 84 + 50 * n:
        raise Failed("not a binary STL: %d bytes for %d triangles" %
                     (len(data), n))
    lo, hi = [float("inf")] * 3, [float("-inf")] * 3
    for i in range(n):
        v = struct.unpack_from("<12f", data, 84 + 50 * i)[3:]
        for k in range(9):
            lo[k % 3] = min(lo[k % 3], v[k])
            hi[k % 3] = max(hi[k % 3], v[k])
    return lo, hi


def check_box(data, size, what="part"):
    """data is the fake engine's STL of a box of side `size`: 684 bytes
    and the box's bounding box."""
    eq(len(data), 684, what + ": size")
    check(data.startswith(b"fake-engine"), what + ": header %r" % data[:20])
    eq(stl_bbox(data), ([0.0] * 3, [float(size)] * 3), what + ": box")


def vmrss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise Failed("no VmRSS for %d" % pid)


TMPFS = []


class Tmpfs:
    """A tmpfs of `size` (mount's syntax: 4m) on a fresh directory,
    unmounted by umount() or at exit (after the mounts using it); it needs
    the mount namespace of in_private_namespace()."""

    def __init__(self, size):
        need("mountns")
        self.dir = tempfile.mkdtemp(dir=TMP, prefix="tmpfs-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size,
                        "tmpfs", self.dir], check=True)
        if not TMPFS:
            atexit.register(_tmpfs_cleanup)
        TMPFS.append(self)

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def umount(self):
        if self in TMPFS:
            TMPFS.remove(self)
            subprocess.run(["umount", "-l", self.dir], capture_output=True)


def _tmpfs_cleanup():
    # registered after cleanup(), so run before it: the mounts whose cache
    # is on a tmpfs go first
    for m in list(MOUNTS):
        try:
            m.unmount(5)
        except Exception:
            pass
    for t in list(TMPFS):
        t.umount()


def read_within(m, path, timeout=30.0):
    """read(path) on mount m, but a read that hangs is a failure, not a
    hung test: after `timeout` the daemon is killed (which ends the read)
    and Failed says so."""
    box = {}

    def reader():
        try:
            box["data"] = read(path)
        except OSError as e:
            box["error"] = e
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        log = m.log()
        m.proc.kill()
        m.proc.wait()
        subprocess.run(["fusermount3", "-uz", m.dir], capture_output=True)
        t.join(10)
        raise Failed("reading %s hung for %.0f s (partsfs killed); its log "
                     "ends:\n%s" % (path, timeout, log[-2000:]))
    if "error" in box:
        raise box["error"]
    return box["data"]
