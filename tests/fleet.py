#!/usr/bin/env python3
# fleet.py -- a fleet of `partsctl serve` instances behind Debian's nginx,
# configured by contrib/nginx/partsfs-fleet.conf, on loopback: clients by
# the hundred for uncached parts each get the right bytes and each part is
# made once in the fleet; the requests of an instance killed or stopped
# mid-way move to the others, no client getting a partial or wrong file;
# nginx keeps the blobs, and serves them with the fleet gone; a job is
# found whatever instance runs it; an answer cut short never reaches a
# client as a whole one; instances sharing a cache make each part once
# however they are asked.
# TAP output.  nginx runs as our child, in the foreground, with its prefix,
# pid file, temporary files and logs in a temporary directory (-p, -c, -e):
# no system configuration is read or touched.  Skipped when nginx is
# missing (need("nginx") in mountlib.py).

import atexit
import contextlib
import http.client
import json
import os
import pwd
import re
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

TEMPLATE = os.path.join(TOP_SRC, "contrib", "nginx", "partsfs-fleet.conf")
# the instances' configuration: engines unsandboxed (the fake engine
# counts its runs in a file of the test), a worker for every part of a
# test, so that every job of a crowd runs at once
SERVE_CONF = "jobs:\n  sandbox: off\n  workers: 24\n"
PROCS = []

# --- the fleet ---------------------------------------------------------------


def free_port():
    """A TCP port of 127.0.0.1 that nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, what, log):
    """Wait until something accepts connections on 127.0.0.1:port;
    Failed with log() when proc exits first or 10 s pass."""
    deadline = time.monotonic() + 10 * SLOW
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Failed("%s exited with status %d:\n%s" % (
                what, proc.returncode, log()[-3000:]))
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise Failed("%s: nothing listens on port %d after %g s:\n%s" % (
        what, port, 10 * SLOW, log()[-3000:]))


def request(port, path, method="GET", headers=None, timeout=120):
    """One request on a connection of its own: (status, headers with
    lower-case names, body).  A body shorter than its Content-Length
    raises http.client.IncompleteRead."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        c.close()


class Serve:
    """`partsctl serve LIBRARY --listen 127.0.0.1:PORT --config FILE` with
    the fake engine's configuration and a cache of its own (or `cache`)."""

    def __init__(self, library, cache=None):
        self.port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.cache = cache or tempfile.mkdtemp(dir=TMP, prefix="cache-")
        self.conf = tempfile.mktemp(dir=TMP, prefix="serve-", suffix=".conf")
        write_conf(self.conf, self.cache, SERVE_CONF)
        self.logfile = open(self.conf + ".log", "w+")
        self.proc = subprocess.Popen(
            WRAPPER + [PARTSCTL, "serve", library, "--listen", self.addr,
                       "--config", self.conf],
            env=ENV, stdout=self.logfile, stderr=self.logfile)
        PROCS.append(self)
        wait_listening(self.port, self.proc, "partsctl serve", self.log)

    def log(self):
        self.logfile.flush()
        with open(self.logfile.name) as f:
            return f.read()

    def get(self, path, **kw):
        return request(self.port, path, **kw)

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        """SIGTERM: the instance must end within 10 s, with status 0."""
        if self in PROCS:
            PROCS.remove(self)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10 * SLOW)
            except subprocess.TimeoutExpired:
                self.kill()
                raise Failed("partsctl serve did not end within 10 s of "
                             "SIGTERM:\n" + self.log()[-3000:])
        if self.proc.returncode not in (0, -signal.SIGKILL):
            raise Failed("partsctl serve exited with status %d:\n%s" % (
                self.proc.returncode, self.log()[-3000:]))


def nginx_binary():
    return next((p for p in (shutil.which("nginx"), "/usr/sbin/nginx")
                 if p and os.access(p, os.X_OK)), None)


def fill_template(listen, instances, cache_dir):
    """contrib/nginx/partsfs-fleet.conf with its placeholders replaced as
    its comment says: the server line once per instance."""
    with open(TEMPLATE) as f:
        lines = f.read().splitlines(True)
    out = []
    for line in lines:
        if "@INSTANCE@" in line and not line.lstrip().startswith("#"):
            out += [line.replace("@INSTANCE@", a) for a in instances]
        else:
            out.append(line.replace("@LISTEN@", listen)
                       .replace("@CACHE_DIR@", cache_dir))
    text = "".join(out)
    left = [l for l in text.splitlines()
            if re.search(r"@[A-Z_]+@", l) and not l.lstrip().startswith("#")]
    check(not left, "placeholders left in the template: %r" % left)
    return text


class Nginx:
    """Debian's nginx in the foreground, a child of ours, with the fleet's
    configuration for `instances` (Serve) and everything of its own in a
    temporary directory.  self.access(n) is its access log, a dict a
    request: uri, status, upstreams (the instances tried, in order)."""

    def __init__(self, instances):
        need("nginx")
        self.dir = tempfile.mkdtemp(dir=TMP, prefix="nginx-")
        self.port = free_port()
        with open(os.path.join(self.dir, "partsfs.conf"), "w") as f:
            f.write(fill_template("127.0.0.1:%d" % self.port,
                                  [s.addr for s in instances],
                                  os.path.join(self.dir, "blobs")))
        d = self.dir
        # the workers of a master run by root take the user of the
        # directive (nobody by default), who could not enter our files
        user = ("user %s;\n" % pwd.getpwuid(os.geteuid()).pw_name
                if os.geteuid() == 0 else "")
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write("""daemon off;
%sworker_processes 2;
pid %s/nginx.pid;
error_log %s/error.log info;
events { worker_connections 2048; }
http {
    log_format fleet '$uri|$status|$upstream_addr|$upstream_status';
    access_log %s/access.log fleet;
    client_body_temp_path %s/client-body;
    proxy_temp_path %s/proxy;
    fastcgi_temp_path %s/fastcgi;
    uwsgi_temp_path %s/uwsgi;
    scgi_temp_path %s/scgi;
    include %s/partsfs.conf;
}
""" % ((user,) + (d,) * 9))
        self.stderr = open(os.path.join(d, "stderr"), "w+")
        # a process group of its own: the workers outlive a master
        # killed alone
        self.proc = subprocess.Popen(
            [nginx_binary(), "-p", d + "/", "-c", d + "/nginx.conf",
             "-e", d + "/error.log"],
            stdin=subprocess.DEVNULL, stdout=self.stderr, stderr=self.stderr,
            start_new_session=True)
        PROCS.append(self)
        wait_listening(self.port, self.proc, "nginx", self.log)

    def log(self):
        text = ""
        for name in ("stderr", "error.log"):
            try:
                with open(os.path.join(self.dir, name)) as f:
                    text += f.read()
            except FileNotFoundError:
                pass
        return text

    def get(self, path, **kw):
        return request(self.port, path, **kw)

    def access(self, count):
        """The access log once it has `count` requests (nginx writes a
        request's line after its answer, which the client may have read
        whole a moment before)."""
        def rows():
            got = []
            with open(os.path.join(self.dir, "access.log")) as f:
                for line in f:
                    uri, status, addrs, _ = line.rstrip("\n").split("|")
                    got.append({"uri": uri, "status": int(status),
                                "upstreams": re.split(r"[,:] (?=\d)", addrs)
                                if addrs != "-" else []})
            return got if len(got) >= count else None
        rows = wait_until(rows, "%d requests in nginx's log" % count,
                          5 * SLOW)
        eq(len(rows), count, "requests in nginx's log")
        return rows

    def kill(self):
        """SIGKILL to the master and its workers."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def stop(self):
        if self in PROCS:
            PROCS.remove(self)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10 * SLOW)
            except subprocess.TimeoutExpired:
                self.kill()
                raise Failed("nginx did not end within 10 s of SIGTERM")


def stop_all(*procs):
    """Stop every instance and nginx; the first failure is raised once
    all are stopped."""
    first = None
    for p in procs:
        try:
            p.stop()
        except Failed as e:
            first = first or e
    if first is not None:
        raise first


@contextlib.contextmanager
def fleet_of(library, n=3, cache=None, front=True):
    """n instances of `library` (sharing the cache `cache` if given) and,
    with front, nginx before them: yields (the instances, nginx or None).
    At the end of the block every one is stopped and must end well (see
    stop); if the block failed, they are killed instead."""
    procs = []
    try:
        fleet = []
        for _ in range(n):
            fleet.append(Serve(library, cache))
            procs.append(fleet[-1])
        nginx = Nginx(fleet) if front else None
        if nginx is not None:
            procs.insert(0, nginx)
        yield fleet, nginx
    except BaseException:
        for p in procs:
            if p in PROCS:
                PROCS.remove(p)
            p.kill()
        raise
    stop_all(*procs)


@atexit.register
def _kill_leftovers():
    # registered after mountlib's cleanup, so run before it removes TMP
    for p in list(PROCS):
        p.kill()


# --- clients -----------------------------------------------------------------

def part_path(size):
    return "fake/rod/size=%d.stl" % size


def made_by_get(library, sizes):
    """The bytes `partsctl get` makes of each part (size -> bytes), all
    at once, with a cache of their own."""
    conf = tempfile.mktemp(dir=TMP, prefix="get-", suffix=".conf")
    write_conf(conf, tempfile.mkdtemp(dir=TMP, prefix="cache-get-"),
               SERVE_CONF)
    outs = {s: tempfile.mktemp(dir=TMP, prefix="get-%d-" % s)
            for s in sizes}
    procs = {s: subprocess.Popen([PARTSCTL, "get", library, part_path(s),
                                  "-o", outs[s], "--config", conf],
                                 env=ENV, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
             for s in sizes}
    made = {}
    for s, p in procs.items():
        _, err = p.communicate(timeout=60 * SLOW)
        eq(p.returncode, 0, "partsctl get %s: %s" % (part_path(s), err))
        made[s] = read(outs[s])
        check_box(made[s], s, "partsctl get " + part_path(s))
    return made


def crowd(port, paths, when_sent=None):
    """GET every path of `paths` through its own connection, all at once
    (a thread each, released together); a list of (path, status,
    headers, body) or (path, exception) in the order of `paths`.
    when_sent, if given, is called as the clients are released, while
    they wait for their answers."""
    results = [None] * len(paths)
    go = threading.Barrier(len(paths) + 1)

    def client(i):
        go.wait()
        try:
            results[i] = (paths[i],) + request(port, paths[i],
                                                timeout=60 * SLOW)
        except Exception as e:  # what the client saw, judged below
            results[i] = (paths[i], e)
    threads = [threading.Thread(target=client, args=(i,), daemon=True)
               for i in range(len(paths))]
    for t in threads:
        t.start()
    go.wait()
    if when_sent is not None:
        when_sent()
    for t in threads:
        t.join(90 * SLOW)
        check(not t.is_alive(), "a client still waits after 90 s")
    return results


def check_clients(results, want):
    """Every client got 200, a Content-Length, exactly that many bytes,
    and the bytes of its part (want: path -> bytes); all the clients of a
    part got the same ETag."""
    bad = []
    etags = {}
    for r in results:
        path = r[0]
        if len(r) == 2:
            bad.append("%s: %s: %s" % (path, type(r[1]).__name__, r[1]))
            continue
        status, headers, body = r[1:]
        if status != 200:
            bad.append("%s: status %d: %r" % (path, status, body[:300]))
        elif "content-length" not in headers:
            bad.append("%s: no Content-Length" % path)
        elif int(headers["content-length"]) != len(body):
            bad.append("%s: Content-Length %s, %d bytes" % (
                path, headers["content-length"], len(body)))
        elif body != want[path]:
            bad.append("%s: %d bytes, not the part's %d (%r)" % (
                path, len(body), len(want[path]), body[:40]))
        else:
            etags.setdefault(path, set()).add(headers.get("etag"))
    for path, tags in sorted(etags.items()):
        if len(tags) != 1:
            bad.append("%s: ETags %s" % (path, sorted(tags, key=str)))
    check(not bad, "%d of %d clients:\n%s" % (len(bad), len(results),
                                              "\n".join(bad[:20])))


def parent_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def instance_of(pid, instances):
    """The instance (Serve) that pid descends from, or None."""
    pids = {s.proc.pid: s for s in instances}
    for _ in range(16):
        if pid is None or pid <= 1:
            return None
        if pid in pids:
            return pids[pid]
        pid = parent_of(pid)
    return None


def fleet_library(name, sizes, seconds):
    counter = os.path.join(TMP, "runs-" + name)
    lib = fake_library(os.path.join(TMP, "lib-" + name), sizes=sizes,
                       seconds=seconds, counter=counter)
    return lib, counter


# --- the tests ---------------------------------------------------------------

@test
def two_hundred_clients_for_twenty_parts_each_get_their_bytes_made_once():
    need("nginx")
    sizes = range(1, 21)
    lib, counter = fleet_library("once", sizes, 1.0)
    paths = ["/files/" + part_path(sizes[i % 20]) for i in range(200)]
    with fleet_of(lib) as (fleet, front):
        t0 = time.monotonic()
        results = crowd(front.port, paths)
        took = time.monotonic() - t0
        runs = count_lines(counter)
        access = front.access(len(paths))
    want = {"/files/" + part_path(s): b for s, b in
            made_by_get(lib, sizes).items()}
    check_clients(results, want)
    eq(runs, 20, "engine runs in the fleet (one per part)")
    # each part went to one instance, and the parts to more than one
    by_part = {}
    for row in access:
        eq(len(row["upstreams"]), 1, "instances tried for %s" % row)
        by_part.setdefault(row["uri"], set()).add(row["upstreams"][0])
    for uri, where in sorted(by_part.items()):
        eq(len(where), 1, "instances that answered %s" % uri)
    used = set().union(*by_part.values())
    check(len(used) >= 2, "every part went to %s" % used)
    check(took < 30 * SLOW, "the crowd took %.1f s" % took)
    print("# 200 clients, 20 parts of 1 s each, 3 instances: %.2f s; parts "
          "per instance %s" % (took, sorted(
              sum(1 for w in by_part.values() if a in w) for a in used)))


def stopped_midway(name, how):
    """200 clients for 20 parts of 2 s through 3 instances; once every job
    has started, the instance with the most engines still running is
    stopped (`how`: kill, SIGKILL, or term, SIGTERM).  Every client gets
    its part; the requests the instance held move to the others, each
    part's to one other instance; each part it gave up is made once
    more."""
    need("nginx")
    sizes = range(1, 21)
    lib, counter = fleet_library(name, sizes, 2.0)
    paths = ["/files/" + part_path(sizes[i % 20]) for i in range(200)]
    victim = {}
    with fleet_of(lib) as (fleet, front):
        def stop_one():
            # every job has started (each run appends its pid on
            # starting); those still running are the victim's to give up
            # (a slow machine may have finished some already)
            wait_until(lambda: count_lines(counter) >= 20,
                       "20 engine runs", 20 * SLOW)
            engines = [int(l) for l in open(counter).read().split()]
            owners = [instance_of(p, fleet) for p in engines
                      if alive(p)]
            s = max(fleet, key=owners.count)
            check(owners.count(s) > 0, "no engine runs any more: %s" %
                  engines)
            victim["serve"], victim["running"] = s, owners.count(s)
            if how == "kill":
                s.kill()
            else:
                s.stop()
        results = crowd(front.port, paths, when_sent=stop_one)
        runs = count_lines(counter)
        access = front.access(len(paths))
    gone = victim["serve"].addr
    want = {"/files/" + part_path(s): b for s, b in
            made_by_get(lib, sizes).items()}
    check_clients(results, want)
    # where each request ended: the requests the victim gave up went to
    # one other instance a part (the next on the ring), having tried the
    # victim first or not (once nginx knew it was gone)
    moved, ended = 0, {}
    for row in access:
        ups = row["upstreams"]
        check(ups, "no instance for %s" % row)
        if gone in ups[:-1]:
            moved += 1
        ended.setdefault(row["uri"], set()).add(ups[-1])
    # the parts of the victim: it took a request of each (at least the
    # one that started its job); it answered those it made before it was
    # stopped, and those it gave up were answered by one other instance
    # each, all those whose engine it was still running among them
    theirs = {r["uri"] for r in access if gone in r["upstreams"]}
    for uri, where in sorted(ended.items()):
        check(len(where - {gone}) == 1 or (uri in theirs and
                                           where == {gone}),
              "instances that answered %s: %s" % (uri, sorted(where)))
    given_up = {uri for uri in theirs if ended[uri] - {gone}}
    check(len(given_up) >= victim["running"],
          "%d parts given up, %d engines were running" % (
              len(given_up), victim["running"]))
    # made once by the fleet, then each part the victim gave up once more
    eq(runs, 20 + len(given_up), "engine runs")
    print("# %s: an instance running %d engines; %d requests moved, %d "
          "parts made again" % (how, victim["running"], moved,
                                len(given_up)))


@test
def an_instance_killed_midway_has_its_requests_moved_to_the_others():
    stopped_midway("kill", "kill")


@test
def an_instance_stopped_midway_has_its_requests_moved_to_the_others():
    # a rolling restart: SIGTERM answers the waiting requests 503 at
    # once (or their parts, if made by then), and nginx moves the 503s on
    stopped_midway("term", "term")


@test
def blobs_are_kept_by_nginx_and_served_with_the_fleet_gone():
    need("nginx")
    sizes = range(1, 7)
    lib, _ = fleet_library("blobs", sizes, 0)
    with fleet_of(lib) as (fleet, front):
        blobs = {}
        for s in sizes:
            status, h, body = front.get("/files/" + part_path(s))
            eq(status, 200, "status of %s: %r" % (part_path(s), body[:300]))
            check_box(body, s, part_path(s))
            loc = h.get("content-location", "")
            check(re.fullmatch(r"/blobs/[0-9a-f]+\.stl", loc),
                  "Content-Location of %s: %r" % (part_path(s), loc))
            blobs[loc] = body
        # every blob through nginx, though only the instance that made it
        # has it: the others' 404 move the request on
        for loc, body in blobs.items():
            status, h, got = front.get(loc)
            eq(status, 200, "status of %s: %r" % (loc, got[:300]))
            eq(got, body, "the blob " + loc)
            eq(h.get("x-cache-status"), "MISS", "the first GET of " + loc)
            check("immutable" in h.get("cache-control", ""),
                  "Cache-Control of %s: %r" % (loc, h.get("cache-control")))
            status, h, got = front.get(loc)
            eq((status, got), (200, body), "the blob again " + loc)
            eq(h.get("x-cache-status"), "HIT", "the second GET of " + loc)
        for s in fleet:
            s.kill()
        for loc, body in blobs.items():
            status, h, got = front.get(loc)
            eq((status, got), (200, body), "with the fleet gone: " + loc)
            eq(h.get("x-cache-status"), "HIT", "with the fleet gone: " + loc)
            status, h, got = front.get(loc, method="HEAD")
            eq((status, h.get("content-length")), (200, str(len(body))),
               "HEAD of the blob " + loc)


@test
def a_job_is_found_through_nginx_whatever_instance_its_id_goes_to():
    # Prefer: respond-async through nginx: 202 and the Location of a job
    # that only the instance making the part knows; the job through
    # nginx then answers 202 until the part is made and 303 to it, never
    # a 404 (the instances that do not know it move the request on)
    need("nginx")
    sizes = range(1, 7)
    lib, counter = fleet_library("jobs", sizes, 1.0)
    with fleet_of(lib) as (fleet, front):
        jobs = {}
        for s in sizes:
            path = "/files/" + part_path(s)
            status, h, body = front.get(
                path, headers={"Prefer": "respond-async"})
            eq(status, 202, "status of %s: %r" % (path, body[:300]))
            check(re.fullmatch(r"/jobs/[0-9a-f]+", h.get("location", "")),
                  "Location of %s: %r" % (path, h.get("location")))
            jobs[path] = h["location"]
        seen = set()
        for path, job in jobs.items():
            deadline = time.monotonic() + 20 * SLOW
            while True:
                status, h, body = front.get(job)
                seen.add(status)
                if status != 202:
                    break
                check(time.monotonic() < deadline, "%s still 202" % job)
                time.sleep(0.1)
            eq(status, 303, "%s: %r" % (job, body[:300]))
            eq(h.get("location"), path, "where %s sends" % job)
            status, _, body = front.get(path)
            eq(status, 200, "status of %s after its job" % path)
            check_box(body, int(path.split("=")[1].split(".")[0]), path)
        check(202 in seen, "no job was ever seen running")
        eq(count_lines(counter), len(sizes), "engine runs")


class CutShort:
    """An instance that dies within its answers, which no partsctl serve
    can be made to do on cue: it answers every request 200 with a
    Content-Length of 100000 (and the Cache-Control of a blob), sends
    half of that, and closes the connection."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.answered = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                head = b""
                while b"\r\n\r\n" not in head:
                    more = c.recv(4096)
                    if not more:
                        break
                    head += more
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: model/stl\r\n"
                          b"Content-Length: 100000\r\nCache-Control: "
                          b"public, max-age=31536000, immutable\r\n\r\n" +
                          b"x" * 50000)
                self.answered += 1

    def close(self):
        self.sock.close()


@test
def an_answer_cut_short_reaches_no_client_as_a_whole_file():
    need("nginx")
    cut = CutShort()
    front = Nginx([cut])
    try:
        for path in ("/files/" + part_path(1), "/blobs/" + "0" * 64 + ".stl",
                     "/blobs/" + "0" * 64 + ".stl"):
            try:
                status, h, body = front.get(path)
            except http.client.IncompleteRead:
                continue            # the client knows it is cut short
            check(status != 200, "%s: 200 with %d bytes of %s" % (
                path, len(body), h.get("content-length")))
        # the blob's second request went to the instance again: nginx did
        # not keep what was cut short
        eq(cut.answered, 3, "answers the instance began")
    finally:
        cut.close()
    front.stop()


@test
def no_instance_answering_is_a_503_problem_with_retry_after():
    need("nginx")
    lib, _ = fleet_library("down", range(1, 3), 0)
    with fleet_of(lib) as (fleet, front):
        for s in fleet:
            s.kill()
        status, h, body = front.get("/files/" + part_path(1))
        eq(status, 503, "status: %r" % body[:300])
        eq(h.get("content-type"), "application/problem+json",
           "Content-Type")
        check(h.get("retry-after", "").isdigit(), "Retry-After: %r" %
              h.get("retry-after"))
        problem = json.loads(body)
        eq(problem.get("status"), 503, "the problem's status")
        check(problem.get("detail"), "no detail: %r" % problem)


@test
def instances_sharing_a_cache_make_each_part_once_however_asked():
    # no nginx: every part asked of every instance at once
    sizes = range(1, 11)
    lib, counter = fleet_library("shared", sizes, 1.0)
    cache = tempfile.mkdtemp(dir=TMP, prefix="cache-shared-")
    results = [None] * 60
    with fleet_of(lib, cache=cache, front=False) as (fleet, _):
        go = threading.Barrier(61)

        def client(i):
            s, path = fleet[i % 3], "/files/" + part_path(sizes[i % 10])
            go.wait()
            try:
                results[i] = (path,) + s.get(path, timeout=60 * SLOW)
            except Exception as e:  # judged by check_clients
                results[i] = (path, e)
        threads = [threading.Thread(target=client, args=(i,), daemon=True)
                   for i in range(60)]
        for t in threads:
            t.start()
        go.wait()
        for t in threads:
            t.join(90 * SLOW)
        runs = count_lines(counter)
        want = {"/files/" + part_path(s): b for s, b in
                made_by_get(lib, sizes).items()}
        check_clients(results, want)
        eq(runs, 10, "engine runs (one per part)")
        # any instance has the blob of any part
        for r in results[:10]:
            loc = r[2].get("content-location")
            for s in fleet:
                status, _, got = s.get(loc)
                eq((status, got), (200, r[3]), "%s from %s" % (loc, s.addr))


if __name__ == "__main__":
    sys.exit(1 if run_tests() else 0)
