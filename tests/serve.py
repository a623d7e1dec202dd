#!/usr/bin/env python3
# serve.py -- partsctl serve for real: the native API against partsctl ls
# and partsctl get, HTTP validators and ranges, jobs, problem details,
# path traversal, read-only methods, a thousand connections, slow
# clients, SIGTERM, and a thousand clients waiting on a hundred parts
# with the server's threads bounded.  TAP output, in the style of
# mount.py (mountlib.py's harness); engines are the fake engine.

import base64
import hashlib
import http.client
import json
import os
import resource
import selectors
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

FULL = os.environ.get("PARTSFS_TEST_FULL") == "1"


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < min(hard, 8192):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))


class Server:
    """partsctl serve on a port of its own (127.0.0.1:0, or `listen`), with
    the fake engine's configuration and a private cache; `prefix` is put
    before the command ("nsenter --net=..." to run it in a network
    namespace)."""

    def __init__(self, library, conf_extra="", cache=None, args=(),
                 listen="127.0.0.1:0", prefix=()):
        self.dir = tempfile.mkdtemp(dir=TMP, prefix="serve-")
        self.cache = cache or os.path.join(self.dir, "cache")
        self.conf = os.path.join(self.dir, "partsfs.conf")
        self.library = library
        write_conf(self.conf, self.cache, conf_extra)
        self.logfile = open(os.path.join(self.dir, "log"), "w+")
        self.proc = subprocess.Popen(
            list(prefix) + WRAPPER + [PARTSCTL, "serve", library,
                                      "--listen", listen, "--config",
                                      self.conf] + list(args),
            env=ENV, stdout=self.logfile, stderr=self.logfile)
        self.port = None
        deadline = time.monotonic() + 20 * SLOW
        while self.port is None:
            for line in self.log().splitlines():
                if "(native API)" in line and "http://" in line:
                    self.port = int(line.split("http://")[1]
                                    .split("/")[0].rsplit(":", 1)[1])
            if self.proc.poll() is not None:
                raise Failed("partsctl serve exited: " + self.log())
            if time.monotonic() > deadline:
                raise Failed("partsctl serve did not start: " + self.log())
            time.sleep(0.02)

    def log(self):
        self.logfile.flush()
        with open(self.logfile.name) as f:
            return f.read()

    def request(self, path, method="GET", headers=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port,
                                       timeout=timeout * SLOW)
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body

    def json(self, path, want=200, headers=None):
        st, h, body = self.request(path, headers=headers)
        eq(st, want, "status of %s (%r)" % (path, body[:300]))
        return h, json.loads(body)

    def threads(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
        return 0

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Failed("partsctl serve did not end within %d s"
                             % timeout)
        log = self.log()
        self.logfile.close()
        # under --enable-asan or a PARTSFS_WRAPPER: what they found
        for bad in ("Sanitizer", "runtime error:", "==ERROR", "Invalid read",
                    "Invalid write", "definitely lost"):
            if bad in log:
                raise Failed("partsctl serve: " + log[log.index(bad) - 200:]
                             [:3000])


def raw_get(port, paths, extra=b"", timeout=60):
    """GET every path of `paths` over a connection of its own, all at
    once (one thread, non-blocking sockets): [(status, body)] in order."""
    raise_nofile()
    sel = selectors.DefaultSelector()
    conns = []
    for i, p in enumerate(paths):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        req = (b"GET " + p.encode() + b" HTTP/1.1\r\nHost: x\r\n" + extra +
               b"Connection: close\r\n\r\n")
        conns.append({"s": s, "out": req, "in": b"", "done": False})
        sel.register(s, selectors.EVENT_WRITE | selectors.EVENT_READ, i)
    left = len(conns)
    deadline = time.monotonic() + timeout * SLOW
    while left and time.monotonic() < deadline:
        for key, ev in sel.select(1):
            c = conns[key.data]
            try:
                if ev & selectors.EVENT_WRITE and c["out"]:
                    n = c["s"].send(c["out"])
                    c["out"] = c["out"][n:]
                    if not c["out"]:
                        sel.modify(c["s"], selectors.EVENT_READ, key.data)
                if not ev & selectors.EVENT_READ:
                    continue
                d = c["s"].recv(65536)
                if d:
                    c["in"] += d
                    continue
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                pass
            sel.unregister(c["s"])
            c["s"].close()
            c["done"] = True
            left -= 1
    out = []
    for c in conns:
        if not c["done"]:
            c["s"].close()
        head, _, body = c["in"].partition(b"\r\n\r\n")
        try:
            status = int(head.split(b" ")[1])
        except (IndexError, ValueError):
            status = None
        out.append((status, body))
    return out


SERVERS = {}


def bundled_server():
    """One server of the bundled library for the tests that make
    nothing."""
    if "bundled" not in SERVERS:
        SERVERS["bundled"] = Server(LIBRARY)
    return SERVERS["bundled"]


def fake_server(name="fake", seconds=0.0, sizes=range(1, 9), mode="box",
                conf_extra=""):
    if name not in SERVERS:
        root = fake_library(os.path.join(TMP, "lib-" + name), sizes=sizes,
                            seconds=seconds, mode=mode)
        SERVERS[name] = Server(root, conf_extra=conf_extra)
    return SERVERS[name]


def ls(srv, path):
    """partsctl ls -l of path: [(name, type letter, target)]."""
    out = partsctl("ls", srv.library, path, "-l", "--config", srv.conf)
    rows = []
    for line in out.splitlines():
        kind, rest = line.split(" ", 1)
        name, _, target = rest.partition(" -> ")
        rows.append((name, kind, target))
    return rows


# --- the tree -----------------------------------------------------------

@test
def directories_list_what_partsctl_ls_lists_with_types_and_targets():
    srv = bundled_server()
    for path in ("", "bolts", "bolts/hex_screw", "bolts/hex_screw/M8",
                 "by-standard", "by-name"):
        _, j = srv.json("/files/" + path)
        eq(j["path"], path, "path of /files/" + path)
        rows = ls(srv, path)
        eq([e["name"] for e in j["entries"]], [r[0] for r in rows],
           "names of " + path)
        for e, (name, kind, target) in zip(j["entries"], rows):
            if kind == "l":
                eq(e["type"], "link", name)
                eq(e["target"], target.replace("../", ""), name)
            elif kind == "d":
                eq(e["type"], "directory", name)
            else:
                check(e["type"] in ("part", "json", "drawing"),
                      "%s: type %s" % (name, e["type"]))
            if e["type"] == "part":
                eq(e["format"], name.rsplit(".", 1)[1], name)
                check("size" not in e, name + ": a size before it is made")


@test
def links_are_followed_and_json_twins_are_the_descriptions():
    srv = bundled_server()
    _, links = srv.json("/files/by-standard")
    link = links["entries"][0]
    _, j = srv.json("/files/by-standard/" + link["name"])
    eq(j["path"], link["target"], "a link at the end is followed")
    _, inner = srv.json("/files/by-standard/" + link["name"] + "/")
    eq(inner, j, "with a trailing slash")
    for path in ("bolts.json", "bolts/hex_screw.json",
                 "bolts/hex_screw/M8/default.json"):
        st, h, body = srv.request("/files/" + path)
        eq(st, 200, path)
        eq(h["content-type"], "application/json", path)
        got = subprocess.run([PARTSCTL, "get", srv.library, path, "--config",
                              srv.conf], env=ENV, capture_output=True)
        if got.returncode == 0:
            eq(body, got.stdout, path + " == partsctl get")
        else:
            json.loads(body)


@test
def a_directory_lists_the_size_of_a_part_once_made():
    srv = fake_server()
    _, j = srv.json("/files/fake/rod")
    part = [e for e in j["entries"] if e["name"] == "size=3.stl"][0]
    check("size" not in part, "size before it is made")
    st, _, body = srv.request("/files/fake/rod/size=3.stl")
    eq(st, 200, "GET the part")
    _, j = srv.json("/files/fake/rod")
    part = [e for e in j["entries"] if e["name"] == "size=3.stl"][0]
    eq(part.get("size"), len(body), "size once made")


def stat_server():
    """A fake library with a drawing, of its own: the listing's ETag and
    ?stat tests count the jobs it runs."""
    if "stat" not in SERVERS:
        root = fake_library(os.path.join(TMP, "lib-stat"))
        d = os.path.join(root, "drawings", "fake")
        os.makedirs(d)
        with open(os.path.join(d, "fake.base"), "w") as f:
            f.write("- {filename: draw, type: drawing-dimensions, author: "
                    "t <t@x>, license: MIT <x>, classids: [rod]}\n")
        with open(os.path.join(d, "draw.svg"), "w") as f:
            f.write("<svg/>\n")
        SERVERS["stat"] = Server(root)
    return SERVERS["stat"]


def stats(srv):
    """/status/stats as a dict of numbers."""
    st, _, body = srv.request("/status/stats")
    eq(st, 200, "/status/stats")
    return {k: int(v) for k, v in (line.split(" ", 1) for line in
                                   body.decode().splitlines())
            if v.isdigit()}


def stat(srv, path, want=200):
    st, h, body = srv.request("/files/" + path + "?stat")
    eq(st, want, "%s?stat: %r" % (path, body[:300]))
    if want != 200:
        return h, body
    eq(h["content-type"], "application/json", path + "?stat type")
    return h, json.loads(body)


@test
def a_listing_has_an_etag_and_304_and_a_new_one_once_a_part_is_made():
    srv = stat_server()
    st, h, body = srv.request("/files/fake/rod")
    eq(st, 200, "the listing")
    etag = h.get("etag", "")
    check(len(etag) == 34 and etag[0] == etag[-1] == '"' and
          all(c in "0123456789abcdef" for c in etag[1:-1]),
          "a strong quoted hex ETag: %r" % etag)
    eq(etag[1:-1], hashlib.sha256(body).hexdigest()[:32],
       "the ETag is the body's SHA-256")
    eq(srv.request("/files/fake/rod")[1]["etag"], etag, "stable")
    st, h2, b = srv.request("/files/fake/rod",
                            headers={"If-None-Match": etag})
    eq((st, b), (304, b""), "If-None-Match")
    eq(h2["etag"], etag, "304's ETag")
    eq(h2["cache-control"], "max-age=60", "304's Cache-Control")
    st, h3, b = srv.request("/files/fake/rod", method="HEAD")
    eq((st, b, h3["etag"]), (200, b"", etag), "HEAD")
    st, _, b = srv.request("/files/fake/rod", method="HEAD",
                           headers={"If-None-Match": '"x", ' + etag})
    eq((st, b), (304, b""), "HEAD with If-None-Match")
    st, _, b = srv.request("/files/fake/rod",
                           headers={"If-None-Match": '"other"'})
    eq((st, b), (200, body), "another tag")
    st, _, b = srv.request("/files/fake/rod?other=1")
    eq((st, b), (200, body), "another query argument is ignored")
    # the listing of a part that is made: its size and the part's ETag
    st, hp, part = srv.request("/files/fake/rod/size=7.stl")
    eq(st, 200, "the part")
    st, h4, body4 = srv.request("/files/fake/rod",
                                headers={"If-None-Match": etag})
    eq(st, 200, "the old ETag no longer matches")
    check(h4["etag"] != etag, "a new ETag")
    e = [x for x in json.loads(body4)["entries"]
         if x["name"] == "size=7.stl"][0]
    eq(e.get("size"), len(part), "size once made")
    eq(e.get("etag"), hp["etag"], "the entry's etag is the part's ETag")
    st, _, _ = srv.request("/files/fake/rod/size=7.stl",
                           headers={"If-None-Match": e["etag"]})
    eq(st, 304, "the entry's etag revalidates the part")
    others = [x for x in json.loads(body4)["entries"]
              if x["name"] != "size=7.stl"]
    check(others and all("etag" not in x and "size" not in x
                         for x in others), "no etag for parts not made")


@test
def stat_is_the_entry_of_any_path_the_tree_resolves_and_makes_nothing():
    srv = stat_server()
    before = stats(srv)
    _, root = stat(srv, "")
    eq(root, {"name": "", "type": "directory"}, "the root")
    for d in ("", "fake", "fake/rod"):
        _, j = srv.json("/files/" + d)
        for e in j["entries"]:
            path = (d + "/" if d else "") + e["name"]
            _, got = stat(srv, path)
            eq(got, e, path + "?stat == its listing entry")
    types = {e["type"] for e in srv.json("/files/fake")[1]["entries"] +
             srv.json("/files/fake/rod")[1]["entries"]}
    eq(types, {"directory", "json", "drawing", "part"}, "types covered")
    # a value the leaf directory does not list
    _, j = stat(srv, "fake/rod/size=20.stl")
    eq(j, {"name": "size=20.stl", "type": "part", "format": "stl"},
       "an unlisted value")
    _, j = stat(srv, "fake/rod/size=20.0.stl")
    eq(j["name"], "size=20.stl", "named canonically")
    st, h, b = srv.request("/files/fake/rod/size=21.stl?stat",
                           method="HEAD")
    eq((st, b), (200, b""), "HEAD ?stat")
    check("etag" in h, "?stat has an ETag")
    st, _, b = srv.request("/files/fake/rod/size=21.stl?stat",
                           headers={"If-None-Match": h["etag"]})
    eq((st, b), (304, b""), "?stat revalidated")
    time.sleep(0.3 * SLOW)
    after = stats(srv)
    eq(after["jobs_run"], before["jobs_run"], "no job ran")
    eq(after["cache_entries"], before["cache_entries"], "nothing made")
    eq(srv.request("/status/jobs")[2], b"", "no job under way")
    _, j = stat(srv, "fake/rod/size=20.stl")
    check("size" not in j, "size=20 is still not made")
    # once made, ?stat of it has the size and the part's ETag
    st, hp, part = srv.request("/files/fake/rod/size=20.stl")
    eq(st, 200, "the unlisted part")
    _, j = stat(srv, "fake/rod/size=20.stl")
    eq((j.get("size"), j.get("etag")), (len(part), hp["etag"]),
       "?stat of the made part")
    eq(stats(srv)["jobs_run"], before["jobs_run"] + 1, "one job: the GET")


@test
def stat_of_links_json_and_directories_through_links():
    srv = bundled_server()
    _, links = srv.json("/files/by-standard")
    link = links["entries"][0]
    _, j = stat(srv, "by-standard/" + link["name"])
    eq(j, link, "a link is not followed")
    eq(j["type"], "link", "a link's type")
    _, j = stat(srv, "by-standard/" + link["name"] + "/M8")
    eq(j, {"name": "M8", "type": "directory"}, "through a link")
    for path in ("bolts.json", "bolts/hex_screw.json",
                 "bolts/hex_screw/M8/default.json"):
        _, j = stat(srv, path)
        eq(j, {"name": path.rsplit("/", 1)[-1], "type": "json"}, path)
    _, j = stat(srv, "bolts/hex_screw/M8")
    eq(j, {"name": "M8", "type": "directory"}, "a directory")


@test
def stat_of_an_invalid_path_is_the_same_404_and_traversal_is_refused():
    srv = bundled_server()
    for path in ("bolts/nope", "bolts/hex_screw/M7",
                 "bolts/hex_screw/M8/length=abc.step",
                 "bolts/hex_screw/M8/default.xyz"):
        _, plain = srv.request("/files/" + path)[1:]
        h, body = stat(srv, path, want=404)
        eq(h["content-type"], "application/problem+json", path)
        eq(json.loads(body), json.loads(plain), path + ": the same problem")
    for p in ("/files/../README.md", "/files/%2e%2e/README.md",
              "/files/bolts/%2e%2e/%2e%2e/x", "/files/..%2fREADME.md",
              "/files/%2fetc%2fpasswd", "/files/bolts%00/hex_screw",
              "/files/./bolts", "/files/bolts/hex_screw/M8/..%5c..%5cx"):
        for q in ("?stat", "?stat=1", "?x&stat"):
            got = raw_get(srv.port, [p + q])[0]
            eq(got[0], 404, p + q)
            check(b"root:" not in got[1], p + q + ": leaked")
    eq(srv.request("/nowhere?stat")[0], 404, "/nowhere?stat")
    st, _, body = srv.request("/status/version?stat")
    eq(st, 200, "?stat elsewhere is ignored")
    check(body.startswith(b"partsfs"), "/status/version?stat: %r" % body)


# --- parts --------------------------------------------------------------

@test
def a_part_is_the_bytes_partsctl_get_gives_with_its_headers():
    srv = fake_server()
    st, h, body = srv.request("/files/fake/rod/size=2.stl")
    eq(st, 200, "status")
    check_box(body, 2)
    out = os.path.join(srv.dir, "got.stl")
    partsctl("get", srv.library, "fake/rod/size=2.stl", "-o", out, "-q",
             "--config", srv.conf)
    eq(body, read(out), "the bytes of partsctl get")
    key = h["etag"].strip('"')
    eq(len(key), 64, "ETag is the key: " + h["etag"])
    eq(h["content-type"], "model/stl", "Content-Type")
    eq(h["content-length"], str(len(body)), "Content-Length")
    eq(h["accept-ranges"], "bytes", "Accept-Ranges")
    eq(h["cache-control"], "max-age=60", "Cache-Control")
    check("last-modified" in h, "Last-Modified")
    eq(h["content-location"], "/blobs/%s.stl" % key, "Content-Location")
    eq(h["repr-digest"], "sha-256=:%s:" % base64.b64encode(
        hashlib.sha256(body).digest()).decode(), "Repr-Digest")
    st, bh, blob = srv.request(h["content-location"])
    eq(st, 200, "the blob")
    eq(blob, body, "the blob's bytes")
    eq(bh["cache-control"], "public, max-age=31536000, immutable",
       "the blob's Cache-Control")
    st, _, _ = srv.request("/blobs/" + "0" * 64 + ".stl")
    eq(st, 404, "a blob not made")


@test
def a_connection_is_kept_alive_across_requests():
    srv = fake_server()
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    socks = set()
    for path in ("/files/", "/files/fake/rod", "/files/fake/rod/size=1.stl",
                 "/nowhere", "/files/fake/rod/size=1.stl"):
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        check(r.getheader("Connection", "").lower() != "close",
              path + ": Connection: close")
        socks.add(id(c.sock))
    eq(len(socks), 1, "connections used")
    c.close()


@test
def etag_304_head_ranges_206_and_416():
    srv = fake_server()
    st, h, body = srv.request("/files/fake/rod/size=4.stl")
    eq(st, 200, "status")
    etag = h["etag"]
    st, h2, b = srv.request("/files/fake/rod/size=4.stl",
                            headers={"If-None-Match": etag})
    eq((st, b), (304, b""), "If-None-Match")
    eq(h2["etag"], etag, "304's ETag")
    st, _, b = srv.request("/files/fake/rod/size=4.stl",
                           headers={"If-None-Match": '"other", W/' + etag})
    eq(st, 304, "a list with a weak tag")
    st, _, b = srv.request("/files/fake/rod/size=4.stl",
                           headers={"If-None-Match": '"other"'})
    eq((st, b), (200, body), "another tag")
    st, h3, b = srv.request("/files/fake/rod/size=4.stl", method="HEAD")
    eq((st, b), (200, b""), "HEAD")
    eq(h3["content-length"], str(len(body)), "HEAD's Content-Length")
    for rng, start, end in (("bytes=0-9", 0, 9), ("bytes=100-", 100, None),
                            ("bytes=-16", len(body) - 16, None),
                            ("bytes=600-100000", 600, None)):
        st, hr, b = srv.request("/files/fake/rod/size=4.stl",
                                headers={"Range": rng})
        eq(st, 206, rng)
        end = len(body) - 1 if end is None else end
        eq(b, body[start:end + 1], rng + " bytes")
        eq(hr["content-range"], "bytes %d-%d/%d" % (start, end, len(body)),
           rng + " Content-Range")
    st, hr, b = srv.request("/files/fake/rod/size=4.stl",
                            headers={"Range": "bytes=5000-"})
    eq(st, 416, "beyond the end")
    eq(hr["content-range"], "bytes */%d" % len(body), "416's Content-Range")
    st, _, b = srv.request("/files/fake/rod/size=4.stl",
                           headers={"Range": "bytes=0-1,5-6"})
    eq((st, b), (200, body), "several ranges: the whole")


@test
def respond_async_gets_202_then_the_job_then_303_to_the_part():
    srv = fake_server("slow", seconds=1.5)
    st, h, body = srv.request("/files/fake/rod/size=5.stl",
                              headers={"Prefer": "respond-async"})
    eq(st, 202, "status: %r" % body)
    loc = h["location"]
    check(loc.startswith("/jobs/") and len(loc) == 6 + 16, "Location " + loc)
    check(int(h["retry-after"]) >= 1, "Retry-After")
    st, _, body = srv.request(loc)
    eq(st, 202, "the job under way")
    j = json.loads(body)
    check(j["state"] in ("queued", "running"), "state %r" % j)
    check(isinstance(j["seconds"], (int, float)), "seconds")
    st, h2, _ = srv.request("/files/fake/rod/size=5.stl",
                            headers={"Prefer": "respond-async"})
    eq((st, h2["location"]), (202, loc), "the same job again")
    deadline = time.monotonic() + 20 * SLOW
    while st == 202 and time.monotonic() < deadline:
        time.sleep(0.2)
        st, h, body = srv.request(loc)
    eq(st, 303, "the job made it")
    eq(h["location"], "/files/fake/rod/size=5.stl", "303's Location")
    st, _, body = srv.request(h["location"])
    eq(st, 200, "the part")
    check_box(body, 5)
    st, _, body = srv.request("/jobs/" + "0" * 16)
    eq(st, 404, "an unknown job")
    eq(json.loads(body)["status"], 404, "as a problem")


@test
def a_waiting_request_gets_its_part_when_made():
    srv = fake_server("slow", seconds=1.5)
    t0 = time.monotonic()
    st, _, body = srv.request("/files/fake/rod/size=6.stl")
    eq(st, 200, "status")
    check(time.monotonic() - t0 >= 1.0, "it waited for the job")
    check_box(body, 6)


@test
def a_request_waits_longer_than_the_timeout_for_its_part():
    srv = fake_server("patient", seconds=3,
                      conf_extra="serve:\n  timeout: 1\n")
    st, _, body = srv.request("/files/fake/rod/size=2.stl")
    eq(st, 200, "status: %r" % body[:200])
    check_box(body, 2)


@test
def a_full_queue_of_parts_is_503_with_retry_after():
    srv = fake_server("queue", seconds=3, conf_extra="serve:\n  queue: 1\n")
    st, h, _ = srv.request("/files/fake/rod/size=1.stl",
                           headers={"Prefer": "respond-async"})
    eq(st, 202, "the first part")
    st, h, body = srv.request("/files/fake/rod/size=2.stl")
    eq(st, 503, "another part while the queue is full")
    eq(h["content-type"], "application/problem+json", "type")
    check(int(h["retry-after"]) > 0, "Retry-After")
    check("serve.queue" in json.loads(body)["detail"], "detail")


def hold_connections(srv, n):
    """n connections the server has surely accepted and counted, whichever
    thread took each: each answered once (200), and kept open."""
    held = []
    for i in range(n):
        c = http.client.HTTPConnection("127.0.0.1", srv.port,
                                       timeout=30 * SLOW)
        c.request("GET", "/files/")
        r = c.getresponse()
        r.read()
        eq(r.status, 200, "held connection %d's request" % (i + 1))
        held.append(c)
    return held


def answer_of_one_more(srv):
    """The first bytes the server answers a new connection's request
    with: b"" when it closed the connection unanswered."""
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.settimeout(5 * SLOW)
    try:
        s.sendall(b"GET /files/ HTTP/1.1\r\nHost: x\r\n\r\n")
        return s.recv(100)
    except OSError:
        return b""
    finally:
        s.close()


@test
def the_connection_limit_is_of_the_server_not_of_each_thread():
    # serve.connections 200 over eight threads, 200 connections at once:
    # all answered.  With the limit divided among the threads (25 each),
    # a thread that accepted a burst beyond its share refused the rest,
    # far below the limit
    srv = fake_server("limit200", conf_extra="serve:\n  connections: 200\n"
                      "  threads: 8\n")
    got = raw_get(srv.port, ["/files/"] * 200)
    bad = [g[0] for g in got if g[0] != 200]
    eq(len(bad), 0, "not 200: %r" % bad[:10])
    # serve.connections 6 over four threads: six connections held open
    # (each answered once, so surely accepted and counted, whichever
    # thread took it) are all served; a seventh is refused
    srv = fake_server("limit", conf_extra="serve:\n  connections: 6\n"
                      "  threads: 4\n")
    held = hold_connections(srv, 6)
    try:
        eq(answer_of_one_more(srv), b"", "a seventh connection")
    finally:
        for h in held:
            h.close()


@test
def connections_beyond_per_ip_are_refused():
    srv = fake_server("perip", conf_extra="serve:\n  per-ip: 2\n")
    # two connections the server has surely accepted and counted (each
    # answered once, and kept open): with a pool of threads accepting,
    # three connections made at once may be counted in any order
    held = hold_connections(srv, 2)
    eq(answer_of_one_more(srv), b"", "a third connection from the address")
    for h in held:
        h.close()

    # the server sees the closes when its thread next polls: a loaded
    # machine (ASan, valgrind) may take a while
    def served():
        try:
            return srv.request("/files/", timeout=2)[0] == 200
        except (OSError, http.client.HTTPException):
            return False
    wait_until(served, "a request once the others closed", 5 * SLOW)


# --- problems -----------------------------------------------------------

@test
def invalid_paths_are_404_problems_saying_what_is_wrong():
    srv = bundled_server()
    for path, words in (("bolts/nope", "nope"),
                        ("bolts/hex_screw/M7", "M7"),
                        ("bolts/hex_screw/M8/length=abc.step", "length"),
                        ("bolts/hex_screw/M8/default.xyz", "xyz")):
        st, h, body = srv.request("/files/" + path)
        eq(st, 404, path)
        eq(h["content-type"], "application/problem+json", path)
        p = json.loads(body)
        eq(p["status"], 404, path)
        check(p["title"] and p["type"], path + ": type and title")
        check(words in p["detail"], "%s: detail %r" % (path, p["detail"]))
    st, h, body = srv.request("/nowhere")
    eq(st, 404, "/nowhere")
    eq(h["content-type"], "application/problem+json", "/nowhere")


@test
def a_failed_job_is_a_problem_with_the_engine_and_its_stderr():
    srv = fake_server("fail", mode="fail")
    st, h, body = srv.request("/files/fake/rod/size=2.stl")
    eq(h["content-type"], "application/problem+json", "type")
    p = json.loads(body)
    eq(st, 500, "status: %r" % p)
    eq(p["status"], 500, "problem status")
    eq(p.get("engine"), "fake", "engine")
    check("exit" in p["detail"] or "status" in p["detail"],
          "detail: %r" % p["detail"])
    st, h, body = srv.request("/files/fake/rod/size=3.stl",
                              headers={"Prefer": "respond-async"})
    if st == 202:
        deadline = time.monotonic() + 10 * SLOW
        while st == 202 and time.monotonic() < deadline:
            time.sleep(0.1)
            st, _, body = srv.request(h["location"])
    eq(st, 500, "the job's failure")
    eq(json.loads(body).get("engine"), "fake", "the job's engine")


@test
def path_traversal_in_every_spelling_is_404_and_reads_nothing_outside():
    srv = bundled_server()
    secret = os.path.join(os.path.dirname(LIBRARY), "README.md")
    spellings = ["/files/../README.md", "/files/%2e%2e/README.md",
                 "/files/%2E%2E/README.md", "/files/bolts/%2e%2e/%2e%2e/x",
                 "/files/..%2fREADME.md", "/files/%2e%2e%2fREADME.md",
                 "/files//etc/passwd", "/files/%2fetc%2fpasswd",
                 "/files/bolts%00/hex_screw", "/files/%00",
                 "/files/./bolts", "/web/../../etc/passwd",
                 "/web/%2e%2e/%2e%2e/etc/passwd", "/web/three/../../passwd",
                 "/web/three/%2e%2e%2fthree.module.js", "/web/.hidden",
                 "/blobs/../../etc/passwd", "/status/../files",
                 "/files/bolts/hex_screw/M8/..%5c..%5cx"]
    for p in spellings:
        got = raw_get(srv.port, [p])[0]
        eq(got[0], 404, p)
        check(b"root:" not in got[1] and b"partsfs" not in got[1][:1] and
              open(secret, "rb").read()[:40] not in got[1], p + ": leaked")


@test
def every_method_but_get_and_head_is_405_with_allow():
    srv = bundled_server()
    for m in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"):
        st, h, body = srv.request("/files/bolts", method=m)
        eq(st, 405, m)
        eq(h.get("allow"), "GET, HEAD", m)
        eq(json.loads(body)["status"], 405, m)


@test
def the_index_is_json_and_a_browser_gets_the_web_page():
    srv = bundled_server()
    _, j = srv.json("/")
    eq(j["api"]["files"], "/files/{path}", "index")
    web = os.path.join(TMP, "web")
    os.makedirs(web, exist_ok=True)
    with open(os.path.join(web, "index.html"), "w") as f:
        f.write("<!doctype html><title>partsfs</title>\n")
    with open(os.path.join(web, "app.js"), "w") as f:
        f.write("export {};\n")
    s2 = Server(LIBRARY, conf_extra="serve:\n  web: %s\n" % web)
    try:
        st, h, body = s2.request("/", headers={
            "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        eq((st, body), (200, b"<!doctype html><title>partsfs</title>\n"),
           "a browser")
        check(h["content-type"].startswith("text/html"), "type")
        st, h, body = s2.request("/", headers={"Accept": "*/*"})
        eq(st, 200, "curl")
        eq(json.loads(body)["service"], "partsfs", "curl gets JSON")
        st, h, body = s2.request("/web/app.js")
        eq((st, body), (200, b"export {};\n"), "/web/app.js")
        check(h["content-type"].startswith("text/javascript"), "js type")
        eq(s2.request("/web/nope.js")[0], 404, "a file not there")
        os.symlink("/etc/passwd", os.path.join(web, "out.js"))
        eq(s2.request("/web/out.js")[0], 404, "a link out of the dir")
        if os.path.exists("/usr/share/javascript/three/build/three.module.js"):
            st, _, body = s2.request("/web/three/build/three.module.js")
            eq(st, 200, "three.js")
            eq(body, read("/usr/share/javascript/three/build/"
                          "three.module.js"), "three.js's bytes")
    finally:
        s2.stop()


@test
def occi_listen_is_a_listener_of_its_own():
    srv = Server(LIBRARY, args=("--occi-listen", "127.0.0.1:0"))
    try:
        port = None
        for line in srv.log().splitlines():
            if "(OCCI API)" in line:
                port = int(line.split("http://")[1].split("/")[0]
                           .rsplit(":", 1)[1])
        check(port is not None and port != srv.port, "no OCCI listener: " +
              srv.log())
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/")
        r = c.getresponse()
        j = json.loads(r.read())
        if r.status == 404:
            eq(r.getheader("Content-Type"), "application/problem+json",
               "type")
            check("not built in" in j["detail"], "detail %r" % j)
        else:
            eq(r.status, 200, "OCCI /")
            check("library" in j and "maintainer" in j, "OCCI / %r" % j)
        eq(srv.request("/")[0], 200, "the native API beside it")
    finally:
        srv.stop()


@test
def status_files_are_what_the_mount_shows():
    srv = bundled_server()
    for name in ("jobs", "stats", "errors", "warnings", "version"):
        st, h, body = srv.request("/status/" + name)
        eq(st, 200, name)
        check(h["content-type"].startswith("text/plain"), name)
    st, _, body = srv.request("/status/version")
    check(b"library " + os.path.realpath(LIBRARY).encode() in body,
          "version: %r" % body)
    st, _, body = srv.request("/status/stats")
    check(b"requests " in body and b"hits " in body, "stats: %r" % body)
    eq(srv.request("/status/nope")[0], 404, "/status/nope")


# --- load and robustness ------------------------------------------------

@test
def a_thousand_concurrent_connections_are_all_answered():
    # eight threads, each with its share of serve.connections; the
    # slow-client timeout well beyond what a thousand answers take on a
    # loaded machine (this is not the test of that timeout)
    srv = Server(LIBRARY, conf_extra="serve:\n  threads: 8\n"
                 "  timeout: 120\n")
    try:
        got = raw_get(srv.port, ["/files/bolts/hex_screw"] * 1000)
    finally:
        srv.stop()
    bad = [g[0] for g in got if g[0] != 200]
    eq(len(bad), 0, "not 200: %r" % bad[:10])
    check(all(json.loads(g[1])["path"] == "bolts/hex_screw" for g in got),
          "bodies")


@test
def a_slow_client_holds_up_nobody_and_is_closed_after_the_timeout():
    srv = fake_server("timeout", conf_extra="serve:\n  timeout: 2\n")
    slow = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"GET /files/ HTTP/1.1\r\n")
        slow.append(s)
    t0 = time.monotonic()
    st, _, _ = srv.request("/files/fake/rod")
    eq(st, 200, "a normal client")
    check(time.monotonic() - t0 < 1, "answered in %.2f s" %
          (time.monotonic() - t0))
    # a byte a second: closed once it took longer than the timeout
    s = slow[0]
    t0 = time.monotonic()
    closed = None
    while time.monotonic() - t0 < 8 * SLOW:
        try:
            s.sendall(b"X")
            s.settimeout(1)
            if s.recv(100) == b"":
                closed = time.monotonic() - t0
                break
        except socket.timeout:
            continue
        except OSError:
            closed = time.monotonic() - t0
            break
    check(closed is not None and closed < 5 * SLOW,
          "the slow client was not closed (%r)" % closed)
    for s in slow:
        s.close()


@test
def sigterm_ends_in_seconds_and_leaves_the_cache_consistent():
    root = fake_library(os.path.join(TMP, "lib-term"), seconds=30)
    srv = Server(root)
    results = []
    t = threading.Thread(target=lambda: results.append(
        raw_get(srv.port, ["/files/fake/rod/size=%d.stl" % i
                           for i in range(1, 9)], timeout=30)))
    t.start()
    wait_until(lambda: b"fake" in srv.request("/status/jobs")[2],
               "jobs running", 10 * SLOW)
    # a part made before, to find whole afterwards
    t0 = time.monotonic()
    srv.stop(timeout=10)
    took = time.monotonic() - t0
    check(took < 5, "SIGTERM took %.1f s" % took)
    eq(srv.proc.returncode, 0, "exit status")
    t.join(30)
    statuses = [g[0] for g in results[0]]
    check(all(s in (503, None) for s in statuses),
          "those waiting: %r" % statuses)
    p = subprocess.run([PARTSCTL, "cache", "verify", "--config", srv.conf],
                       env=ENV, capture_output=True, text=True)
    eq(p.returncode, 0, "cache verify: " + p.stdout + p.stderr)
    try:
        socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
        raise Failed("still accepting")
    except OSError:
        pass


@test
def a_thousand_clients_on_a_hundred_parts_keep_the_threads_bounded():
    srv = fake_server("many", seconds=0.05, sizes=range(1, 101),
                      conf_extra="jobs:\n  workers: 4\n")
    base = srv.threads()
    paths = ["/files/fake/rod/size=%d.stl" % (1 + i % 100)
             for i in range(1000)]
    peak = [base]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], srv.threads())
            time.sleep(0.05)
    w = threading.Thread(target=watch)
    w.start()
    try:
        got = raw_get(srv.port, paths, timeout=120)
    finally:
        done.set()
        w.join()
    bad = [(p, g[0]) for p, g in zip(paths, got) if g[0] != 200]
    eq(bad[:5], [], "not 200")
    for p, g in zip(paths[:100], got[:100]):
        check_box(g[1], int(p.split("=")[1].split(".")[0]), p)
    print("# threads: %d at rest, %d at most, with 1000 clients waiting"
          % (base, peak[0]))
    check(peak[0] <= base + 16, "threads grew from %d to %d" %
          (base, peak[0]))


if __name__ == "__main__":
    failed = run_tests()
    for s in SERVERS.values():
        try:
            s.stop()
        except Failed as e:
            print("# " + str(e).replace("\n", "\n# "))
            print("Bail out! a server ended badly")
            failed += 1
    sys.exit(1 if failed else 0)
