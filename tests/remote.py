#!/usr/bin/env python3
# remote.py -- partsctl ls, params and get on the URL of a partsctl serve:
# the same answers as on the library itself, parts kept in the local
# cache (a second get makes no request), one job on the server for many
# clients, every transfer verified (a stand-in server sends wrong
# digests, short bodies, dies mid-transfer), a bounded connect time, and
# credentials from a token file and a netrc file.  TAP output, in the
# style of serve.py, whose real server (with the fake engine) it uses.

import base64
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mountlib import *  # noqa: E402,F401,F403
import mountlib  # noqa: E402
import serve  # noqa: E402  (its Server; its tests are not ours)

mountlib.TESTS.clear()
Server = serve.Server
SERVERS = serve.SERVERS


class Client:
    """partsctl on URLs with a configuration and a cache of its own."""

    def __init__(self, extra=""):
        self.dir = tempfile.mkdtemp(dir=TMP, prefix="client-")
        self.cache = os.path.join(self.dir, "cache")
        self.conf = os.path.join(self.dir, "partsfs.conf")
        write_conf(self.conf, self.cache, extra)

    def run(self, *args, timeout=60):
        p = subprocess.run(
            WRAPPER + [PARTSCTL] + list(args[:1]) + list(args[1:]) +
            ["--config", self.conf],
            env=ENV, capture_output=True, timeout=timeout * SLOW)
        # under --enable-asan or a PARTSFS_WRAPPER: what they found, on
        # the paths of failures too
        for bad in (b"Sanitizer", b"runtime error:", b"Invalid read",
                    b"Invalid write", b"definitely lost"):
            if bad in p.stderr:
                raise Failed("partsctl %s: %s" % (" ".join(args),
                                                  p.stderr.decode()[-3000:]))
        return p

    def get(self, url, path, *extra, out=None):
        out = out or os.path.join(self.dir, "out")
        if os.path.exists(out):
            os.unlink(out)
        p = self.run("get", url, path, "-o", out, "-q", *extra)
        data = None
        if os.path.exists(out):
            with open(out, "rb") as f:
                data = f.read()
        return p.returncode, data, p.stderr.decode(errors="replace")

    def entries(self):
        out = partsctl("cache", "stats", "--config", self.conf)
        for line in out.splitlines():
            if line.startswith("entries:"):
                return int(line.split()[1])
        raise Failed("no entries in: " + out)


def url(srv):
    return "http://127.0.0.1:%d/" % srv.port


def stat(srv, name):
    """A figure of the server's /status/stats."""
    st, _, body = srv.request("/status/stats")
    eq(st, 200, "/status/stats")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    raise Failed("no %s in /status/stats" % name)


def requests(srv):
    """The server's requests so far, less the ones asking for them (each
    counts itself)."""
    n = stat(srv, "requests")
    srv.asked = getattr(srv, "asked", 0) + 1
    return n - srv.asked


def fake(name="fake", **kw):
    return serve.fake_server(name, **kw)


# --- the same answers as locally -----------------------------------------

@test
def ls_over_a_url_lists_what_ls_of_the_library_lists():
    srv = serve.bundled_server()
    for path in ("", "bolts", "bolts/hex_screw", "bolts/hex_screw/M8",
                 "by-standard", "by-standard/ISO4017",
                 "by-standard/ISO4017/M8", "by-name",
                 "bolts/hex_screw/M8/length=20.step",
                 "bolts/hex_screw/M8/length=21.step", "bolts/hex_screw.json"):
        for long in ([], ["-l"]):
            eq(partsctl("ls", url(srv), path, *long),
               partsctl("ls", srv.library, path, *long,
                        "--config", srv.conf), "ls %s %s" % (path, long))


@test
def params_over_a_url_print_what_params_of_the_library_print():
    srv = serve.bundled_server()
    for args in (("bolts/hex_screw/M8/length=20.json",),
                 ("bolts/hex_screw/M8/length=20.step",),
                 ("bolts/hex_screw/M8/length=20.stl",),
                 ("bolts/hex_screw/M8", "length=25"),
                 ("by-standard/ISO4017/M10/default.json",),
                 # a class: down its levels by the values given, else by
                 # its defaults
                 ("bolts/hex_screw",),
                 ("bolts/hex_screw", "size=M10"),
                 ("bolts/hex_screw", "length=30"),
                 ("bolts/hex_screw", "size=M12", "length=35"),
                 ("bolts/hex_nut",)):
        eq(partsctl("params", url(srv), *args),
           partsctl("params", "--config", srv.conf, srv.library, *args),
           "params %s" % (args,))


@test
def an_invalid_path_fails_with_the_servers_detail():
    srv = serve.bundled_server()
    for cmd in (("ls", "bolts/nope"), ("params", "bolts/hex_screw/M7/x.json"),
                ("get", "bolts/hex_screw/M8/length=-5.step")):
        p = subprocess.run([PARTSCTL, cmd[0], url(srv), cmd[1]], env=ENV,
                           capture_output=True, text=True)
        eq(p.returncode, 1, "exit status of %s: %s" % (cmd, p.stderr))
        local = subprocess.run([PARTSCTL, cmd[0], srv.library, cmd[1],
                                "--config", srv.conf], env=ENV,
                               capture_output=True, text=True)
        # the server's words, which are the library's
        check(local.stderr.strip().split(": ")[-1] in p.stderr,
              "%s: %r does not say %r" % (cmd, p.stderr, local.stderr))


@test
def get_over_a_url_gives_the_bytes_of_get_on_the_library():
    srv = fake()
    c = Client()
    rc, data, err = c.get(url(srv), "fake/rod/size=3.stl")
    eq(rc, 0, "exit status (%s)" % err)
    check_box(data, 3)
    local = os.path.join(c.dir, "local.stl")
    partsctl("get", srv.library, "fake/rod/size=3.stl", "-o", local,
             "--config", srv.conf)
    eq(data, read(local), "the part over the URL and made locally")
    rc, data, err = c.get(url(srv), "fake/rod/size=3.json")
    eq(rc, 0, "exit status of the .json (%s)" % err)
    eq(data.decode(), partsctl("get", srv.library, "fake/rod/size=3.json",
                               "--config", srv.conf), ".json")


# --- the local cache ------------------------------------------------------

@test
def a_second_get_is_served_from_the_local_cache_without_a_request():
    srv = fake()
    c = Client()
    n0 = requests(srv)
    rc, first, err = c.get(url(srv), "fake/rod/size=4.stl")
    eq(rc, 0, "first get (%s)" % err)
    n1 = requests(srv)
    eq(n1 - n0, 1, "requests of the first get")
    eq(c.entries(), 1, "parts in the local cache")
    rc, second, err = c.get(url(srv), "fake/rod/size=4.stl")
    eq(rc, 0, "second get (%s)" % err)
    eq(second, first, "the second get's bytes")
    eq(requests(srv) - n1, 0, "requests of the second get")
    # and with the server gone too
    srv2 = Server(srv.library)
    u2 = url(srv2)
    rc, _, err = c.get(u2, "fake/rod/size=5.stl")
    eq(rc, 0, "a get from the second server (%s)" % err)
    srv2.stop()
    rc, again, err = c.get(u2, "fake/rod/size=5.stl")
    eq(rc, 0, "a get of a cached part with its server stopped (%s)" % err)
    check_box(again, 5)


@test
def sixteen_concurrent_gets_of_one_part_make_one_job_on_the_server():
    root = fake_library(os.path.join(TMP, "lib-16"), seconds=1.0)
    srv = Server(root)
    SERVERS["16"] = srv
    clients = [Client() for _ in range(16)]
    procs = [subprocess.Popen(
        WRAPPER + [PARTSCTL, "get", url(srv), "fake/rod/size=6.stl", "-q",
                   "-o", os.path.join(c.dir, "out"), "--config", c.conf],
        env=ENV, stderr=subprocess.PIPE) for c in clients]
    for p in procs:
        eq(p.wait(60 * SLOW), 0, "a get: %s" % p.stderr.read())
        p.stderr.close()
    for c in clients:
        check_box(read(os.path.join(c.dir, "out")), 6)
        eq(c.entries(), 1, "parts in a client's cache")
    # one answer: the request asking counts itself
    st, _, body = srv.request("/status/stats")
    figures = dict(line.split(" ", 1) for line in body.decode().splitlines()
                   if " " in line)
    eq(int(figures["jobs_run"]), 1, "jobs the server ran")
    eq(int(figures["requests"]) - 1, 16, "requests the server had")


@test
def concurrent_gets_into_one_local_cache_keep_one_part():
    srv = fake()
    c = Client()
    procs = [subprocess.Popen(
        WRAPPER + [PARTSCTL, "get", url(srv), "fake/rod/size=7.stl", "-q",
                   "-o", os.path.join(c.dir, "out%d" % i), "--config",
                   c.conf], env=ENV, stderr=subprocess.PIPE)
        for i in range(8)]
    for i, p in enumerate(procs):
        eq(p.wait(60 * SLOW), 0, "a get: %s" % p.stderr.read())
        p.stderr.close()
        check_box(read(os.path.join(c.dir, "out%d" % i)), 7)
    eq(c.entries(), 1, "parts in the cache")
    p = subprocess.run([PARTSCTL, "cache", "verify", "--config", c.conf],
                       env=ENV, capture_output=True, text=True)
    eq(p.returncode, 0, "partsctl cache verify: %s" % p.stderr)


# --- verification: a stand-in server --------------------------------------

STANDIN = r'''
import base64, hashlib, http.server, socketserver, sys, time
mode, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
BODY = b"solid standin\n" + b"x" * 200000 + b"endsolid standin\n"
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_GET(self):
        with open(log, "a") as f:
            f.write("%s %s\n" % (self.path,
                                 self.headers.get("Authorization")))
        etag = '"%s"' % hashlib.sha256(BODY).hexdigest()
        if mode == "revalidate":
            with open(log + ".inm", "a") as f:
                f.write("%s\n" % self.headers.get("If-None-Match"))
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Cache-Control", "max-age=0")
                self.end_headers()
                return
        digest = hashlib.sha256(BODY).digest()
        if mode == "baddigest":
            digest = hashlib.sha256(b"other").digest()
        self.send_response(200)
        self.send_header("Content-Type", "model/stl")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(BODY)))
        self.send_header("Cache-Control", "max-age=%d" %
                         (0 if mode == "revalidate" else 60))
        if mode != "nodigest":
            self.send_header("Repr-Digest", "sha-256=:%s:" %
                             base64.b64encode(digest).decode())
        self.end_headers()
        if mode == "short":
            self.wfile.write(BODY[:1000])
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "stall":
            self.wfile.write(BODY[:1000])
            self.wfile.flush()
            open(log + ".stalled", "w").close()
            time.sleep(600)
        self.wfile.write(BODY)
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    allow_reuse_address = True
    daemon_threads = True
s = S(("127.0.0.1", port), H)
if mode == "tls":
    import os, ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.environ["STANDIN_CERT"], os.environ["STANDIN_KEY"])
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
'''


class Standin:
    """A small HTTP server in Python standing in for partsctl serve, in
    a process of its own: `mode` good, baddigest, nodigest, short (the
    connection closed after 1000 bytes), stall (1000 bytes, then
    nothing)."""

    def __init__(self, mode, port=0, env=None):
        self.dir = tempfile.mkdtemp(dir=TMP, prefix="standin-")
        self.log = os.path.join(self.dir, "log")
        open(self.log, "w").close()
        script = os.path.join(self.dir, "standin.py")
        with open(script, "w") as f:
            f.write(STANDIN)
        self.proc = subprocess.Popen(
            [sys.executable, script, mode, str(port), self.log],
            stdout=subprocess.PIPE, text=True,
            env=dict(os.environ, **(env or {})))
        self.port = int(self.proc.stdout.readline())
        self.url = "%s://127.0.0.1:%d/" % (
            "https" if mode == "tls" else "http", self.port)

    def seen(self):
        with open(self.log) as f:
            return [line.rstrip("\n").split(" ", 1) for line in f]

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


@test
def a_wrong_repr_digest_is_an_error_and_nothing_is_cached():
    for mode, says in (("baddigest", "SHA-256"), ("nodigest", "Repr-Digest"),
                       ("short", "")):
        s = Standin(mode)
        c = Client()
        try:
            rc, data, err = c.get(s.url, "x/y.stl")
        finally:
            s.kill()
        check(rc != 0, "%s: the get succeeded" % mode)
        check(data is None or data == b"", "%s: an output was written" % mode)
        check(says in err, "%s: %r does not say %r" % (mode, err, says))
        eq(c.entries(), 0, "%s: parts cached" % mode)
        check(not any(os.scandir(os.path.join(c.cache, "tmp")))
              if os.path.isdir(os.path.join(c.cache, "tmp")) else True,
              "%s: scratch space left" % mode)


@test
def a_server_killed_mid_transfer_is_an_error_then_works_when_back():
    s = Standin("stall")
    c = Client()
    port = s.port
    out = os.path.join(c.dir, "out")
    p = subprocess.Popen(
        WRAPPER + [PARTSCTL, "get", s.url, "x/y.stl", "-q", "-o", out,
                   "--config", c.conf], env=ENV, stderr=subprocess.PIPE,
        text=True)
    wait_until(lambda: os.path.exists(s.log + ".stalled"),
               "the stand-in to stall", 10 * SLOW)
    s.kill()
    rc = p.wait(30 * SLOW)
    err = p.stderr.read()
    p.stderr.close()
    check(rc != 0, "the get succeeded")
    check("broke off" in err, "the message: %r" % err)
    check(not os.path.exists(out), "an output was written")
    eq(c.entries(), 0, "parts cached")
    s = Standin("good", port)
    try:
        rc, data, err = c.get(s.url, "x/y.stl")
    finally:
        s.kill()
    eq(rc, 0, "the get once the server is back (%s)" % err)
    check(data.startswith(b"solid standin") and len(data) > 200000,
          "the part")
    eq(c.entries(), 1, "parts cached")


@test
def a_stale_part_is_revalidated_with_its_etag_and_not_transferred():
    s = Standin("revalidate")
    c = Client()
    try:
        rc, first, err = c.get(s.url, "x/y.stl")
        eq(rc, 0, "first get (%s)" % err)
        p = c.run("get", s.url, "x/y.stl", "-o", os.path.join(c.dir, "o2"),
                  "-q")
        eq(p.returncode, 0, "second get (%s)" % p.stderr)
        eq(read(os.path.join(c.dir, "o2")), first, "the second get's bytes")
    finally:
        s.kill()
    with open(s.log + ".inm") as f:
        inm = f.read().split("\n")[:-1]
    eq(inm, ["None", '"%s"' % hashlib.sha256(first).hexdigest()],
       "If-None-Match of the two requests")
    eq(c.entries(), 1, "parts cached")
    # the server gone: what is cached is served all the same, said so
    p = c.run("get", s.url, "x/y.stl", "-o", os.path.join(c.dir, "o3"))
    eq(p.returncode, 0, "a get with the server gone (%s)" % p.stderr)
    eq(read(os.path.join(c.dir, "o3")), first, "the bytes served offline")
    check(b"serving the part cached before" in p.stderr, p.stderr)
    p = c.run("get", s.url, "x/other.stl", "-o", os.path.join(c.dir, "o4"))
    eq(p.returncode, 4, "a part not cached with the server gone (%s)"
       % p.stderr)


@test
def an_unreachable_server_fails_within_the_connect_time():
    c = Client()
    # nothing listening: at once
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    t = time.monotonic()
    rc, _, err = c.get("http://127.0.0.1:%d/" % port, "x/y.stl")
    eq(rc, 4, "exit status (%s)" % err)
    check("cannot reach the server" in err, err)
    check(time.monotonic() - t < 5 * SLOW, "took %.1f s" %
          (time.monotonic() - t))
    # a listener that never accepts, its backlog full: the connect time
    hole = blackhole()
    s = hole[0]
    t = time.monotonic()
    c2 = Client("remote:\n  connect-timeout: 2\n")
    for c, cmd in ((c, ("get", "x/y.stl", "--connect-timeout", "2")),
                   (c, ("ls", "", "--connect-timeout", "2")),
                   (c2, ("get", "x/y.stl"))):
        t = time.monotonic()
        p = c.run(cmd[0], "http://127.0.0.1:%d/" % s.getsockname()[1],
                  *cmd[1:])
        took = time.monotonic() - t
        err = p.stderr.decode()
        check(p.returncode != 0, "%s succeeded" % cmd[0])
        check("cannot reach the server" in err, err)
        check(1.5 < took < 6 * SLOW, "%s took %.1f s with a 2 s connect "
              "time: %s" % (cmd[0], took, err))
        print("# %s failed after %.2f s: %s" % (cmd[0], took, err.strip()))
    for f in hole:
        f.close()


@test
def a_server_whose_certificate_is_not_trusted_is_a_tls_error():
    if not on_path("openssl"):
        raise Skip("no openssl command to make a certificate")
    d = tempfile.mkdtemp(dir=TMP, prefix="tls-")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                    "-subj", "/CN=127.0.0.1"], check=True,
                   capture_output=True)
    s = Standin("tls", env={"STANDIN_CERT": cert, "STANDIN_KEY": key})
    c = Client()
    try:
        rc, data, err = c.get(s.url, "x/y.stl")
        p = c.run("ls", s.url)
    finally:
        s.kill()
    eq(rc, 4, "exit status of get (%s)" % err)
    check("TLS with " + s.url in err and "certificate" in err,
          "the message: %r" % err)
    eq(p.returncode, 4, "exit status of ls (%s)" % p.stderr)
    eq(c.entries(), 0, "parts cached")
    eq(s.seen(), [], "requests that reached the server")


@test
def token_and_netrc_files_reach_the_server_as_authorization():
    s = Standin("good")
    c = Client()
    try:
        tok = os.path.join(c.dir, "token")
        with open(tok, "w") as f:
            f.write("s3cr3t-token\n")
        rc, _, err = c.get(s.url, "x/y.stl", "--token-file", tok)
        eq(rc, 0, "get with a token (%s)" % err)
        netrc = os.path.join(c.dir, "netrc")
        with open(netrc, "w") as f:
            f.write("machine 127.0.0.1 login alice password pw:1\n")
        os.chmod(netrc, 0o600)
        rc, _, err = c.get(s.url, "x/z.stl", "--netrc", netrc)
        eq(rc, 0, "get with a netrc (%s)" % err)
        rc, _, err = c.get(s.url, "x/w.stl")
        eq(rc, 0, "get without (%s)" % err)
        p = c.run("get", s.url, "x/v.stl", "--token-file",
                  os.path.join(c.dir, "missing"))
        check(p.returncode != 0 and b"token file" in p.stderr,
              "a missing token file: %r" % p.stderr)
        # from partsfs.conf's remote: section, for ls too
        c2 = Client("remote:\n  token-file: %s\n" % tok)
        rc, _, err = c2.get(s.url, "x/u.stl")
        eq(rc, 0, "get with the token file of partsfs.conf (%s)" % err)
        c2.run("ls", s.url, "x")
    finally:
        s.kill()
    eq(s.seen(), [
        ["/files/x/y.stl", "Bearer s3cr3t-token"],
        ["/files/x/z.stl", "Basic " +
         base64.b64encode(b"alice:pw:1").decode()],
        ["/files/x/w.stl", "None"],
        ["/files/x/u.stl", "Bearer s3cr3t-token"],
        ["/files/", "Bearer s3cr3t-token"]], "what the server saw")


@test
def a_failed_job_is_the_servers_reason():
    srv = fake("fail", mode="fail")
    c = Client()
    rc, data, err = c.get(url(srv), "fake/rod/size=2.stl")
    eq(rc, 3, "exit status (%s)" % err)
    local = subprocess.run([PARTSCTL, "get", srv.library,
                            "fake/rod/size=2.stl", "-o", "/dev/null",
                            "--config", srv.conf], env=ENV,
                           capture_output=True, text=True)
    check("fake-engine" in err and "exit" in err.lower(),
          "the reason: %r (locally: %r)" % (err, local.stderr))
    eq(c.entries(), 0, "parts cached")


if __name__ == "__main__":
    failed = run_tests()
    for s in SERVERS.values():
        try:
            s.stop()
        except Failed as e:
            print("# " + str(e).replace("\n", "\n# "))
            print("Bail out! a server ended badly")
            failed += 1
    cleanup()
    sys.exit(1 if failed else 0)
