# serve.py -- the benchmarks of `partsctl serve` (issue 19), each figure
# beside its baseline in the same run:
#   S1 warm part throughput with wrk, 50 connections, against nginx
#      serving the same blob file statically (target >= 0.8x);
#   S2 1000 clients waiting on 100 uncached parts: the server's threads
#      and memory while they wait (bounded), and that each got its part;
#   S3 a cold part over HTTP against `partsctl get` of the same part
#      (target within 5%).
# usage: python3 bench/serve.py BUILD-DIR SOURCE-DIR  (bench/run.sh runs it)
# BENCH_RUNS (default 7) sets the runs of S3, BENCH_WRK_SECONDS (default
# 10) the length of each wrk run of S1.

import http.client
import os
import re
import resource
import selectors
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True

from benchlib import loadavg, main_args, median, secs, spread


def which(name):
    return shutil.which(name, path="/usr/local/sbin:/usr/local/bin:"
                        "/usr/sbin:/usr/bin:/sbin:/bin")

B = main_args()
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
WRK_SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "10"))
PART = "bolts/hex_screw/M8/length=20.stl"
PRIMER = "bolts/hex_nut/M8/default.stl"


class Server:
    """partsctl serve on a free port of loopback."""

    def __init__(self, library, cache, conf=None):
        self.log = open(os.path.join(B.tmp("serve-log"), "log"), "w+")
        argv = [B.partsctl, "serve", library, "--listen", "127.0.0.1:0",
                "--cache", cache] + (["--config", conf] if conf else [])
        self.argv = argv
        self.proc = subprocess.Popen(argv, env=B.env, stdout=self.log,
                                     stderr=self.log,
                                     stdin=subprocess.DEVNULL)
        self.port = None
        deadline = time.monotonic() + 30
        while self.port is None:
            self.log.flush()
            with open(self.log.name) as f:
                m = re.search(r"http://127\.0\.0\.1:(\d+)/ \(native",
                              f.read())
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None or \
                    time.monotonic() > deadline:
                raise RuntimeError("partsctl serve did not start: " +
                                   open(self.log.name).read()[-2000:])
            else:
                time.sleep(0.01)

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        c.close()
        if r.status != 200:
            raise RuntimeError("GET %s: %d %r" % (path, r.status, body[:300]))
        return r, body

    def status(self, key):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


def wrk(url):
    """Requests per second of wrk, 2 threads and 50 connections."""
    p = subprocess.run(["wrk", "-t2", "-c50", "-d%ds" % WRK_SECONDS, url],
                       capture_output=True, text=True)
    m = re.search(r"Requests/sec:\s*([0-9.]+)", p.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", p.stdout)
    if p.returncode != 0 or not m or errors:
        raise RuntimeError("wrk %s: %s %s" % (url, p.stdout, p.stderr))
    return float(m.group(1))


def nginx(root):
    """nginx serving `root` statically on a free port: (proc, port)."""
    prefix = B.tmp("nginx")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""worker_processes auto;
daemon off;
pid %(p)s/nginx.pid;
error_log %(p)s/error.log;
%(user)s
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path %(p)s/body;
    proxy_temp_path %(p)s/proxy;
    fastcgi_temp_path %(p)s/fastcgi;
    uwsgi_temp_path %(p)s/uwsgi;
    scgi_temp_path %(p)s/scgi;
    server {
        listen 127.0.0.1:%(port)d;
        root %(root)s;
    }
}
""" % {"p": prefix, "port": port, "root": root,
       "user": "user root;" if os.geteuid() == 0 else ""})
    proc = subprocess.Popen([which("nginx") or "/usr/sbin/nginx", "-p",
                             prefix, "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return proc, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("nginx did not start: " + open(
                    os.path.join(prefix, "error.log")).read()[-2000:])
            time.sleep(0.02)


def many_get(port, paths, timeout=600):
    """GET each path over a connection of its own, all at once (one
    thread, non-blocking): the statuses."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    sel = selectors.DefaultSelector()
    conns = []
    for i, p in enumerate(paths):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        conns.append([s, ("GET %s HTTP/1.1\r\nHost: x\r\nConnection: "
                          "close\r\n\r\n" % p).encode(), b""])
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, i)
    left = len(conns)
    deadline = time.monotonic() + timeout
    while left and time.monotonic() < deadline:
        for key, ev in sel.select(1):
            c = conns[key.data]
            try:
                if ev & selectors.EVENT_WRITE and c[1]:
                    c[1] = c[1][c[0].send(c[1]):]
                    if not c[1]:
                        sel.modify(c[0], selectors.EVENT_READ, key.data)
                if not ev & selectors.EVENT_READ:
                    continue
                d = c[0].recv(65536)
                if d:
                    c[2] += d
                    continue
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                pass
            sel.unregister(c[0])
            c[0].close()
            left -= 1
    return [int(c[2].split(b" ", 2)[1]) if c[2] else None for c in conns]


B.say("S1-S3 (issue 19) partsctl serve; load average %s" % loadavg())
B.legend()

# --- S1 ------------------------------------------------------------------------

B.say("S1 warm part throughput, wrk -t2 -c50 -d%ds, against nginx serving "
      "the same blob file" % WRK_SECONDS)
if not which("wrk") or not which("nginx"):
    B.say("  skipped: wrk or nginx is not installed (Debian wrk, nginx)")
else:
    cache = B.tmp("s1-cache")
    srv = Server(B.library, cache, B.scad_conf)
    try:
        r, body = srv.get("/files/" + PART)
        blob = os.path.join(cache, "blobs")
        found = [os.path.join(d, f) for d, _, fs in os.walk(cache)
                 for f in fs if f.startswith(r.getheader("ETag").strip('"'))
                 and f.endswith(".stl")]
        root = B.tmp("s1-static")
        shutil.copy(found[0], os.path.join(root, "part.stl"))
        os.chmod(root, 0o755)
        ng, nport = nginx(root)
        try:
            t_nginx = wrk("http://127.0.0.1:%d/part.stl" % nport)
            t_serve = wrk("http://127.0.0.1:%d/files/%s" % (srv.port, PART))
            t_blob = wrk("http://127.0.0.1:%d%s" % (
                srv.port, r.getheader("Content-Location")))
        finally:
            ng.terminate()
            ng.wait(10)
        B.say("  part: %s, %d bytes (OpenSCAD), served from the cache "
              "with sendfile" % (PART, len(body)))
        B.say("  nginx 1 static file:        %9.0f requests/s" % t_nginx)
        B.say("  partsctl serve /files/...:  %9.0f requests/s" % t_serve)
        B.say("  partsctl serve /blobs/...:  %9.0f requests/s" % t_blob)
        ratio = t_serve / t_nginx
        B.say("  ratio /files/ to nginx: %.2f; target >= 0.8: %s" % (
            ratio, B.record("S1", "warm part requests/s, serve/nginx",
                            "%.2f (>= 0.8)" % ratio, ratio >= 0.8)))
    finally:
        srv.stop()

# --- S2 ------------------------------------------------------------------------

B.say("")
B.say("S2 1000 clients waiting on 100 uncached parts (fake engine, 0.2 s a "
      "part, jobs.workers 4)")
root = B.tmp("s2-lib")
conf = B.fake_rod(root, "      literal: {seconds: 0.2}\n"
                  "      free: [size]\n      defaults: {size: 1}\n"
                  "      types: {size: Length (mm), seconds: Number}\n",
                  "jobs:\n  workers: 4\n")
srv = Server(root, B.tmp("s2-cache"), conf)
try:
    rest = (srv.status("Threads"), srv.status("VmRSS"))
    peak = [rest[0], rest[1]]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], srv.status("Threads"))
            peak[1] = max(peak[1], srv.status("VmRSS"))
            time.sleep(0.05)
    w = threading.Thread(target=watch)
    w.start()
    t0 = time.perf_counter()
    st = many_get(srv.port, ["/files/fake/rod/size=%d.step" % (1 + i % 100)
                             for i in range(1000)])
    took = time.perf_counter() - t0
    done.set()
    w.join()
    ok = sum(1 for s in st if s == 200)
    B.say("  answered 200: %d of 1000 in %s" % (ok, secs(took)))
    B.say("  threads: %d at rest, %d at most while waiting" % (
        rest[0], peak[0]))
    B.say("  RSS: %.1f MiB at rest, %.1f MiB at most" % (
        rest[1] / 1024, peak[1] / 1024))
    bounded = peak[0] <= rest[0] + 16 and ok == 1000
    B.say("  threads bounded (<= %d, every client answered): %s" % (
        rest[0] + 16, B.record("S2", "1000 clients on 100 parts: peak "
                               "threads, RSS", "%d, %.0f MiB" % (
                                   peak[0], peak[1] / 1024), bounded)))
finally:
    srv.stop()

# --- S3 ------------------------------------------------------------------------

B.say("")
B.say("S3 a cold part over HTTP against partsctl get of the same part "
      "(OpenSCAD, %s; cache knows the engine version)" % PART)
known = B.known_cache(PRIMER, B.scad_conf)
t_http, t_get = [], []
for i in range(RUNS):
    c1 = B.fresh_copy(known)
    srv = Server(B.library, c1, B.scad_conf)
    try:
        t0 = time.perf_counter()
        _, body = srv.get("/files/" + PART)
        t_http.append(time.perf_counter() - t0)
    finally:
        srv.stop()
    c2 = B.fresh_copy(known)
    t_get.append(B.timed([B.partsctl, "get", "-q", "-c", B.scad_conf,
                          B.library, PART, "--cache", c2, "-o",
                          os.path.join(B.work, "s3.stl")]))
    # OpenSCAD's STL of a part is not the same bytes from run to run (the
    # order of its facets): the sizes must agree
    if len(body) != os.path.getsize(os.path.join(B.work, "s3.stl")):
        raise RuntimeError("S3: the part over HTTP is not get's size")
B.say("  GET /files/ (server started): " + spread(t_http))
B.say("  partsctl get:                 " + spread(t_get))
ratio = median(t_http) / median(t_get)
B.say("  ratio HTTP/get: %.3f (%+.1f%%); target within 5%%: %s" % (
    ratio, (ratio - 1) * 100, B.record(
        "S3", "cold part, HTTP/partsctl get", "%.3f (<= 1.05)" % ratio,
        ratio <= 1.05)))
