# remote.py -- the benchmarks of the remote mount (issue 20), each figure
# beside its baseline, the local mount, in the same run:
#   R1 re-reading a cached 1 MiB part over the remote mount (loopback),
#      against the local mount's re-read of the same part (within 5%);
#   R2 ls -lR of the bundled library over a 50 ms link (two network
#      namespaces joined by a veth pair, tests/delayproxy.py delaying),
#      cold and warm, against the local mount's ls -lR (at most 3 times
#      its time plus the round trips the remote mount needed, which are
#      counted from /.partsfs/stats);
#   R3 a cold part over the remote mount on loopback (a fresh cache on the
#      server and on the mount) against the same part made by a local
#      mount with a fresh cache (within 10%).
# Needs root, /dev/fuse and fusermount3; R2 needs ip(8) and nsenter(1)
# too.  Skipped, with the reason, when partsfs cannot mount a URL.
# usage: python3 bench/remote.py BUILD-DIR SOURCE-DIR  (bench/run.sh runs it)
# BENCH_RUNS (default 9; R2: 5) sets repetitions; BENCH_ONLY=R1,R3 runs
# only those.  The output is also written to bench/out/remote.txt.

import os
import re
import shutil
import subprocess
import sys
import time

# nothing is written into the source tree (bench/__pycache__)
sys.dont_write_bytecode = True

# the tests' delay proxy (tests/delayproxy.py)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "tests"))
import delayproxy  # noqa: E402
from benchlib import (TRIANGLES, Mounted, loadavg, machine,  # noqa: E402
                      main_args, median, mesh_library, read_all, secs,
                      spread, which)

B = main_args()
RUNS = int(os.environ.get("BENCH_RUNS", "9"))
R2_RUNS = int(os.environ.get("BENCH_RUNS", "5"))
RTT = 0.050                     # R2's round-trip time, seconds
REPORT = os.path.join(B.out, "remote.txt")
_report = open(REPORT, "w")


_print = B.say


def say(text=""):
    """Print, and keep in bench/out/remote.txt (B.legend too)."""
    _print(text)
    _report.write(text + "\n")
    _report.flush()


B.say = say


def W(name):
    return os.path.join(B.work, name)


def sbin(name):
    return shutil.which(name, path="/usr/local/sbin:/usr/local/bin:"
                        "/usr/sbin:/usr/bin:/sbin:/bin")


class Server:
    """partsctl serve on a free port; `prefix` runs it elsewhere (nsenter
    into a network namespace)."""

    def __init__(self, library, cache, conf=None, listen="127.0.0.1:0",
                 prefix=()):
        self.logpath = os.path.join(B.tmp("serve-log"), "log")
        log = open(self.logpath, "w")
        self.argv = [B.partsctl, "serve", library, "--listen", listen,
                     "--cache", cache] + (["--config", conf] if conf else [])
        self.proc = subprocess.Popen(list(prefix) + self.argv, env=B.env,
                                     stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL)
        log.close()
        self.url = None
        deadline = time.monotonic() + 30
        while self.url is None:
            with open(self.logpath) as f:
                m = re.search(r"(http://[0-9.]+:(\d+)/) \(native", f.read())
            if m:
                self.url, self.port = m.group(1), int(m.group(2))
            elif self.proc.poll() is not None or \
                    time.monotonic() > deadline:
                raise RuntimeError("partsctl serve did not start: " +
                                   open(self.logpath).read()[-2000:])
            else:
                time.sleep(0.01)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


def remote_mount(url, cache, *opts, prefix=()):
    """partsfs URL MNT -f -o cache=DIR [-o opt]... (prefix: nsenter)."""
    mnt = B.tmp("rmnt")
    argv = [B.partsfs, url, mnt, "-f", "-o", "cache=" + cache]
    for o in opts:
        argv += ["-o", o]
    proc = B.mount(list(prefix) + argv, mnt, mnt + ".log")
    return Mounted(B, proc, mnt, list(prefix) + argv)


def stats(m):
    """The remote mount's counters (/.partsfs/stats): name -> int."""
    with open(m.path(".partsfs", "stats")) as f:
        text = f.read()
    return {k: int(v) for k, v in re.findall(r"^(remote_\w+) (\d+)$", text,
                                             re.M)}


def stats_cost(m):
    """The requests a read of /.partsfs/stats counts itself (it asks the
    server for its /status/stats): subtracted from before/after deltas."""
    a = stats(m)["remote_requests"]
    b = stats(m)["remote_requests"]
    return b - a


def requests_during(m, fn):
    """fn()'s result and the HTTP requests the mount made meanwhile."""
    cost = stats_cost(m)
    before = stats(m)
    r = fn()
    after = stats(m)
    d = {k: after[k] - before[k] for k in after}
    d["remote_requests"] -= cost
    return r, d


# --- R1 ----------------------------------------------------------------------

def bench_reread():
    say("R1 (issue 20) re-reading a cached 1 MiB part over the remote mount "
        "vs over the local mount")
    say("    (loopback; target: within 5%%); load average %s" % loadavg())
    lib, conf = mesh_library(B)
    srv = Server(lib, B.tmp("r1-scache"), conf)
    local = remote = None
    try:
        local = B.mount_partsfs(lib, B.tmp("r1-lcache"), config=conf)
        remote = remote_mount(srv.url, B.tmp("r1-rcache"))
        rel = ("bench", "strip", "default.stl")
        lpart, rpart = local.path(*rel), remote.path(*rel)
        with open(lpart, "rb") as f:
            ldata = f.read()
        with open(rpart, "rb") as f:
            rdata = f.read()
        if ldata != rdata or len(ldata) != 84 + 50 * TRIANGLES:
            raise RuntimeError("R1: the two mounts' parts differ (%d and %d "
                               "bytes)" % (len(ldata), len(rdata)))
        say("  the part: bench/strip/default.stl of the mesh library of T5 "
            "(%d bytes, the same bytes both sides)" % len(ldata))
        say("  server: " + B.show(srv.argv))
        say("  local:  " + B.show(local.argv, subs=((local.dir, "$W/mnt"),)))
        say("  remote: " + B.show(remote.argv, subs=(
            (remote.dir, "$W/rmnt"), (srv.url, "http://127.0.0.1:PORT/"))))
        say("  each part read once through its mount first (made by the "
            "server, transferred to the remote mount's cache)")
        buf = bytearray(128 * 1024)
        per, blocks = 25, 4 * RUNS
        for path in (lpart, rpart):
            for _ in range(per):
                read_all(path, buf)
        res = {"remote": [], "local": []}

        def loop():
            for b in range(blocks):
                order = [("remote", rpart), ("local", lpart)]
                if b % 2:
                    order.reverse()
                for name, path in order:
                    t0 = time.perf_counter()
                    for _ in range(per):
                        if read_all(path, buf) != len(ldata):
                            raise RuntimeError("short read of " + path)
                    res[name].append((time.perf_counter() - t0) / per)
        _, d = requests_during(remote, loop)
        say("  in-process (python3): open, read(2) of 128 KiB to the end, "
            "close; %d blocks of %d reads" % (blocks, per))
        say("    of each, interleaved; time per read of the whole file:")
        for name in res:
            say("    %-7s %s, %.2f GB/s" % (
                name, spread(res[name]), len(ldata) / median(res[name]) / 1e9))
        say("    HTTP requests of the remote mount during the %d re-reads: %d"
            % (blocks * per, d["remote_requests"]))
        r = median(res["remote"]) / median(res["local"])
        paired = median([a / b for a, b in zip(res["remote"], res["local"])])
        say("    ratio remote/local %.3f (median of paired ratios %.3f)   "
            "target <= 1.05: %s" % (r, paired, B.record(
                "R1", "re-read 1 MiB cached part, remote/local mount",
                "%.3f (<= 1.05)" % r, r <= 1.05)))
        oc = {"remote": [], "local": []}
        for b in range(blocks):
            for name, path in (("remote", rpart), ("local", lpart)):
                t0 = time.perf_counter()
                for _ in range(per):
                    os.close(os.open(path, os.O_RDONLY))
                oc[name].append((time.perf_counter() - t0) / per)
        say("    open and close alone: remote %s, local %s" % (
            secs(median(oc["remote"])), secs(median(oc["local"]))))
        cat = {"remote": [], "local": []}
        for _ in range(5):
            for name, path in (("remote", rpart), ("local", lpart)):
                cat[name].append(B.timeit(40, ["/bin/cat", path])[0])
        r = median(cat["remote"]) / median(cat["local"])
        say("  with a process per read, 5 rounds of `$B/bench/timeit 40 "
            "/bin/cat FILE`: remote %s, local %s," % (
                secs(median(cat["remote"])), secs(median(cat["local"]))))
        say("    ratio %.3f (reference, no target)" % r)
    finally:
        for m in (remote, local):
            if m:
                m.close()
        srv.stop()


# --- R2 ----------------------------------------------------------------------

class Link:
    """Two network namespaces, C (the client) and S (the server), joined
    by a veth pair (10.201.0.1 in C, 10.201.0.2 in S); a delay proxy in S
    on 10.201.0.2 forwards to a server on S's loopback, RTT/2 each way."""

    C_ADDR, S_ADDR = "10.201.0.1", "10.201.0.2"

    def __init__(self):
        tag = "rmb%d" % os.getpid()
        self.c, self.s = tag + "c", tag + "s"
        self.made = []
        self.commands = []
        self.ip("netns", "add", self.c)
        self.made.append(self.c)
        self.ip("netns", "add", self.s)
        self.made.append(self.s)
        self.ip("link", "add", tag + "a", "type", "veth", "peer", "name",
                tag + "b")
        self.ip("link", "set", tag + "a", "netns", self.c)
        self.ip("link", "set", tag + "b", "netns", self.s)
        for ns, dev, addr in ((self.c, tag + "a", self.C_ADDR),
                              (self.s, tag + "b", self.S_ADDR)):
            self.ip("-n", ns, "addr", "add", addr + "/24", "dev", dev)
            self.ip("-n", ns, "link", "set", dev, "up")
            self.ip("-n", ns, "link", "set", "lo", "up")

    def ip(self, *args):
        argv = [sbin("ip")] + list(args)
        self.commands.append("ip " + " ".join(args))
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)

    def into(self, ns):
        return [sbin("nsenter"), "--net=/run/netns/" + ns, "--"]

    def close(self):
        for ns in self.made:
            subprocess.run([sbin("ip"), "netns", "del", ns],
                           stderr=subprocess.DEVNULL)
        self.made = []


def curl_times(prefix, url, n=5):
    """n GETs of url by curl (run after prefix: nsenter), one connection
    each: the medians of the connect time and the total time."""
    conn, total = [], []
    for _ in range(n):
        p = subprocess.run(list(prefix) + [
            "curl", "-s", "-o", "/dev/null", "-w",
            "%{time_connect} %{time_total}", url],
            capture_output=True, text=True, check=True)
        c, t = p.stdout.split()
        conn.append(float(c))
        total.append(float(t))
    return median(conn), median(total)


def kept_rtt(prefix, url, n=6):
    """The median time of a GET of url on a connection kept open (run
    after prefix: nsenter), the first (the connection's) left out: what
    one more request costs on the link."""
    code = ("import http.client, sys, time, urllib.parse\n"
            "u = urllib.parse.urlsplit(sys.argv[1])\n"
            "c = http.client.HTTPConnection(u.hostname, u.port)\n"
            "for _ in range(%d):\n"
            "    t = time.monotonic()\n"
            "    c.request('GET', u.path)\n"
            "    c.getresponse().read()\n"
            "    print(time.monotonic() - t)\n" % n)
    p = subprocess.run(list(prefix) + [sys.executable, "-c", code, url],
                       capture_output=True, text=True, check=True)
    return median([float(x) for x in p.stdout.split()][1:])


def bench_tree():
    say("R2 (issue 20) ls -lR of the bundled library over a %d ms link vs "
        "the local mount's ls -lR" % (RTT * 1000))
    say("    (target: at most 3 x local + requests x RTT); load average %s"
        % loadavg())
    if not sbin("ip") or not sbin("nsenter"):
        say("  skipped: R2 needs ip(8) and nsenter(1)")
        return
    link = Link()
    srv = proxy = local = None
    try:
        srv = Server(B.library, B.tmp("r2-scache"), prefix=link.into(link.s))
        proxy = delayproxy.start(link.into(link.s), link.S_ADDR + ":0",
                                 "127.0.0.1:%d" % srv.port, RTT / 2,
                                 handshake=True)
        url = "http://%s:%d/" % (link.S_ADDR, proxy.port)
        say("  the link: network namespaces C and S, a veth pair (%s in C, "
            "%s in S);" % (link.C_ADDR, link.S_ADDR))
        say("    `tc netem` is not available on this kernel: "
            "tests/delayproxy.py in S delays every chunk")
        say("    %d ms each way (and a new connection by a round trip) "
            "between %s:PROXY and the server" % (RTT * 500, link.S_ADDR))
        say("    on S's loopback; the remote mount runs in C (nsenter "
            "--net), the benchmark and ls outside")
        say("  server (in S): " + B.show(srv.argv))
        say("  proxy  (in S): " + B.abbrev("python3 $S/tests/delayproxy.py "
                                           "--listen %s:0 --to "
                                           "127.0.0.1:SERVER --handshake "
                                           "--delay %g" % (
                                               link.S_ADDR, RTT / 2)))
        c, t = curl_times(link.into(link.c), url + "status/stats")
        c0, t0 = curl_times(link.into(link.s), srv.url + "status/stats")
        say("  the link, checked: curl of /status/stats from C through the "
            "proxy: connect %s, total %s;" % (secs(c), secs(t)))
        say("    from S to the server directly: connect %s, total %s (a new "
            "connection: a round trip" % (secs(c0), secs(t0)))
        say("    for the handshake, one for the request)")
        # what a request's round trip costs on this link (the proxy's own
        # handling on top of its delays): the bound counts that
        rtt = max(RTT, kept_rtt(link.into(link.c), url + "status/version"))
        say("  a request's round trip on the link (GETs on a kept "
            "connection from C, median): %s; the bound counts it" %
            secs(rtt))
        say("  local mount: " + B.show([B.partsfs, B.library, W("mnt"), "-f",
                                        "-o", "cache=" + W("cache")]))
        say("  remote mount (in C): " + B.show(
            [B.partsfs, "http://%s:PROXY/" % link.S_ADDR, W("rmnt"), "-f",
             "-o", "cache=" + W("rcache")]))
        say("  command: `$B/bench/timeit 1 /bin/ls -lR DIR` (output to "
            "/dev/null); requests: remote_requests of")
        say("    DIR/.partsfs/stats before and after (less what reading "
            "the stats costs)")
        lcache = B.tmp("r2-lcache")
        ls = lambda d: B.timeit(1, ["/bin/ls", "-lR", d])[0]  # noqa: E731
        res = {}
        reqs = {}

        def add(key, t, n=None):
            res.setdefault(key, []).append(t)
            if n is not None:
                reqs.setdefault(key, []).append(n)

        def remote(cache, *opts):
            return remote_mount(url, cache, *opts, prefix=link.into(link.c))

        entries = {}
        for r in range(R2_RUNS):
            # local: a fresh mount (cold), then the same again (warm)
            local = B.mount_partsfs(B.library, lcache)
            try:
                add("local cold", ls(local.dir))
                add("local warm", ls(local.dir))
                if "local" not in entries:
                    entries["local"] = len(B.run(
                        ["/usr/bin/find", local.dir],
                        stdout=subprocess.PIPE).stdout.splitlines())
            finally:
                local.close()
            # remote: a fresh mount and a fresh cache (cold), then the
            # same pass again within dir_cache (warm)
            m = remote(os.path.join(B.tmp("r2-rcache"), "cache"))
            try:
                t, d = requests_during(m, lambda: ls(m.dir))
                add("remote cold", t, d["remote_requests"])
                t, d = requests_during(m, lambda: ls(m.dir))
                add("remote warm", t, d["remote_requests"])
                if "remote" not in entries:
                    entries["remote"] = len(B.run(
                        ["/usr/bin/find", m.dir],
                        stdout=subprocess.PIPE).stdout.splitlines())
            finally:
                m.close()
            # remote, listings past their time: dir_cache=1, a pass, 1.5 s,
            # a pass that revalidates every directory (304s)
            m = remote(os.path.join(B.tmp("r2-rcache"), "cache"),
                       "dir_cache=1")
            try:
                ls(m.dir)
                time.sleep(1.5)
                t, d = requests_during(m, lambda: ls(m.dir))
                add("remote revalidated", t, d["remote_requests"])
                reqs.setdefault("revalidated 304", []).append(
                    d.get("remote_revalidated", 0))
            finally:
                m.close()
        say("  entries (find): local %d, remote %d" % (
            entries.get("local", 0), entries.get("remote", 0)))
        say("  %d passes of each, in turns; cold: a fresh mount (and "
            "cache); warm: the same mount again" % R2_RUNS)
        say("    at once; revalidated: a mount with -o dir_cache=1, one "
            "pass, 1.5 s, then the pass timed")
        for key in ("local cold", "local warm", "remote cold", "remote warm",
                    "remote revalidated"):
            extra = ""
            if key in reqs:
                extra = ", requests %s" % "/".join(
                    str(n) for n in sorted(set(reqs[key])))
            say("    %-19s %s%s" % (key, spread(res[key]), extra))
        say("    answered 304 in the revalidated passes: %s" % "/".join(
            str(n) for n in sorted(set(reqs["revalidated 304"]))))
        for kind, base in (("cold", "local cold"), ("warm", "local warm"),
                           ("revalidated", "local warm")):
            t = median(res["remote " + kind])
            loc = median(res[base])
            n = median(reqs["remote " + kind])
            bound = 3 * loc + n * rtt
            say("    %-11s remote %s, bound 3 x %s + %g x %.1f ms = %s; "
                "remote/bound %.2f" % (kind, secs(t), secs(loc), n,
                                       rtt * 1000, secs(bound), t / bound))
            say("      target remote <= 3 x local + requests x RTT: %s" % (
                B.record("R2", "ls -lR over 50 ms, %s, remote/(3 local + "
                         "%g RTT)" % (kind, n), "%.2f (<= 1)" % (t / bound),
                         t <= bound)))
    finally:
        if proxy:
            proxy.stop()
        if srv:
            srv.stop()
        link.close()


# --- R3 ----------------------------------------------------------------------

def r3_part():
    """(what, library, path, configuration, primer): a real OpenSCAD
    part when openscad is installed, else the fake engine's."""
    if which("openscad"):
        return ("OpenSCAD", B.library, "bolts/hex_screw/M8/length=20.stl",
                B.scad_conf, "bolts/hex_nut/M8/default.stl")
    root = B.tmp("r3lib")
    conf = B.fake_rod(root, "      literal: {seconds: 0.2}\n"
                      "      free: [size]\n      defaults: {size: 1}\n"
                      "      types: {size: Length (mm), seconds: Number}\n")
    return ("the fake engine (0.2 s; openscad is not installed)", root,
            "fake/rod/default.step", conf, None)


def bench_cold():
    say("R3 (issue 20) a cold part over the remote mount (loopback) vs the "
        "same part made by a local mount")
    say("    (target: within 10%%); load average %s" % loadavg())
    what, lib, path, conf, primer = r3_part()
    out = W("r3.out")
    say("  part: %s, made by %s; %d runs of each side, in rotating order"
        % (path, what, RUNS))
    say("  remote: " + B.show([B.partsctl, "serve", lib, "--listen",
                              "127.0.0.1:0", "--cache", W("scache"),
                              "--config", conf]) + " (started, not timed)")
    say("          " + B.show([B.partsfs, "http://127.0.0.1:PORT/", W("rmnt"),
                               "-f", "-o", "cache=" + W("rcache")]) +
        " (mounted, not timed)")
    say("  local:  " + B.show([B.partsfs, lib, W("mnt"), "-f", "-o",
                              "cache=" + W("cache"), "-o", "config=" + conf])
        + " (mounted, not timed)")
    say("  timed:  " + B.show(["cat", W("mnt/" + path)], stdout=out) +
        " (or $W/rmnt/...)")
    say("  fresh cache: every cache directory new (the server's, the "
        "remote mount's, the local mount's);")
    known = None
    if primer:
        known = B.known_cache(primer, conf)
        say("  cache knows the engine version: the server's and the local "
            "mount's a copy of a cache in which")
        say("    %s was made (the remote mount's still new)" % primer)
    res = {}
    sizes = set()
    requests = []

    def cat(m, key):
        res.setdefault(key, []).append(B.timed(["cat", m.path(path)],
                                               stdout_path=out))
        sizes.add(os.path.getsize(out))
        os.unlink(out)

    def new_cache(template):
        if template:
            return B.fresh_copy(template)
        return os.path.join(B.tmp("fresh"), "cache")

    def remote_side(template, key):
        srv = Server(lib, new_cache(template), conf)
        try:
            with remote_mount(srv.url, new_cache(None)) as m:
                cost = stats_cost(m)
                before = stats(m)["remote_requests"]
                cat(m, key)
                requests.append(stats(m)["remote_requests"] - before - cost)
        finally:
            srv.stop()

    def local_side(template, key):
        with B.mount_partsfs(lib, new_cache(template), config=conf) as m:
            cat(m, key)

    steps = [lambda: remote_side(None, "remote fresh"),
             lambda: local_side(None, "local fresh")]
    if known:
        steps += [lambda: remote_side(known, "remote known"),
                  lambda: local_side(known, "local known")]
    for i in range(RUNS):
        k = i % len(steps)
        for step in steps[k:] + steps[:k]:
            step()
    say("  output sizes: %s bytes; HTTP requests of a remote cat: %s" % (
        ", ".join(str(s) for s in sorted(sizes)),
        "/".join(str(n) for n in sorted(set(requests)))))
    kinds = [("fresh", "fresh cache")]
    if known:
        kinds.append(("known", "cache knows the engine version"))
    for k, label in kinds:
        rt, lt = res["remote " + k], res["local " + k]
        say("  %s:" % label)
        say("    remote mount: " + spread(rt))
        say("    local mount:  " + spread(lt))
        r = median(rt) / median(lt)
        paired = median([a / b for a, b in zip(rt, lt)])
        say("    ratio remote/local %.3f (%+.1f%%; median of paired ratios "
            "%.3f)   target <= 1.10: %s" % (
                r, (r - 1) * 100, paired, B.record(
                    "R3", "cold part, remote/local mount, %s" % label,
                    "%.3f (<= 1.10)" % r, r <= 1.10)))


def probe():
    """Why partsfs cannot mount a URL here, or None."""
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse") or \
            which("fusermount3") is None:
        return "the mount benchmarks need root, /dev/fuse and fusermount3"
    lib = B.tmp("probe-lib")
    os.makedirs(os.path.join(lib, "data"))
    srv = Server(lib, B.tmp("probe-cache"))
    try:
        with remote_mount(srv.url, B.tmp("probe-rcache")) as m:
            stats(m)["remote_requests"]
    except (RuntimeError, KeyError, OSError) as e:
        return "this partsfs does not mount a URL (%s)" % (
            " ".join(str(e).split())[:300])
    finally:
        srv.stop()
    return None


def main():
    say("R1-R3 (issue 20) the remote mount; %s; load average %s" % (
        machine(), loadavg()))
    B.legend()
    why = probe()
    if why:
        say("R1-R3 (issue 20) skipped: " + why)
        return
    only = os.environ.get("BENCH_ONLY", "R1,R2,R3").split(",")
    benches = [("R1", bench_reread), ("R2", bench_tree), ("R3", bench_cold)]
    try:
        for key, fn in benches:
            if key in only:
                say("")
                fn()
    finally:
        B.cleanup()
        say("")
        say("(this section is also in bench/out/remote.txt)")
        _report.close()


main()
