#!/usr/bin/env python3
# remote-mount.py -- partsfs on the URL of a real `partsctl serve` (issue
# 20): the mission's path, cp -r, find, jq and xattrs against the server
# and a local mount of the same library; 16 readers of one part (one job,
# one transfer); 100 distinct parts; a failing part; what a listing costs
# in requests, and its revalidation after dir_cache; across a veth link
# between two network namespaces with 50 ms of round trip (delayproxy.py,
# tc netem being missing here); the server killed mid-transfer; the
# server unreachable at mount time and later; the nginx fleet in front.
# TAP output, in the style of mount.py (mountlib.py's harness), with
# serve.py's Server and fleet.py's nginx.

import atexit
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mountlib import *  # noqa: E402,F401,F403
import mountlib  # noqa: E402
import serve  # noqa: E402  (its Server; its tests are not ours)
import fleet  # noqa: E402  (its nginx; its tests are not ours)
import delayproxy  # noqa: E402
from delayproxy import DelayProxy  # noqa: E402

mountlib.TESTS.clear()
Server = serve.Server
SERVERS = serve.SERVERS
FULL = os.environ.get("PARTSFS_TEST_FULL") == "1"

in_private_namespace(__file__)
# killed by a harness's timeout: the mounts, servers and network
# namespaces are cleaned up all the same (atexit)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def url(srv):
    return "http://127.0.0.1:%d/" % srv.port


class RemoteMount(Mount):
    """A remote mount of the URL u: no engines, a cache of its own; the
    descriptors its Costs hold are closed before it is unmounted."""

    def __init__(self, u, *opts, **kw):
        self.held = []
        Mount.__init__(self, u, *opts, engine=None, **kw)

    def unmount(self, timeout=20):
        for c in self.held:
            c.close()
        Mount.unmount(self, timeout)


remote = RemoteMount


def server_stat(srv, name):
    """A figure of the server's /status/stats, asked of it directly."""
    st, _, body = srv.request("/status/stats")
    eq(st, 200, "/status/stats")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    raise Failed("no %s in /status/stats" % name)


class Costs:
    """What operations on mount m cost in the mount's own figures
    (remote_requests, remote_transfers, ...): reading /.partsfs/stats
    asks the server too, so what one read of it costs is measured first
    and taken off."""

    def __init__(self, m):
        self.m = m
        # through a descriptor of /.partsfs: reading the figures looks up
        # nothing in the root (whose listing may be past dir_cache)
        self.fd = os.open(m.path(".partsfs"), os.O_RDONLY | os.O_DIRECTORY)
        m.held.append(self)
        a = self.stats()
        b = self.stats()
        self.own = {k: b[k] - a[k] for k in b if k.startswith("remote_")}
        check(self.own.get("remote_requests", 0) <= 1,
              "a read of /.partsfs/stats cost %r" % self.own)
        self.last = b

    def stats(self):
        fd = os.open("stats", os.O_RDONLY, dir_fd=self.fd)
        with open(fd) as f:
            return {k: int(v) for k, _, v in (l.strip().partition(" ")
                                              for l in f)
                    if v.lstrip("-").isdigit()}

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __call__(self, fn=None):
        """Run fn; the remote_ figures it moved."""
        before = self.stats()
        if fn is not None:
            fn()
        after = self.stats()
        return {k: after[k] - before[k] - self.own.get(k, 0)
                for k in after if k.startswith("remote_")}


def ls_l(path):
    p = subprocess.run(["ls", "-l", path], capture_output=True, text=True)
    eq(p.returncode, 0, "ls -l %s: %s" % (path, p.stderr))
    return p.stdout


def find(root):
    """find's names under root with their types, /.partsfs left out."""
    p = subprocess.run(["find", root, "-mindepth", "1", "-path",
                        os.path.join(root, ".partsfs"), "-prune", "-o",
                        "-printf", "%P %y\\n"],
                       capture_output=True, text=True)
    eq(p.returncode, 0, "find %s: %s" % (root, p.stderr))
    return sorted(p.stdout.splitlines())


REMOTE = {}


def remote_bundled():
    """One remote mount of the server of the bundled library, and the
    local mount of it, for the tests that compare them."""
    if "bundled" not in REMOTE:
        REMOTE["bundled"] = remote(url(serve.bundled_server()))
    return REMOTE["bundled"], bundled()


def fake_lib(name, **kw):
    return fake_library(os.path.join(TMP, "lib-" + name), **kw)


def part(m, size, ext="stl", cls="rod"):
    return m.path("fake", cls, "size=%s.%s" % (size, ext))


# --- the tree over a server on loopback ----------------------------------

@test
def the_missions_path_reads_the_bytes_the_server_gives():
    need("freecad")
    m, local = remote_bundled()
    srv = serve.bundled_server()
    p = m.path("bolts/hex_screw/M8/length=20.step")
    eq(os.getxattr(p, "user.partsfs.cached"), b"no", "cached before")
    data = read_within(m, p, 300)
    check(data.startswith(b"ISO-10303-21"), "a STEP file: %r" % data[:40])
    st, h, want = srv.request("/files/bolts/hex_screw/M8/length=20.step")
    eq(st, 200, "the server's GET")
    eq(len(data), len(want), "length")
    eq(data, want, "the bytes")
    eq(os.stat(p).st_size, len(want), "size once read")
    eq(os.getxattr(p, "user.partsfs.cached"), b"yes", "cached after")
    eq(os.getxattr(p, "user.partsfs.label").decode(),
       "Hexagon head screw ISO 4017 - M8 x 20", "label")
    # again: from the local cache, no transfer
    c = Costs(m)
    got = c(lambda: eq(read(p), want, "re-read"))
    eq(got["remote_transfers"], 0, "transfers of a re-read")
    eq(got["remote_requests"], 0, "requests of a re-read")


@test
def find_lists_what_the_local_mount_lists_and_links_read_the_same():
    m, local = remote_bundled()
    got, want = find(m.dir), find(local.dir)
    check(len(want) > 100, "the local mount lists %d names" % len(want))
    missing = sorted(set(want) - set(got))[:5]
    extra = sorted(set(got) - set(want))[:5]
    check(not missing and not extra,
          "find: %d names remotely, %d locally; missing %r, extra %r"
          % (len(got), len(want), missing, extra))
    eq(got, want, "find")
    links = [n.rsplit(" ", 1)[0] for n in want if n.endswith(" l")]
    check(len(links) > 5, "links: %r" % links)
    for n in links:
        eq(os.readlink(m.path(n)), os.readlink(local.path(n)),
           "readlink " + n)
    eq(os.listdir(m.path("by-standard", "DIN125")),
       os.listdir(m.path("bolts", "plain_washer")), "through a link")


@test
def jq_over_json_files_gives_what_it_gives_on_the_local_mount():
    m, local = remote_bundled()
    srv = serve.bundled_server()
    files = ["bolts.json", "bolts/hex_screw.json",
             "bolts/hex_screw/M8/default.json",
             "bolts/hex_screw/M8/length=20.json",
             "by-standard/ISO4017/M10/default.json"]
    for f in files:
        for prog in (".", ".label // .name // .id"):
            r = subprocess.run(["jq", "-S", prog, m.path(f)],
                               capture_output=True, text=True)
            eq(r.returncode, 0, "jq %s %s: %s" % (prog, f, r.stderr))
            w = subprocess.run(["jq", "-S", prog, local.path(f)],
                               capture_output=True, text=True)
            eq(r.stdout, w.stdout, "jq '%s' %s" % (prog, f))
        st, _, body = srv.request("/files/" + f)
        eq(st, 200, "GET " + f)
        eq(read(m.path(f)), body, f + ": the server's bytes")
    # and over a whole leaf at once
    leaf = m.path("bolts/hex_screw/M8")
    names = sorted(n for n in os.listdir(leaf) if n.endswith(".json"))
    check(len(names) > 5, "the .json of %s: %r" % (leaf, names))
    r = subprocess.run(["jq", "-r", ".label.nice"] +
                       [os.path.join(leaf, n) for n in names],
                       capture_output=True, text=True)
    eq(r.returncode, 0, "jq over the leaf: %s" % r.stderr)
    w = subprocess.run(["jq", "-r", ".label.nice"] +
                       [local.path("bolts/hex_screw/M8", n) for n in names],
                       capture_output=True, text=True)
    eq(r.stdout, w.stdout, "jq -r .label.nice over the leaf")
    eq(r.stdout.splitlines(),
       [os.getxattr(os.path.join(leaf, n[:-5] + ".step"),
                    "user.partsfs.label").decode() for n in names],
       "the labels of the .json against user.partsfs.label")


@test
def cp_r_of_a_leaf_copies_the_servers_bytes():
    srv = serve.fake_server()
    m = remote(url(srv))
    try:
        dst = os.path.join(TMP, "cp-r")
        subprocess.run(["cp", "-r", m.path("fake/rod"), dst], check=True,
                       timeout=120 * SLOW)
        names = sorted(os.listdir(m.path("fake/rod")))
        eq(sorted(os.listdir(dst)), names, "names copied")
        for n in names:
            st, _, want = srv.request("/files/fake/rod/" + n)
            eq(st, 200, "GET " + n)
            eq(read(os.path.join(dst, n)), want, n)
        check_box(read(os.path.join(dst, "size=3.stl")), 3)
    finally:
        m.unmount()


@test
def xattrs_are_the_local_mounts_and_cached_turns_yes():
    lib = fake_lib("xattr")
    srv = Server(lib)
    SERVERS["xattr"] = srv
    m = remote(url(srv))
    local = Mount(lib)
    try:
        p, q = part(m, 4), part(local, 4)
        names = os.listxattr(q)
        for n in ("user.partsfs.label", "user.partsfs.params",
                  "user.partsfs.license", "user.partsfs.cached"):
            check(n in names, "the local mount lacks %s" % n)
        eq(sorted(os.listxattr(p)), sorted(names), "names")
        for n in names:
            if n not in ("user.partsfs.cached", "user.partsfs.error"):
                eq(os.getxattr(p, n), os.getxattr(q, n), n)
        eq(json.loads(os.getxattr(p, "user.partsfs.params"))["size"], 4,
           "params")
        eq(os.getxattr(p, "user.partsfs.cached"), b"no", "cached before")
        raises(errno.ENODATA, os.getxattr, p, "user.partsfs.error")
        raises(errno.ENODATA, os.getxattr, m.path("fake"),
               "user.partsfs.label")
        check_box(read(p), 4)
        eq(os.getxattr(p, "user.partsfs.cached"), b"yes", "cached after")
    finally:
        local.unmount()
        m.unmount()


# --- many readers ---------------------------------------------------------

@test
def sixteen_readers_of_a_part_not_made_share_one_job_and_one_transfer():
    lib = fake_lib("sixteen", seconds=1.0)
    srv = Server(lib)
    SERVERS["sixteen"] = srv
    m = remote(url(srv))
    try:
        os.listdir(m.path("fake/rod"))
        cost = Costs(m)
        jobs = server_stat(srv, "jobs_run")
        p = part(m, 6)
        go = threading.Barrier(16)
        got = [None] * 16

        def reader(i):
            go.wait()
            try:
                got[i] = read(p)
            except OSError as e:
                got[i] = e

        def all_read():
            threads = [threading.Thread(target=reader, args=(i,),
                                        daemon=True) for i in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60 * SLOW)
        c = cost(all_read)
        for i, g in enumerate(got):
            check(isinstance(g, bytes), "reader %d: %r" % (i, g))
            eq(g, got[0], "reader %d's bytes" % i)
        check_box(got[0], 6)
        st, _, want = srv.request("/files/fake/rod/size=6.stl")
        eq(got[0], want, "the server's bytes")
        eq(server_stat(srv, "jobs_run") - jobs, 1, "jobs the server ran")
        print("# 16 readers: %r" % c)
        eq(c["remote_transfers"], 1, "transfers")
    finally:
        m.unmount()


@test
def a_hundred_distinct_parts_read_whole_and_right():
    lib = fake_lib("hundred", sizes=range(1, 101))
    srv = Server(lib)
    SERVERS["hundred"] = srv
    m = remote(url(srv))
    try:
        os.listdir(m.path("fake/rod"))
        cost = Costs(m)
        jobs = server_stat(srv, "jobs_run")
        got = {}

        def reader(sizes):
            for s in sizes:
                try:
                    got[s] = read(part(m, s))
                except OSError as e:
                    got[s] = e

        def all_read():
            threads = [threading.Thread(target=reader, daemon=True,
                                        args=(range(1 + k, 101, 20),))
                       for k in range(20)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120 * SLOW)
        t0 = time.monotonic()
        c = cost(all_read)
        took = time.monotonic() - t0
        eq(len(got), 100, "parts read")
        for s in range(1, 101):
            check(isinstance(got[s], bytes), "size=%d: %r" % (s, got[s]))
            check_box(got[s], s, "size=%d" % s)
        print("# 100 parts in %.2f s: %r" % (took, c))
        eq(server_stat(srv, "jobs_run") - jobs, 100, "jobs the server ran")
        eq(c["remote_transfers"], 100, "transfers")
    finally:
        m.unmount()


# --- failures -------------------------------------------------------------

@test
def a_failing_part_is_eio_with_the_servers_reason():
    srv = serve.fake_server("fail", mode="fail")
    m = remote(url(srv))
    try:
        p = part(m, 2)
        raises(errno.EIO, read, p)
        reason = os.getxattr(p, "user.partsfs.error").decode()
        check("status 3" in reason, "user.partsfs.error: %r" % reason)
        errors = read(m.path(".partsfs/errors")).decode()
        first = errors.splitlines()[0] if errors else ""
        check(first.startswith("fake/rod/size=2.stl: ") or
              first.startswith("/fake/rod/size=2.stl: "),
              "the newest of /.partsfs/errors: %r" % errors[:500])
        check("status 3" in first, "its reason: %r" % first)
        check("fake/rod/size=2.stl" in m.log() and "status 3" in m.log(),
              "the mount's log: %r" % m.log()[-1000:])
        eq(os.getxattr(p, "user.partsfs.cached"), b"no", "cached")
        # another part of the mount is still fine to stat
        raises(errno.ENODATA, os.getxattr, part(m, 3),
               "user.partsfs.error")
    finally:
        m.unmount()


@test
def ctrl_c_on_a_waiting_reader_returns_at_once_and_the_part_still_comes():
    srv = serve.fake_server("slow3", seconds=3)
    m = remote(url(srv))
    try:
        p = part(m, 6)
        proc = subprocess.Popen(
            ["cat", p], stdout=subprocess.DEVNULL,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        # the open waits in the mount once its fetch reached the server
        # (before, the kernel may drop it without telling the mount)
        wait_until(lambda: server_stat(srv, "jobs_run") >= 1,
                   "the server's job", 10 * SLOW)
        time.sleep(0.2)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(10 * SLOW)
        took = time.monotonic() - t0
        eq(proc.returncode, -signal.SIGINT, "cat's end")
        check(took < 0.5 * SLOW, "cat died after %.2f s" % took)
        eq(m.stats()["remote_interrupted"], 1, "remote_interrupted")
        # the transfer went on: the part is in the local cache once the
        # server made it, and the next read costs no transfer
        wait_until(lambda: os.getxattr(p, "user.partsfs.cached") == b"yes",
                   "the part cached", 10 * SLOW)
        # the worker counts the transfer just after the part is cached
        before = wait_until(lambda: m.stats()["remote_transfers"],
                            "the transfer counted", 5 * SLOW)
        check_box(read(p), 6, "size=6")
        eq(m.stats()["remote_transfers"], before, "transfers of the re-read")
        eq(server_stat(srv, "jobs_run"), 1, "jobs on the server")
    finally:
        m.unmount()


@test
def a_blob_the_listing_names_gone_from_the_server_is_made_again():
    srv = serve.fake_server()
    st, _, want = srv.request("/files/fake/rod/size=7.stl")
    eq(st, 200, "the server made size=7.stl")
    m = remote(url(srv))
    try:
        names = {e["name"]: e for e in json.loads(
            srv.request("/files/fake/rod")[2])["entries"]}
        check("etag" in names["size=7.stl"], "the listing names its blob")
        os.listdir(m.path("fake/rod"))
        # the server's cache loses it (evicted, cleared) after the
        # listing named it
        partsctl("cache", "clear", "--config", srv.conf)
        cost = Costs(m)
        out = []
        c = cost(lambda: out.append(read(part(m, 7))))
        eq(out[0], want, "size=7.stl, made again")
        eq(c["remote_transfers"], 1, "transfers")
        eq(c["remote_requests"], 2, "requests (the blob's 404, then the "
           "part by its path)")
    finally:
        m.unmount()


# --- listings ----------------------------------------------------------------

@test
def listing_a_directory_costs_one_request_and_is_revalidated():
    lib = fake_lib("listing", sizes=range(1, 101))
    srv = Server(lib)
    SERVERS["listing"] = srv
    # the listings' lifetime, long enough for the first ls -l to be over
    # before it ends (under valgrind too)
    ttl = 2 * SLOW
    m = remote(url(srv), "dir_cache=%g" % ttl)
    try:
        os.listdir(m.path("fake"))
        cost = Costs(m)
        leaf = m.path("fake/rod")
        out = []
        t0 = time.monotonic()
        c1 = cost(lambda: out.append(ls_l(leaf)))
        rows = out[0].splitlines()[1:]
        eq(len(rows), 404, "entries of ls -l: %r" % rows[:5])
        print("# ls -l of 404 entries: %r" % c1)
        eq(c1["remote_requests"], 1, "requests of the first ls -l")
        eq(c1["remote_listings"], 1, "listings of the first ls -l")
        # stat of every entry: all known from the listing
        c2 = cost(lambda: [os.lstat(os.path.join(leaf, r.split()[-1]))
                           for r in rows])
        c3 = cost(lambda: out.append(ls_l(leaf)))
        if time.monotonic() - t0 < ttl:
            eq(c2["remote_requests"], 0, "requests of stat of every entry")
            eq(c3["remote_requests"], 0, "requests of ls -l within "
               "dir_cache")
        else:
            print("# (the machine is slow: past dir_cache before the "
                  "second ls -l)")
        eq(out[1], out[0], "the second ls -l")
        # past dir_cache: asked again, with the ETag: 304.  From inside
        # the leaf: the directories above it (past dir_cache too, and
        # asked again when a path is looked up through them) are not
        # looked at
        here = os.getcwd()
        os.chdir(leaf)
        try:
            # (the second ls -l may have revalidated it on a slow
            # machine: a whole dir_cache after it)
            time.sleep(ttl + 0.5)
            c4 = cost(lambda: os.listdir("."))
            time.sleep(ttl + 0.5)
            c5 = cost(lambda: ls_l("."))
        finally:
            os.chdir(here)
        print("# listing the leaf after dir_cache: %r" % c4)
        print("# ls -l . in the leaf after dir_cache: %r" % c5)
        eq(c4["remote_revalidated"], c4["remote_requests"],
           "requests that were revalidations")
        # by its path: each directory on it is asked again, no more
        time.sleep(ttl + 0.5)
        c6 = cost(lambda: ls_l(leaf))
        print("# ls -l MNT/fake/rod after dir_cache: %r" % c6)
        check(1 <= c6["remote_requests"] <= 3, "requests of ls -l of the "
              "path after dir_cache: %r" % c6)
        eq(c6["remote_revalidated"], c6["remote_requests"],
           "requests that were revalidations")
        # a value added on the server shows up within dir_cache
        fake_library(lib, sizes=range(1, 102))
        t = time.monotonic()
        wait_until(lambda: "size=101.stl" in os.listdir(leaf),
                   "size=101.stl listed", 10 * SLOW)
        print("# a new value showed up after %.2f s" %
              (time.monotonic() - t))
        check(time.monotonic() - t < ttl + 1.5 * SLOW, "within dir_cache")
        check_box(read(part(m, 101)), 101)
        # and a class added
        fake_library(lib, sizes=range(1, 102), extra_classes="""  - id: bar
    names: {name: Bar, labeling: 'Bar %(size)s'}
    parameters:
      literal: {mode: box}
      free: [size]
      defaults: {size: 2}
      types: {size: Length (mm), mode: String}
    source: test
""")
        with open(os.path.join(lib, "fake", "fake", "fake.base"), "w") as f:
            f.write("- {filename: rod.txt, type: script, author: t <t@x>, "
                    "license: MIT <x>, classids: [rod, bar]}\n")
        wait_until(lambda: "bar" in os.listdir(m.path("fake")),
                   "the class bar listed", 10 * SLOW)
        check_box(read(m.path("fake/bar/default.stl")), 2)
        # (last, so that the rest is seen whatever these say) listing the
        # leaf past dir_cache, or ls -l of it: its listing, revalidated,
        # and nothing else (the leaf's own stat needs no other listing)
        eq(c4["remote_requests"], 1, "requests of listing the leaf after "
           "dir_cache")
        eq(c5["remote_requests"], 1, "requests of ls -l . in the leaf "
           "after dir_cache")
    finally:
        m.unmount()


# --- across a network --------------------------------------------------------

class Netns:
    """Two network namespaces, cli and srv, joined by a veth pair
    (10.231.N.1 and 10.231.N.2), each with its lo up; self.run(ns)
    is the prefix that runs a command in one."""

    def __init__(self):
        need("netns")
        tag = "%d" % (os.getpid() % 100000)
        self.names = {"cli": "pfrm-c" + tag, "srv": "pfrm-s" + tag}
        self.net = 1 + os.getpid() % 250
        self.addr = {"cli": "10.231.%d.1" % self.net,
                     "srv": "10.231.%d.2" % self.net}
        self.made = []
        try:
            for ns in ("cli", "srv"):
                self._ip("netns", "add", self.names[ns])
                self.made.append(self.names[ns])
            self._ip("link", "add", "pfc" + tag, "type", "veth", "peer",
                     "name", "pfs" + tag)
            for ns, dev in (("cli", "pfc" + tag), ("srv", "pfs" + tag)):
                n = self.names[ns]
                self._ip("link", "set", dev, "netns", n)
                self._ip("-n", n, "addr", "add", self.addr[ns] + "/24",
                         "dev", dev)
                self._ip("-n", n, "link", "set", dev, "up")
                self._ip("-n", n, "link", "set", "lo", "up")
            self.dev = {"cli": "pfc" + tag, "srv": "pfs" + tag}
        except Exception:
            self.close()
            raise
        NETNS.append(self)

    def _ip(self, *args):
        p = subprocess.run(["ip"] + list(args), capture_output=True,
                           text=True)
        if p.returncode != 0:
            raise Failed("cannot make the network namespaces: ip %s: %s"
                         % (" ".join(args), p.stderr.strip()))

    def run(self, ns):
        return ["nsenter", "--net=/run/netns/" + self.names[ns]]

    def close(self):
        if self in NETNS:
            NETNS.remove(self)
        for n in self.made:
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
        self.made = []


NETNS = []


@atexit.register
def _netns_cleanup():
    for n in list(NETNS):
        n.close()


def start_proxy(prefix, listen, to, delay, log):
    """delayproxy.py as a process (in a namespace: prefix); its process
    and port."""
    try:
        r = delayproxy.start(prefix, listen, to, delay, stderr=log)
    except RuntimeError as e:
        raise Failed(str(e))
    return r.proc, r.port


def timed_get(prefix, host, port, path, times=3):
    """The time of each of `times` GETs of path on one connection, run in
    a namespace (prefix)."""
    code = ("import http.client, sys, time\n"
            "c = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]))\n"
            "for _ in range(%d):\n"
            "    t = time.monotonic()\n"
            "    c.request('GET', sys.argv[3])\n"
            "    c.getresponse().read()\n"
            "    print(time.monotonic() - t)\n" % times)
    p = subprocess.run(list(prefix) + [sys.executable, "-c", code, host,
                                       str(port), path],
                       capture_output=True, text=True, timeout=60)
    eq(p.returncode, 0, "a timed GET: %s" % p.stderr)
    return [float(x) for x in p.stdout.split()]


@test
def over_a_50_ms_link_a_listing_is_one_round_trip_and_a_part_one_transfer():
    need("fuse")
    net = Netns()
    lib = fake_lib("net", sizes=range(1, 101), extra_classes="""  - id: slow
    names: {name: Slow, labeling: 'Slow %(size)s'}
    parameters:
      literal: {seconds: 0.5, mode: box}
      free: [size]
      defaults: {size: 1}
      types: {size: Length (mm), seconds: Number, mode: String}
      common: [[[1, 2, 3]]]
    source: test
""")
    with open(os.path.join(lib, "fake", "fake", "fake.base"), "w") as f:
        f.write("- {filename: rod.txt, type: script, author: t <t@x>, "
                "license: MIT <x>, classids: [rod, slow]}\n")
    srv = proxy = m = None
    plog = open(os.path.join(TMP, "delayproxy.log"), "w+")
    try:
        srv = Server(lib, prefix=net.run("srv"))
        proxy, pport = start_proxy(net.run("srv"), net.addr["srv"] + ":0",
                                   "127.0.0.1:%d" % srv.port, 0.025, plog)
        rtts = timed_get(net.run("cli"), net.addr["srv"], pport,
                         "/status/version", 4)
        rtt = min(rtts[1:])
        print("# round trip of a request over the link: %.1f ms (the "
              "first, with its connection: %.1f ms)"
              % (rtt * 1000, rtts[0] * 1000))
        check(0.045 < rtt < 0.5, "the link's round trip is %.3f s" % rtt)
        m = remote("http://%s:%d/" % (net.addr["srv"], pport),
                   "connect_timeout=2", prefix=net.run("cli"))
        os.listdir(m.path("fake"))
        cost = Costs(m)
        out = []
        t0 = time.monotonic()
        c = cost(lambda: out.append(ls_l(m.path("fake/rod"))))
        took = time.monotonic() - t0
        # the two reads of /.partsfs/stats around it cost a round trip each
        took -= 2 * rtt
        rows = out[0].splitlines()[1:]
        eq(len(rows), 404, "entries")
        print("# ls -l of 100 parts (404 entries) over the link: %d "
              "requests, %.0f ms" % (c["remote_requests"], took * 1000))
        check(c["remote_requests"] <= 2, "requests of the listing: %r" % c)
        bound = 4 * rtt + 0.5 * SLOW
        check(took < bound, "the listing took %.2f s (bound %.2f s)"
              % (took, bound))
        # a cold part: the server's making (0.5 s) and one transfer
        os.listdir(m.path("fake/slow"))
        p = m.path("fake/slow/size=2.stl")
        t0 = time.monotonic()
        c = cost(lambda: out.append(read(p)))
        took = time.monotonic() - t0 - 2 * rtt
        check_box(out[-1], 2)
        print("# a cold part made in 0.5 s over the link: %.0f ms, %r"
              % (took * 1000, c))
        eq(c["remote_transfers"], 1, "transfers")
        check(c["remote_requests"] <= 3, "requests of a cold part: %r" % c)
        check(0.5 <= took < 0.5 + 6 * rtt + 1.0 * SLOW,
              "a cold part took %.2f s" % took)
        # and warm: no request at all
        c = cost(lambda: eq(read(p), out[-1], "re-read"))
        eq(c["remote_requests"], 0, "requests of a re-read")
        # the link cut (its server end down): the cached part reads; a
        # request to the unreachable server fails after connect_timeout
        # (2 s), though the connection it had is still open (nothing
        # tells its end that the other is gone)
        subprocess.run(["ip", "-n", net.names["srv"], "link", "set",
                        net.dev["srv"], "down"], check=True)
        eq(read_within(m, p, 10 * SLOW), out[-1],
           "the cached part with the link cut")
        t0 = time.monotonic()
        err = errno_of(read_within, m, m.path("fake/slow/size=3.stl"),
                       2 + 10 * SLOW)
        took = time.monotonic() - t0
        print("# a cold part with the link cut: %s after %.2f s"
              % (err, took))
        eq(err, "EIO", "a part with the link cut")
        check(took < 2 + 2 * SLOW, "it failed after %.1f s with "
              "connect_timeout=2" % took)
    finally:
        if m is not None:
            m.unmount()
        if proxy is not None:
            proxy.terminate()
            proxy.wait()
        if srv is not None:
            srv.stop()
        plog.close()
        net.close()


# --- the server gone ---------------------------------------------------------

BIG = 84 + 50 * 12 * 16384  # the fake engine's "big" STL


@test
def a_server_killed_mid_transfer_is_eio_and_leaves_nothing_cached():
    lib = fake_lib("big", mode="big")
    srv = Server(lib)
    SERVERS["big"] = srv
    srv2 = None
    # the part made on the server first: its transfer is all there is
    st, h, want = srv.request("/files/fake/rod/size=2.stl", timeout=120)
    eq((st, len(want)), (200, BIG), "the server's GET")
    proxy = DelayProxy(("127.0.0.1", 0), ("127.0.0.1", srv.port),
                       delay=0.001, rate=3e6).start()
    m = None
    try:
        m = remote("http://127.0.0.1:%d/" % proxy.port, "connect_timeout=2")
        p = part(m, 2)
        os.listdir(m.path("fake/rod"))
        before = m.stats()
        down0 = proxy.down
        killed = {}

        def killer():
            try:
                wait_until(lambda: proxy.down - down0 > 1500000,
                           "1.5 MB of the part passed on", 30 * SLOW)
                killed["at"] = proxy.down - down0
            finally:
                srv.proc.kill()
                srv.proc.wait()
        k = threading.Thread(target=killer, daemon=True)
        k.start()
        t0 = time.monotonic()
        err = errno_of(read_within, m, p, 60 * SLOW)
        took = time.monotonic() - t0
        k.join(60)
        sent = proxy.down - down0
        print("# killed after %s bytes; %d of %d bytes reached the mount; "
              "the reader saw %s after %.1f s"
              % (killed.get("at"), sent, BIG, err, took))
        check("at" in killed, "the transfer never started")
        check(sent < BIG, "the whole part got through before the kill")
        eq(err, "EIO", "the reader of a part cut short")
        eq(os.getxattr(p, "user.partsfs.cached"), b"no", "cached")
        after = m.stats()
        eq(after["remote_cached"], before["remote_cached"], "remote_cached")
        check(after["remote_errors"] > before["remote_errors"],
              "remote_errors did not count it")
        try:
            print("# user.partsfs.error: %s" %
                  os.getxattr(p, "user.partsfs.error").decode())
        except OSError as e:
            print("# no user.partsfs.error (%s)" % e.strerror)
        # the server back on its port, with its cache: the same read works
        proxy.rate = None
        srv2 = Server(lib, cache=srv.cache,
                      listen="127.0.0.1:%d" % srv.port)
        SERVERS["big2"] = srv2
        eq(srv2.port, srv.port, "the port")
        c = Costs(m)
        got = []
        d = c(lambda: got.append(read_within(m, p, 60 * SLOW)))
        eq(len(got[0]), BIG, "length read again")
        check(got[0] == want, "the bytes read again differ")
        eq(d["remote_transfers"], 1, "transfers of the read again")
        eq(os.getxattr(p, "user.partsfs.cached"), b"yes", "cached after")
    finally:
        if m is not None:
            m.unmount()
        proxy.close()
        if srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()


@test
def an_unreachable_server_fails_reads_quickly_and_the_mount_recovers():
    lib = fake_lib("away")
    port = fleet.free_port()
    srv = None
    # mounted with nobody listening: the mount comes up all the same
    m = remote("http://127.0.0.1:%d/" % port, "connect_timeout=2",
               "dir_cache=1")
    try:
        for what in ("fake/rod/size=1.stl", "fake/rod/size=1.json"):
            t0 = time.monotonic()
            err = errno_of(read_within, m, m.path(what), 2 + 10 * SLOW)
            took = time.monotonic() - t0
            eq(err, "EIO", "%s with nobody listening" % what)
            check(took < 2 + 1 * SLOW, "%s failed after %.1f s" %
                  (what, took))
        # the server started: the mount reconnects by itself
        srv = Server(lib, listen="127.0.0.1:%d" % port)
        check_box(read(part(m, 1)), 1)
        check_box(read(part(m, 2)), 2)
        names = sorted(os.listdir(m.path("fake/rod")))
        # stopped: the cached parts read, and the listing, past dir_cache
        # too; others fail
        srv.stop()
        srv = None
        time.sleep(1.2)
        before = m.stats()
        eq(sorted(os.listdir(m.path("fake/rod"))), names,
           "the listing with the server stopped")
        for s in (1, 2):
            check_box(read(part(m, s)), s)
        t0 = time.monotonic()
        err = errno_of(read_within, m, part(m, 3), 2 + 10 * SLOW)
        took = time.monotonic() - t0
        eq(err, "EIO", "an uncached part with the server stopped")
        check(took < 2 + 1 * SLOW, "it failed after %.1f s" % took)
        after = m.stats()
        check(after["remote_offline"] > before["remote_offline"],
              "remote_offline did not count the offline reads")
        # a server that does not answer at all: connect_timeout
        hole = blackhole()
        try:
            m2 = remote("http://127.0.0.1:%d/" % hole[0].getsockname()[1],
                        "connect_timeout=2")
            try:
                t0 = time.monotonic()
                err = errno_of(read_within, m2, part(m2, 1),
                               2 + 10 * SLOW)
                took = time.monotonic() - t0
                print("# a server that never accepts: %s after %.2f s"
                      % (err, took))
                eq(err, "EIO", "a part of a server that never accepts")
                check(1.5 < took < 2 + 2 * SLOW,
                      "it failed after %.1f s with connect_timeout=2"
                      % took)
            finally:
                m2.unmount()
        finally:
            for s in hole:
                s.close()
        # back again: everything works
        srv = Server(lib, listen="127.0.0.1:%d" % port)
        check_box(read(part(m, 3)), 3)
        check_box(read(part(m, 1)), 1)
    finally:
        m.unmount()
        if srv is not None:
            srv.stop()


# --- behind nginx ------------------------------------------------------------

@test
def through_the_nginx_fleet_parts_read_right():
    need("nginx")
    lib = fake_lib("fleet")
    # the instances share a cache, as a fleet's do: the listing's instance
    # knows the parts another made
    shared = tempfile.mkdtemp(dir=TMP, prefix="fleet-cache-")
    with fleet.fleet_of(lib, n=2, cache=shared) as (instances, ng):
        m = remote("http://127.0.0.1:%d/" % ng.port)
        try:
            eq(sorted(os.listdir(m.path("fake/rod"))),
               sorted(e["name"] for e in json.loads(
                   ng.get("/files/fake/rod")[2])["entries"]), "the leaf")
            for s in (1, 2, 3, 5):
                data = read_within(m, part(m, s), 60 * SLOW)
                check_box(data, s, "size=%d" % s)
                st, _, want = ng.get("/files/fake/rod/size=%d.stl" % s)
                eq((st, data), (200, want), "size=%d: nginx's bytes" % s)
                st, _, want = ng.get("/files/fake/rod/size=%d.json" % s)
                eq(read(part(m, s, "json")), want, "size=%d.json" % s)
            # a second member, its cache empty: the same bytes again,
            # asked for as the blobs the listing names (made by now),
            # and a third: those blobs from nginx's cache, no instance
            # asked
            for k in (2, 3):
                m2 = remote("http://127.0.0.1:%d/" % ng.port)
                try:
                    for s in (1, 2):
                        eq(read_within(m2, part(m2, s), 60 * SLOW),
                           read(part(m, s)), "size=%d by mount %d" % (s, k))
                finally:
                    m2.unmount()
            with open(os.path.join(ng.dir, "access.log")) as f:
                rows = [l.rstrip("\n").split("|") for l in f]
            blobs = [r for r in rows if r[0].startswith("/blobs/")]
            print("# nginx saw %d requests of /blobs/, %d answered from "
                  "its cache" % (len(blobs),
                                 sum(1 for r in blobs if r[2] == "-")))
            eq(len(blobs), 4, "blob requests of the second and third "
               "mounts")
            eq(sum(1 for r in blobs if r[2] == "-" and r[1] == "200"), 2,
               "the third mount's blobs came from nginx's cache")
        finally:
            m.unmount()


if __name__ == "__main__":
    failed = run_tests()
    for m in REMOTE.values():
        try:
            m.unmount()
        except Failed as e:
            print("# " + str(e).replace("\n", "\n# "))
            failed += 1
    for s in SERVERS.values():
        try:
            s.stop()
        except Failed as e:
            print("# " + str(e).replace("\n", "\n# "))
            print("Bail out! a server ended badly")
            failed += 1
    cleanup()
    sys.exit(1 if failed else 0)
