#!/usr/bin/env python3
# occi.py -- the OCCI API of partsctl serve (--occi-listen) as the OCCI
# FreeCAD plugin (occi-cad/occi-freecad-plugin) calls it: a client that
# replays the plugin's requests exactly as its code makes them (URLs built
# by string concatenation, the search text not URL-encoded, redirects off
# for models and jobs, the job URL the server root plus the Location,
# polling), against the real server with the fake engine, and once with
# FreeCAD on the bundled library for a real STEP.  TAP output, in the
# style of mount.py (mountlib.py's harness).

import atexit
import base64
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mountlib import *  # noqa: E402,F401,F403

try:
    import requests     # what the plugin uses (it vendors 2.28.2)
except ImportError:     # Debian package python3-requests
    requests = None

# The plugin polls every 5 s; the tests poll faster (only the status
# codes matter to the plugin, not the pace).
POLL = 0.5

# --- the plugin's HTTP, as requests sends it --------------------------------


class Response:
    def __init__(self, status, headers, body):
        self.status_code = status
        self.headers = headers          # names lower case
        self.content = body

    def json(self):
        return json.loads(self.content)


def requote(url):
    """What requests does to a URL the plugin built (requote_uri): the
    fragment dropped, unreserved %XX decoded, and everything outside
    requests' safe set %-encoded (a space as %20, UTF-8 bytes as %XX)."""
    url = url.split("#", 1)[0]
    parts = url.split("%")
    out = parts[0]
    for p in parts[1:]:
        h = p[:2]
        if len(h) == 2 and re.fullmatch(r"[0-9A-Fa-f]{2}", h):
            c = chr(int(h, 16))
            if re.fullmatch(r"[A-Za-z0-9._~-]", c):
                out += c + p[2:]
            else:
                out += "%" + p
        else:
            out += "%25" + p
    return urllib.parse.quote(out, safe="!#$%&'()*+,/:;=?@[]~")


def get(url, allow_redirects=True, stream=False):
    """requests.get(url, ...) as the plugin calls it.  With requests at
    hand, requests itself; else the same request line by http.client
    (redirects are never followed then: the tests want none where the
    plugin would follow them)."""
    if requests is not None:
        r = requests.get(url, allow_redirects=allow_redirects, stream=stream)
        body = b"".join(r.iter_content(8192)) if stream else r.content
        return Response(r.status_code,
                        {k.lower(): v for k, v in r.headers.items()}, body)
    u = urllib.parse.urlsplit(requote(url))
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60 * SLOW)
    c.request("GET", (u.path or "/") + ("?" + u.query if u.query else ""),
              headers={"User-Agent": "python-requests/2.28.2",
                       "Accept-Encoding": "gzip, deflate", "Accept": "*/*",
                       "Connection": "keep-alive"})
    r = c.getresponse()
    body = r.read()
    c.close()
    return Response(r.status, {k.lower(): v for k, v in r.getheaders()},
                    body)


# --- the plugin's logic (InitGui.py, Utils.py) ------------------------------

def add_repository(repo_url):
    """"Add Repository": the URL with one trailing slash stripped, GET,
    and the JSON must hold library and maintainer."""
    if repo_url[-1] == "/":
        repo_url = repo_url[:-1]
    r = get(repo_url)
    eq(r.status_code, 200, "GET %s" % repo_url)
    info = r.json()
    for k in ("library", "maintainer"):
        check(isinstance(info.get(k), str) and info[k],
              "%s is not a non-empty string: %r" % (k, info))
        check(not any(c in info[k] for c in '~<>"'),
              "%s holds a character the plugin splits on: %r" %
              (k, info[k]))
    return repo_url, info


def search(models_url, text):
    """"Search": models_url + '/search?q=' + text, not encoded."""
    r = get(models_url + '/search?q=' + text)
    eq(r.status_code, 200, "search %r" % text)
    items = r.json()
    check(isinstance(items, list), "the search answers a list: %r" % items)
    for it in items:
        for k in ("name", "description", "namespace", "url", "version",
                  "script_cad_language", "author"):
            check(isinstance(it.get(k), str),
                  "%s of %s is not a string" % (k, it.get("namespace")))
        check(isinstance(it.get("params"), dict), "params is an object")
        check(isinstance(it.get("param_presets"), dict),
              "param_presets is an object")
    return items


def initial_value(p):
    """The text a parameter's widget gives before the user touches it
    (LoadParameters: setValue before setRange, Qt's default ranges; the
    combo box's first option; the check box's default)."""
    t, d = p["type"], p.get("default")
    clamp = lambda v, lo, hi: max(lo, min(hi, v))
    if t == "number" and isinstance(d, int) and not isinstance(d, bool):
        return str(clamp(clamp(d, 0, 99), int(p["start"]), int(p["end"])))
    if t == "number" and isinstance(d, float):
        return str(clamp(round(clamp(d, 0.0, 99.99), 2), float(p["start"]),
                         float(p["end"])))
    if t == "text":
        return "" if d is None else str(d)
    if t == "options":
        return p["options"][0]
    if t == "boolean":
        return str(bool(d))
    raise Failed("the plugin has no widget for %r" % p)


def preset_values(item, preset):
    """HandlePresetButton: each value into its widget (numbers clamped to
    the range, floats to 2 decimals), as text."""
    out = {}
    for k, v in preset.items():
        p = item["params"].get(k)
        if p is None:
            continue
        if p["type"] == "number":
            v = max(p["start"], min(p["end"], v))
            out[k] = (str(int(v)) if isinstance(p["default"], int)
                      else str(round(float(v), 2)))
        elif p["type"] == "boolean":
            out[k] = str(bool(v))
        else:
            out[k] = str(v)
    return out


def model_url(item, values):
    """BuildSTEPURL: url + '/' + version, then name=value per row in the
    order of params, the name's spaces as '+', nothing encoded."""
    url = item["url"] + "/" + item["version"]
    for i, (key, p) in enumerate(item["params"].items()):
        name = p["name"].split("(")[0].strip().replace(" ", "+")
        url += ("?" if i == 0 else "&") + name + "=" + values[key]
    return url


def widget_values(item, preset=None, **overrides):
    vals = {k: initial_value(p) for k, p in item["params"].items()}
    if preset == "Default":
        vals.update(preset_values(item, {k: p["default"] for k, p in
                                         item["params"].items()}))
    elif preset is not None:
        vals.update(preset_values(item, item["param_presets"][preset]))
    vals.update(overrides)
    return vals


def download(item, url, polls=None):
    """DownloadModel and the Worker: GET the model without redirects; a
    307 whose Location holds /job/ starts polling server root + Location
    (redirects off) until 200, then the model is asked again and must be
    200.  Returns (body, what happened: the statuses of the polls)."""
    r = get(url, allow_redirects=False, stream=True)
    seen = []
    if r.status_code == 307:
        loc = r.headers.get("location")
        check(loc is not None and "/job/" in loc,
              "a 307 the plugin can follow: Location %r" % loc)
        check(loc.startswith("/") and not loc.startswith("//"),
              "Location is a path the plugin can append: %r" % loc)
        base_url = item["url"] + "/" + item["version"]
        server_url = base_url.replace("/" + item["namespace"] + "/" +
                                      item["version"], "")
        job_url = server_url + loc
        for i in range(1, (polls or 120) + 1):
            j = get(job_url, allow_redirects=False)
            seen.append((j.status_code, j.content))
            if j.status_code == 200:
                break
            eq(j.status_code, 202, "job poll %d (%r)" % (i, j.content[:300]))
            time.sleep(POLL)
        else:
            raise Failed("the job did not end in %d polls" % (polls or 120))
        r = get(url, allow_redirects=False, stream=True)
        eq(r.status_code, 200, "the model once its job is done")
    eq(r.status_code, 200, "the model (%r)" % r.content[:300])
    return r.content, seen


# --- the server -------------------------------------------------------------

class Server:
    """partsctl serve with an OCCI listener (127.0.0.1:0), the fake
    engine's configuration (or none: engine=None) and a private cache."""

    def __init__(self, library, conf_extra="", engine=FAKE):
        self.dir = tempfile.mkdtemp(dir=TMP, prefix="occi-")
        self.conf = os.path.join(self.dir, "partsfs.conf")
        write_conf(self.conf, os.path.join(self.dir, "cache"), conf_extra,
                   engine=engine)
        self.logfile = open(os.path.join(self.dir, "log"), "w+")
        self.proc = subprocess.Popen(
            WRAPPER + [PARTSCTL, "serve", library, "--listen",
                       "127.0.0.1:0", "--occi-listen", "127.0.0.1:0",
                       "--config", self.conf],
            env=ENV, stdout=self.logfile, stderr=self.logfile)
        self.port = None
        deadline = time.monotonic() + 20 * SLOW
        while self.port is None:
            m = re.search(r"on http://127\.0\.0\.1:(\d+)/ \(OCCI API\)",
                          self.log())
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                raise Failed("partsctl serve exited: " + self.log())
            elif time.monotonic() > deadline:
                raise Failed("partsctl serve did not start: " + self.log())
            else:
                time.sleep(0.02)
        self.url = "http://127.0.0.1:%d" % self.port
        SERVERS.append(self)

    def log(self):
        self.logfile.flush()
        with open(self.logfile.name) as f:
            return f.read()

    def request(self, path, method="GET"):
        c = http.client.HTTPConnection("127.0.0.1", self.port,
                                       timeout=60 * SLOW)
        c.request(method, path)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body

    def stop(self):
        if self in SERVERS:
            SERVERS.remove(self)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20 * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Failed("partsctl serve did not end on SIGTERM")
        if self.proc.returncode != 0:
            raise Failed("partsctl serve exited with status %d:\n%s" % (
                self.proc.returncode, self.log()[-3000:]))


SERVERS = []

FAKE_BLT = """id: kit
author: Test Maintainer <tm@example.org>
license: MIT <x>
blt-version: 0.4
classes:
  - id: box
    names: {name: Test box, labeling: 'Box %%(size)s',
            description: a box the fake engine makes}
    parameters:
      literal: {mode: box, counter: '%s'}
      free: [kind, hollow, size, seconds, note]
      defaults: {kind: A1, hollow: false, size: 10, seconds: 0, note: plain}
      types: {kind: Table Index, hollow: Bool, size: Length (mm),
              seconds: Number, note: String, mode: String, counter: String,
              w: Length (mm)}
      description: {size: the side of the box, seconds: how long it takes}
      tables: {index: kind, columns: [w], data: {A1: [1], B2: [2],
               'C 3': [3]}}
      common: [[[A1, B2], [false], [10, 20], [0], [plain]]]
    source: test
  - id: broken
    names: {name: Broken thing, labeling: B}
    parameters:
      literal: {mode: fail}
      free: [size]
      defaults: {size: 1}
      types: {size: Length (mm), mode: String}
    source: test
  - id: stuck
    names: {name: Stuck thing, labeling: S}
    parameters:
      literal: {mode: hang}
      free: [size]
      defaults: {size: 1}
      types: {size: Length (mm), mode: String}
    source: test
"""

FIXTURE = {}


def fixture():
    """One server over a library of the fake engine (kit/box, kit/broken)
    for every test that does not need one of its own."""
    if not FIXTURE:
        root = os.path.join(TMP, "kitlib")
        counter = os.path.join(TMP, "kit-runs")
        os.makedirs(os.path.join(root, "data"))
        os.makedirs(os.path.join(root, "fake", "kit"))
        with open(os.path.join(root, "data", "kit.blt"), "w") as f:
            f.write(FAKE_BLT % counter)
        with open(os.path.join(root, "fake", "kit", "kit.base"), "w") as f:
            f.write("- {filename: script.txt, type: script, author: t <t@x>,"
                    " license: MIT <x>, classids: [box, broken, stuck]}\n")
        with open(os.path.join(root, "fake", "kit", "script.txt"), "w") as f:
            f.write("fake script\n")
        # unsandboxed: the engine's runs are counted in a file of ours;
        # kit/stuck hangs until the time limit
        FIXTURE.update(server=Server(root, "jobs:\n  sandbox: off\n"
                                     "  timeout: 9\n"), counter=counter)
    return FIXTURE["server"]


def runs():
    return count_lines(FIXTURE["counter"])


def box_item(s=None):
    s = s or fixture()
    items = search(s.url, "")
    box = [it for it in items if it["namespace"] == "kit/box"]
    eq(len(box), 1, "search results for kit/box")
    return box[0]


def step_note(body):
    """The note the fake engine wrote into its STEP."""
    m = re.search(rb"PRODUCT\('[^']*','([^']*)'", body)
    check(m is not None, "not the fake engine's STEP: %r" % body[:200])
    return m.group(1).decode()


def step_size(body):
    m = re.search(rb"BOX\(([^)]*)\)", body)
    check(m is not None, "not the fake engine's STEP: %r" % body[:200])
    return float(m.group(1))


# --- tests ------------------------------------------------------------------

@test
def the_plugin_adds_the_server_with_its_library_and_maintainer():
    s = fixture()
    url, info = add_repository(s.url + "/")
    eq(url, s.url, "the URL the plugin keeps")
    eq(info["library"], "kit", "library (the only collection's name, "
       "else the directory's)")
    eq(info["maintainer"], "Test Maintainer", "maintainer")
    eq(info["maintainer_email"], "tm@example.org", "maintainer_email")


@test
def the_configured_names_and_url_are_what_the_plugin_sees():
    s = Server(LIBRARY, conf_extra="serve:\n"
               "  occi-url: https://parts.example.org/\n"
               "  occi-library: Our parts\n"
               "  occi-maintainer: Parts team\n"
               "  occi-email: parts@example.org\n")
    try:
        url, info = add_repository(s.url)
        eq(info, {"library": "Our parts", "maintainer": "Parts team",
                  "maintainer_email": "parts@example.org"}, "GET /")
        items = search(s.url, "hexagon nut")
        nut = [it for it in items if it["namespace"] == "bolts/hex_nut"]
        eq(len(nut), 1, "hex_nut found")
        eq(nut[0]["url"], "https://parts.example.org/bolts/hex_nut",
           "url under the configured base")
    finally:
        s.stop()


@test
def an_empty_search_lists_every_script_once_with_its_url():
    s = fixture()
    items = search(s.url, "")
    eq(sorted(it["namespace"] for it in items),
       ["kit/box", "kit/broken", "kit/stuck"], "namespaces")
    for it in items:
        eq(it["url"], s.url + "/" + it["namespace"], "url")
        eq(it["version"], "1.0", "version")
        eq(it["namespace"], it["org"] + "/" + it["name"], "namespace")
    box = box_item()
    eq(box["script_cad_language"], "fake", "the engine of its model")
    eq(box["author"], "Test Maintainer <tm@example.org>", "author")
    check("a box the fake engine makes" in box["description"],
          "description: %r" % box["description"])


def raw_search(s, host_line):
    """GET /search over a socket of its own, with `host_line` (bytes) as
    the only header: the scripts."""
    import socket
    c = socket.create_connection(("127.0.0.1", s.port), timeout=30 * SLOW)
    c.sendall(b"GET /search?q=test+box HTTP/1.0\r\n" + host_line +
              b"\r\n")
    data = b""
    while True:
        d = c.recv(65536)
        if not d:
            break
        data += d
    c.close()
    head, _, body = data.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0],
          "status line %r" % head[:60])
    return json.loads(body)


@test
def urls_follow_the_host_the_client_used_else_the_listener():
    s = fixture()
    eq(raw_search(s, b"Host: parts.local:8090\r\n")[0]["url"],
       "http://parts.local:8090/kit/box", "from Host")
    eq(raw_search(s, b"")[0]["url"], s.url + "/kit/box", "no Host")
    eq(raw_search(s, b"Host: a/b\"<x>\r\n")[0]["url"], s.url + "/kit/box",
       "a Host that is no host[:port]")


@test
def search_text_goes_as_the_user_typed_it():
    s = fixture()
    eq([it["namespace"] for it in search(s.url, "test box")], ["kit/box"],
       "two words (a space, %20 on the wire)")
    eq([it["namespace"] for it in search(s.url, "box+TEST")], ["kit/box"],
       "a '+' is a space")
    eq([it["namespace"] for it in search(s.url, "Broken")], ["kit/broken"],
       "any case")
    eq(search(s.url, "zzz"), [], "no match")
    eq(search(s.url, "100%"), [], "a bare %")
    eq(search(s.url, "b\u00fcx"), [], "UTF-8")
    st, _, body = s.request("/search")
    eq(st, 200, "no q at all")
    eq(len(json.loads(body)), 3, "no q lists everything")


@test
def params_are_widgets_the_plugin_knows():
    p = box_item()["params"]
    eq(list(p), ["kind", "hollow", "size", "seconds", "note"],
       "rows in the order of the free parameters")
    for k, v in p.items():
        eq(v["name"], k, "name")
        check("units" in v and "description" in v and "default" in v,
              "%s has units, description and default" % k)
        check(isinstance(v["description"], str), "description a string")
    eq(p["kind"]["type"], "options", "Table Index")
    eq(p["kind"]["options"], ["A1", "B2", "C 3"], "options")
    eq(p["kind"]["default"], "A1", "default option")
    eq(p["hollow"]["type"], "boolean", "Bool")
    eq(p["hollow"]["default"], False, "Bool default")
    eq(p["size"]["type"], "number", "Length")
    eq(p["size"]["units"], "mm", "units")
    eq(p["size"]["description"], "the side of the box", "description")
    for k in ("default", "start", "end", "step"):
        check(isinstance(p["size"][k], float),
              "size's %s is a float (a float field): %r" % (k, p["size"][k]))
    eq(p["seconds"]["units"], None, "a Number has no units")
    eq(p["note"]["type"], "text", "String")
    eq(p["note"]["default"], "plain", "String default")


@test
def presets_are_the_common_combinations():
    item = box_item()
    presets = item["param_presets"]
    eq(list(presets), ["A1/false/size=10,seconds=0,note=plain",
                       "A1/false/size=20,seconds=0,note=plain",
                       "B2/false/size=10,seconds=0,note=plain",
                       "B2/false/size=20,seconds=0,note=plain"],
       "names: the paths the mount lists, in the common list's order")
    for name, values in presets.items():
        check(name.startswith(values["kind"] + "/false/"),
              "preset %s named by its path" % name)
        check(isinstance(values["size"], float), "size a float")
        eq(values["hollow"], False, "hollow")
    s = fixture()
    st, _, body = s.request("/kit/box/1.0/presets")
    eq(st, 200, "presets route")
    eq(json.loads(body), presets, "/presets")
    st, _, body = s.request("/kit/box/1.0/params")
    eq(st, 200, "params route")
    eq(json.loads(body), item["params"], "/params")
    eq(list(json.loads(body)), list(item["params"]), "the order kept")


@test
def the_first_download_gets_the_model_the_widgets_describe():
    s = fixture()
    item = box_item()
    url = model_url(item, widget_values(item))
    eq(url, s.url + "/kit/box/1.0?kind=A1&hollow=False&size=10.0"
       "&seconds=0.0&note=plain", "the URL the plugin builds")
    before = runs()
    body, polls = download(item, url)
    check(body.startswith(b"ISO-10303-21;"), "a STEP: %r" % body[:40])
    eq(polls, [], "no job to poll: ready within 3 s")
    eq(step_size(body), 10, "size")
    eq(step_note(body), "plain", "note")
    again, _ = download(item, url)
    eq(again, body, "the same bytes again")
    eq(runs() - before, 1, "engine runs")


@test
def a_preset_and_typed_values_arrive_as_the_widgets_print_them():
    item = box_item()
    preset = sorted(item["param_presets"])[-1]
    vals = widget_values(item, preset, kind="C 3", hollow="True",
                         note="two words")
    url = model_url(item, vals)
    check("kind=C 3" in url and "size=20.0" in url and "hollow=True" in url,
          "the URL: %s" % url)
    body, _ = download(item, url)
    eq(step_size(body), 20, "size from the preset")
    eq(step_note(body), "two words", "a text with a space")
    # what requests made of the text is decoded as form data: '+' is a
    # space, %XX a byte
    url = model_url(item, widget_values(item, note="a+b 50% c%20d \u00e9"))
    wire = (requests.Request("GET", url).prepare().url if requests
            else requote(url))
    want = urllib.parse.parse_qs(urllib.parse.urlsplit(wire).query,
                                 keep_blank_values=True)["note"][0]
    body, _ = download(item, url)
    eq(step_note(body), want, "a text as it went on the wire (%s)" % wire)
    check(want.startswith("a b 50%"), "form decoding: %r" % want)
    body, _ = download(item, model_url(item, widget_values(item, note="")))
    eq(step_note(body), "", "an empty text")
    body, _ = download(item, model_url(item, widget_values(item,
                                                             size="99.99")))
    eq(step_size(body), 99.99, "a value the spin box clamped")


@test
def a_slow_model_sends_the_plugin_to_poll_its_job():
    s = fixture()
    item = box_item()
    url = model_url(item, widget_values(item, seconds="5.0", size="7.0"))
    before = runs()
    body, polls = download(item, url)
    check(body.startswith(b"ISO-10303-21;"), "a STEP")
    eq(step_size(body), 7, "size")
    check(len(polls) >= 2, "polled while it ran: %r" % polls)
    for st, b in polls[:-1]:
        eq(json.loads(b)["status"], "working", "202 body")
    eq(polls[-1][0], 200, "the last poll")
    result = json.loads(polls[-1][1])
    for k in ("id", "namespace", "status", "org", "name", "author",
              "license", "version", "url", "description", "params",
              "param_presets", "script_cad_language", "request", "results"):
        check(k in result, "the result has %s" % k)
    eq(result["results"]["success"], True, "success")
    eq(result["results"]["models"]["step"].encode(), body,
       "the STEP in the result is the model")
    eq(result["request"]["params"]["size"], {"value": 7.0}, "request params")
    eq(result["request"]["format"], "step", "format")
    check(result["results"]["duration"] >= 4000, "duration in ms: %r" %
          result["results"]["duration"])
    eq(runs() - before, 1, "made once")


@test
def the_job_redirect_is_a_path_with_its_hash_and_job():
    s = fixture()
    item = box_item()
    url = model_url(item, widget_values(item, seconds="7.0", size="3.0"))
    r = get(url, allow_redirects=False)
    eq(r.status_code, 307, "status")
    eq(r.content, b"", "body")
    loc = r.headers["location"]
    m = re.fullmatch(r"/kit/box/([A-Za-z0-9_-]{11})/job/([0-9a-f]+)", loc)
    check(m is not None, "Location %r" % loc)
    r2 = get(url, allow_redirects=False)
    eq(r2.status_code, 307, "asked again while it runs")
    eq(r2.headers["location"], loc, "the same job")
    st, _, body = s.request(loc)
    eq(st, 202, "job under way")
    j = json.loads(body)
    eq(j["status"], "working", "status")
    eq(j["script"]["request"]["hash"], m.group(1), "hash")
    st, _, _ = s.request("/kit/box/AAAAAAAAAAA/job/" + m.group(2))
    eq(st, 404, "the job under another hash")
    st, _, _ = s.request("/kit/broken/%s/job/%s" % m.groups())
    eq(st, 404, "the job under another script")
    st, _, body = s.request("/kit/box/%s/job/0123456789abcdef" % m.group(1))
    eq(st, 404, "an unknown job")
    check("detail" in json.loads(body), "a detail")
    wait_until(lambda: s.request(loc)[0] == 200, "the job's end", 30 * SLOW)


@test
def output_full_and_format_stl_answer_the_result_json():
    s = fixture()
    item = box_item()
    url = model_url(item, widget_values(item, size="4.0"))
    r = get(url + "&output=full", allow_redirects=False)
    eq(r.status_code, 200, "output=full")
    j = r.json()
    check(j["results"]["models"]["step"].startswith("ISO-10303-21;"), "step")
    eq(j["request"]["output"], "full", "output")
    r = get(url + "&format=stl&output=full", allow_redirects=False)
    eq(r.status_code, 200, "format=stl")
    stl = base64.b64decode(r.json()["results"]["models"]["stl"])
    check_box(stl, 4, "the STL in the result")
    r = get(url + "&format=stl", allow_redirects=False)
    eq(r.status_code, 200, "the STL itself")
    eq(r.content, stl, "the same STL")


@test
def bad_parameters_are_422_and_make_nothing():
    s = fixture()
    item = box_item()
    before = runs()
    for over, name in ((dict(size="abc"), "size"), (dict(size="-5.0"), "size"),
                       (dict(kind="Z9"), "kind"), (dict(hollow="maybe"),
                                                   "hollow"),
                       (dict(seconds="1e999"), "seconds")):
        r = get(model_url(item, widget_values(item, **over)),
                allow_redirects=False)
        eq(r.status_code, 422, "status for %r" % over)
        d = r.json()["detail"]
        eq(d[0]["loc"], ["query", name], "loc for %r" % over)
        check(isinstance(d[0]["msg"], str) and d[0]["msg"], "msg")
    for q in ("format=obj", "output=file", "size=%zz"):
        st, _, body = s.request("/kit/box/1.0?" + q)
        eq(st, 422, q)
        check(json.loads(body)["detail"], "detail for " + q)
    eq(runs(), before, "engine runs")


@test
def unknown_scripts_versions_and_paths_are_404():
    s = fixture()
    for path in ("/kit/nothing/1.0", "/kit/box/2.0", "/nokit/box",
                 "/kit/box/2.0/params", "/kit/box/1.0/x", "/kit/../kit/box",
                 "/kit/%2e%2e/box", "/kit/box/1.0/params/", "/x/y/z/w/v/u"):
        st, _, body = s.request(path)
        eq(st, 404, path)
        check(isinstance(json.loads(body)["detail"], str), "detail of " + path)


@test
def a_script_redirects_to_its_version_and_versions_are_listed():
    s = fixture()
    st, h, body = s.request("/kit/box")
    eq(st, 307, "status")
    eq(h["location"], "/kit/box/1.0", "Location")
    st, h, _ = s.request("/kit/box?size=3&note=a+b%2Bc&junk=1")
    eq(h["location"], "/kit/box/1.0?size=3&note=a%20b%2Bc",
       "the query kept")
    st, _, body = s.request("/kit/box/versions")
    eq((st, json.loads(body)), (200, ["1.0"]), "versions")


@test
def a_failing_engine_answers_500_and_its_job_a_failed_result():
    s = fixture()
    items = search(s.url, "broken")
    item = items[0]
    r = get(model_url(item, widget_values(item)), allow_redirects=False)
    eq(r.status_code, 500, "status")
    d = r.json()["detail"]
    check(isinstance(d, str) and d, "a detail: %r" % d)


@test
def a_job_that_fails_ends_the_polling_with_its_reason():
    s = fixture()
    item = search(s.url, "stuck")[0]
    url = model_url(item, widget_values(item))
    r = get(url, allow_redirects=False)
    eq(r.status_code, 307, "status")
    job_url = s.url + r.headers["location"]
    deadline = time.monotonic() + 30 * SLOW
    while True:
        j = get(job_url, allow_redirects=False)
        if j.status_code != 202:
            break
        check(time.monotonic() < deadline, "the job did not end")
        time.sleep(POLL)
    eq(j.status_code, 200, "a finished job, failed")
    res = j.json()["results"]
    eq(res["success"], False, "success")
    eq(res["models"], {}, "models")
    check(res["errors"] and "9" in res["errors"][0],
          "the time limit in the errors: %r" % res["errors"])
    r = get(url, allow_redirects=False)
    eq(r.status_code, 500, "the model asked again: the failure")
    check("9" in r.json()["detail"], "the reason: %r" % r.json())


@test
def only_get_and_head_are_answered():
    s = fixture()
    for m in ("POST", "PUT", "DELETE"):
        st, h, _ = s.request("/search", method=m)
        eq(st, 405, m)
    st, h, body = s.request("/", method="HEAD")
    eq((st, body), (200, b""), "HEAD")


@test
def freecad_makes_a_real_step_for_the_plugin():
    need("freecad")
    s = Server(LIBRARY, engine=None)
    try:
        url, info = add_repository(s.url)
        items = search(url, "hexagon nut")
        nut = [it for it in items if it["namespace"] == "bolts/hex_nut"][0]
        vals = widget_values(nut, "M10/default")
        body, polls = download(nut, model_url(nut, vals))
        check(body.startswith(b"ISO-10303-21;"), "STEP: %r" % body[:40])
        check(b"MANIFOLD_SOLID_BREP" in body or b"ADVANCED_BREP" in body,
              "a solid in the STEP")
        p = subprocess.run(
            ["freecadcmd", "-c",
             "import Part,sys\ns=Part.Shape()\ns.read(%r)\n"
             "print('VOLUME', s.Volume)" % _save(body)],
            capture_output=True, text=True, timeout=300)
        m = re.search(r"VOLUME ([0-9.e+-]+)", p.stdout)
        check(m is not None and float(m.group(1)) > 100,
              "FreeCAD reads it as a solid: %s %s" % (p.stdout[-300:],
                                                      p.stderr[-300:]))
    finally:
        s.stop()


def _save(body):
    path = os.path.join(TMP, "model.step")
    with open(path, "wb") as f:
        f.write(body)
    return path


@test
def the_server_ends_cleanly():
    s = fixture()
    s.stop()
    FIXTURE.clear()


@atexit.register
def _stop_servers():
    for s in list(SERVERS):
        try:
            s.proc.kill()
            s.proc.wait()
        except Exception:
            pass


if __name__ == "__main__":
    sys.exit(run_tests())
