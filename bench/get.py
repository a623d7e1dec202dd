# get.py -- the benchmarks of `partsctl get` (issue 3), each figure beside
# its baseline in the same run:
#   T1 a cold get against the same engine command run by hand;
#   T2 a warm get (with the process start-up floor of this machine) and
#      its speed-up over a cold one;
#   T3 eight distinct cold parts made by eight gets at once against one
#      after another.
# usage: python3 bench/get.py BUILD-DIR SOURCE-DIR  (bench/run.sh runs it)
# BENCH_RUNS (default 9) sets the number of cold runs of T1, BENCH_REPEATS
# (default 7: real engines at once spread by a tenth from one round to the
# next on 2 CPUs) the repeats of T3.

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time

# nothing is written into the source tree (bench/__pycache__)
sys.dont_write_bytecode = True

from benchlib import (Durable, Hand, Sandbox, engine_env, loadavg, main_args,
                      median, secs, spread)

B = main_args()
RUNS = int(os.environ.get("BENCH_RUNS", "9"))
# BENCH_ONLY: T1, T3 or T1,T2,T3 (T2 needs T1's cold gets)
ONLY = os.environ.get("BENCH_ONLY", "T1,T2,T3").split(",")
# name, part, primer (another part of the same engine), configuration
PARTS = [("OpenSCAD", "bolts/hex_screw/M8/length=20.stl",
          "bolts/hex_nut/M8/default.stl", B.scad_conf),
         ("FreeCAD", "bolts/hex_screw/M8/length=20.step",
          "bolts/hex_nut/M8/default.step", None)]


def W(name):
    """A path in the work directory, for showing commands."""
    return os.path.join(B.work, name)


def get_argv(path, cache, output, conf=None):
    return [B.partsctl, "get", "-q"] + (["-c", conf] if conf else []) + \
        [B.library, path, "--cache", cache, "-o", output]


def check_engine(hand, name):
    want = {"OpenSCAD": "openscad", "FreeCAD": "freecad"}[name]
    if hand.executor != want:
        raise RuntimeError("%s is made by %s, not %s" % (
            hand.path, hand.executor, want))


def empty_program(name, flags=()):
    """An empty C program built in the work directory (the floor of a
    process start): its path."""
    src = os.path.join(B.work, "empty.c")
    exe = os.path.join(B.work, name)
    with open(src, "w") as f:
        f.write("int main(void) { return 0; }\n")
    B.run(["cc", "-O2"] + list(flags) + ["-o", exe, src])
    return exe


# --- T1 ----------------------------------------------------------------------
cold = {}
engine_alone = {}
if "T1" in ONLY:

    B.say("T1 (issue 3) cold partsctl get vs the same engine command run by hand "
          "(target: overhead <= 5%%); load average %s" % loadavg())
    B.legend()
    B.say("  $W/openscad.conf holds `executors: {model: openscad}`: the bundled "
          "classes have both engines,")
    B.say("  and FreeCAD makes their model (every format) unless a "
          "configuration says OpenSCAD")
    check = subprocess.run([B.partsctl, "check", B.library], capture_output=True,
                           text=True)
    B.say("  " + (check.stdout.strip().splitlines() or ["?"])[-1] +
          " (partsctl check)")
    for name, path, primer, conf in PARTS:
        hand = Hand(B, path, conf)
        check_engine(hand, name)
        template = B.known_cache(primer, conf)
        box = Sandbox(B, B.library, conf, path, template)
        B.say("  %s, %s: %d runs of each, interleaved" % (name, path, RUNS))
        B.say("    by hand:  " + "\n              ".join(hand.describe()))
        B.say("    by hand in bwrap: the same in partsfs's bwrap command "
              "line (as user %s;" % box.user())
        B.say("      taken from a job of partsfs, without its prlimit):")
        B.say("      " + box.describe())
        B.say("    get:      " + B.show(get_argv(path, W("cache"), W("out." +
                                                                      hand.fmt),
                                                 conf)))
        B.say("      cache knows the engine version: $W/cache is a copy of a "
              "cache in which")
        B.say("      %s was made first; fresh cache: $W/cache does not exist"
              % primer)
        t_hand, t_known, t_fresh, t_box, t_query = [], [], [], [], []
        t_kept = []
        keep = Durable(B, box)
        sizes = set()
        for i in range(RUNS):
            def by_hand():
                t, size = hand.run()
                t_hand.append(t)
                sizes.add(("by hand", size))

            def in_bwrap():
                t, size = hand.run(box)
                t_box.append(t)
                sizes.add(("by hand in bwrap", size))

            def get_known():
                cache = B.fresh_copy(template)
                out = os.path.join(B.tmp("out"), "out." + hand.fmt)
                t_known.append(B.timed(get_argv(path, cache, out, conf)))
                sizes.add(("get", os.path.getsize(out)))
                shutil.rmtree(cache)

            def get_fresh():
                cache = os.path.join(B.tmp("fresh"), "cache")
                out = os.path.join(B.tmp("out"), "out." + hand.fmt)
                t_fresh.append(B.timed(get_argv(path, cache, out, conf)))
                shutil.rmtree(cache)

            def query_beside():
                t, size = hand.run_with_query(box)
                t_query.append(t)
                sizes.add(("by hand in bwrap, query beside", size))

            def in_bwrap_kept():
                t, size = hand.run(box, keep)
                t_kept.append(t)
                sizes.add(("by hand in bwrap, kept", size))

            steps = [by_hand, get_known, get_fresh, in_bwrap, in_bwrap_kept]
            # FreeCAD's runs report its version: no query beside them
            if hand.executor == "openscad":
                steps.append(query_beside)
            # rotate the order so that no variant always runs first
            n = len(steps)
            for step in steps[i % n:] + steps[:i % n]:
                step()
        h, k, f = B.report_cold("T1", "get", name, t_hand, t_known, t_fresh,
                                sizes, t_box, t_query)
        B.report_floor("get", t_kept, h, k)
        cold[name] = (path, k)
        engine_alone[name] = h

    # What partsctl itself costs: a cold get whose engine does nothing (the
    # test engine, started from a command executor) against that engine alone.
    CMDLIB = os.path.join(B.top, "tests", "data", "cmdlib")
    fake_conf = os.path.join(B.work, "fake.conf")
    # the same without the sandbox: what the sandbox itself costs a job
    fake_off_conf = os.path.join(B.work, "fake-off.conf")
    for conf, mode in ((fake_conf, "bwrap"), (fake_off_conf, "off")):
        with open(conf, "w") as f:
            f.write("executors:\n  commands:\n    - name: fake\n"
                    "      argv: [%s, \"{params}\", \"{output}\", \"{format}\", "
                    "\"{script}\"]\n      formats: [stl]\n"
                    "jobs:\n  sandbox: %s\n" % (B.fake, mode))


    def fake_get_argv(n, cache, output, conf=fake_conf):
        return [B.partsctl, "get", "-q", "-c", conf, CMDLIB,
                "fake/box/size=%d.stl" % n, "--cache", cache, "-o", output]


    if os.access(B.fake, os.X_OK):
        template = B.tmp("template")
        B.run(fake_get_argv(1000, template, W("primer.stl")))
        script = os.path.join(CMDLIB, "fake", "fake", "box.txt")

        def fake_hand(n):
            s = B.tmp("hand")
            with open(os.path.join(s, "params.json"), "w") as f:
                json.dump({"params": {"size": n, "mode": "box", "seconds": 0,
                                      "counter": "", "note": ""},
                           "label": "Test box %d " % n, "format": "stl",
                           "class": "box", "collection": "fake"}, f)
            return ([B.fake, os.path.join(s, "params.json"),
                     os.path.join(s, "out.stl"), "stl", script],
                    engine_env(s), s)

        box = Sandbox(B, CMDLIB, fake_conf, "fake/box/size=999.stl", template)
        argv, env, s = fake_hand(1)
        B.say("  the fixed cost of a cold get: tests/fake-engine, which writes "
              "a 684-byte STL at once,")
        B.say("  %d runs of each, interleaved" % (2 * RUNS))
        B.say("    by hand:  " + B.show(argv, env=env, subs=((s, "$W/s"),)))
        B.say("    get:      " + B.show(fake_get_argv(1, W("cache"),
                                                      W("out.stl"))))
        B.say("      (fake.conf: the executor `fake` running $B/tests/fake-engine;"
              " $W/cache as above)")
        B.say("    get, sandbox off: the same with fake-off.conf (jobs.sandbox: "
              "off)")
        B.say("    by hand in bwrap: the engine in partsfs's bwrap command line "
              "(without its prlimit)")
        t_hand, t_get, t_off, t_box = [], [], [], []
        for i in range(2 * RUNS):
            argv, env, s = fake_hand(i + 1)
            t_hand.append(B.timed(argv, env=env, cwd=s, new_session=True))
            argv, env, s = fake_hand(i + 1)
            t_box.append(box.run(argv, env, s))
            cache = B.fresh_copy(template)
            t_get.append(B.timed(fake_get_argv(i + 1, cache, os.path.join(
                B.tmp("out"), "out.stl"))))
            shutil.rmtree(cache)
            cache = B.fresh_copy(template)
            t_off.append(B.timed(fake_get_argv(i + 1, cache, os.path.join(
                B.tmp("out"), "out.stl"), fake_off_conf)))
            shutil.rmtree(cache)
        B.say("    by hand:           " + spread(t_hand))
        B.say("    by hand in bwrap:  " + spread(t_box))
        B.say("    get:               " + spread(t_get))
        B.say("    get, sandbox off:  " + spread(t_off))
        B.say("    partsfs's own cost: get - by hand in bwrap %s; get with the "
              "sandbox off - by hand %s" % (
                  secs(median(t_get) - median(t_box)),
                  secs(median(t_off) - median(t_hand))))
        B.say("    bwrap alone (by hand in bwrap - by hand): %s" %
              secs(median(t_box) - median(t_hand)))
        fixed = median(t_get) - median(t_hand)
        B.say("    a cold get costs %s more than its engine alone: the 5%% "
              "target needs engine" % secs(fixed))
        B.say("    runs of at least %s on this machine (no verdict: context for "
              "the figures above)" % secs(fixed / 0.05))
        B.say("    of which the sandbox (bwrap, namespaces, staging, its end): "
              "%s per job" % secs(median(t_get) - median(t_off)))

        # What a get must do beyond its engine, each with nothing of
        # partsfs: one more process (partsctl's own start), the sandbox
        # (bwrap alone, above), the part made durable (DESIGN.md: temp
        # file, fsync, rename) and one transaction of a sqlite index in WAL
        # mode opened and closed by the process (synchronous=NORMAL as
        # partsfs sets it; the last close checkpoints and removes the
        # WAL, sqlite's default).  Their sum is the floor of a sandboxed,
        # durable cold get on this machine.
        empty = empty_program("empty")
        pub = B.tmp("publish")
        with open(W("primer.stl"), "rb") as f:     # the fake engine's part
            data = f.read()
        db = os.path.join(B.tmp("index"), "index.sqlite")
        con = sqlite3.connect(db, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE parts (key TEXT PRIMARY KEY, size INTEGER,"
                    " sha256 TEXT, made REAL)")
        con.close()
        t_proc, t_pub, t_idx = [], [], []
        for i in range(2 * RUNS):
            t_proc.append(B.timed([empty]))
            tmp = os.path.join(pub, "tmp.%d" % i)
            t0 = time.perf_counter()
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, data)
            os.fsync(fd)
            os.close(fd)
            os.rename(tmp, os.path.join(pub, "part.%d.stl" % i))
            t_pub.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            con = sqlite3.connect(db, isolation_level=None)
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("BEGIN IMMEDIATE")
            con.execute("INSERT OR REPLACE INTO parts VALUES (?, ?, ?, ?)",
                        ("%064x" % i, len(data), "%064x" % (i * 7), t0))
            con.execute("COMMIT")
            con.close()
            t_idx.append(time.perf_counter() - t0)
        bw = median(t_box) - median(t_hand)
        floor = bw + median(t_proc) + median(t_pub) + median(t_idx)
        B.say("  the floor of a sandboxed, durable cold get, nothing of "
              "partsfs in it (%d runs each):" % (2 * RUNS))
        B.say("    one more process (fork and exec of an empty C program): "
              + spread(t_proc))
        B.say("    the sandbox: bwrap alone, above:                        "
              + secs(bw))
        B.say("    the part made durable (%d bytes written to a new file, "
              "fsync, rename; Python):" % len(data))
        B.say("                                                            "
              + spread(t_pub))
        B.say("    a sqlite index opened, one row committed, closed (WAL, "
              "synchronous=NORMAL; Python):")
        B.say("                                                            "
              + spread(t_idx))
        B.say("    sum: %s; partsfs's own cost beyond it: %s (get - by hand "
              "- floor)" % (secs(floor), secs(fixed - floor)))
        for name, h in engine_alone.items():
            B.say("    with %s's engine by hand (T1, %s), the floor alone is a "
                  "ratio of %.3f (no verdict)" % (name, secs(h),
                                                  (h + floor) / h))

# --- T2 ----------------------------------------------------------------------
if "T1" in ONLY and "T2" in ONLY:

    N = 100
    ROUNDS = 5
    B.say("")
    B.say("T2 (issue 3) warm partsctl get (targets: < 5 ms, and >= 50x faster "
          "than cold); load average %s" % loadavg())
    floor = [("empty C program, dynamic (fork+exec floor)",
              empty_program("empty")),
             ("empty C program, static", empty_program("empty-static",
                                                       ["-static"]))]
    rows = [(label, [exe]) for label, exe in floor]
    rows.append(("partsctl --version", [B.partsctl, "--version"]))
    warm = {}
    for name, path, primer, conf in PARTS:
        cache = B.tmp("warm")
        ext = path.rsplit(".", 1)[1]
        out = os.path.join(B.work, "warm." + ext)
        B.run(get_argv(path, cache, out, conf))
        warm[name] = len(rows)
        rows.append(("warm get, %s %s" % (name, ext.upper()),
                     get_argv(path, cache, out, conf)))
    B.say("  each row: %d rounds of `$B/bench/timeit %d COMMAND`, the rounds "
          "interleaved; median of" % (ROUNDS, N))
    B.say("  the rounds' medians (best run in brackets). Commands:")
    for label, argv in rows:
        B.say("    %-44s %s" % (label + ":", B.show(argv)))
    res = [[] for _ in rows]
    for r in range(ROUNDS):
        for i, (label, argv) in enumerate(rows):
            res[i].append(B.timeit(N, argv))
    B.say("  results:")
    for i, (label, argv) in enumerate(rows):
        med = median([m for m, _ in res[i]])
        best = min(b for _, b in res[i])
        line = "    %-44s %s (best %s)" % (label + ":", secs(med), secs(best))
        if i in warm.values():
            line += "   target < 5 ms: %s" % B.record(
                "T2", label, "%s (< 5 ms)" % secs(med), med < 0.005)
        B.say(line)
    for name, i in warm.items():
        w = median([m for m, _ in res[i]])
        path, c = cold[name]
        B.say("  cold/warm, %s: %s / %s = %.0fx (cold: T1's get with a cache "
              "that knows the engine version)" % (name, secs(c), secs(w), c / w))
        B.say("    target >= 50x: %s" % B.record(
            "T2", "cold/warm get, %s" % name, "%.0fx (>= 50x)" % (c / w),
            c / w >= 50))

# --- T3 ----------------------------------------------------------------------
if "T3" in ONLY:

    REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))
    LENGTHS = [16, 20, 25, 30, 35, 40, 45, 50]
    B.say("")
    B.say("T3 (issue 3, issue 21) 8 distinct cold parts: 8 partsctl get at "
          "once (one shared cache,")
    B.say("    default workers) vs the same 8 engine commands run by hand at "
          "once (target: <= 1.05);")
    B.say("    %d CPUs, load average %s" % (os.cpu_count(), loadavg()))
    for name, path, primer, conf in PARTS:
        ext = path.rsplit(".", 1)[1]
        paths = ["bolts/hex_screw/M8/length=%d.%s" % (n, ext) for n in LENGTHS]
        template = B.known_cache(primer, conf)
        B.say("  %s: %s" % (name, " ".join(p.rsplit("/", 1)[1] for p in paths)))
        B.say("    each: " + B.show(get_argv("bolts/hex_screw/M8/length=N." + ext,
                                             W("cache"), W("out/N." + ext),
                                             conf)))
        B.say("    $W/cache a fresh copy of a cache that knows the engine "
              "version; at once: 8 started")
        B.say("    together, wall time until the last ends; one after another: "
              "a loop; %d repeats" % REPEATS)
        hands = [Hand(B, p, conf) for p in paths]
        box = Sandbox(B, B.library, conf, paths[0], template)
        B.say("    by hand in bwrap: the 8 engine commands at once, each in "
              "partsfs's bwrap command")
        B.say("      line (as T1 shows it; a session each by its "
              "--new-session)")
        # the same configuration without the sandbox: what it costs
        off_conf = os.path.join(B.work, "%s-off.conf" % name)
        with open(off_conf, "w") as f:
            if conf:
                with open(conf) as c:
                    f.write(c.read())
            f.write("jobs:\n  sandbox: off\n")
        B.say("    and 8 gets at once with $W/%s-off.conf: the same "
              "configuration and jobs.sandbox: off" % name)
        t_seq, t_par, h_seq, h_par, t_off, h_box = [], [], [], [], [], []
        h_kept = []
        keep = Durable(B, box)
        for r in range(REPEATS):
            def sequential():
                cache = B.fresh_copy(template)
                out = B.tmp("out")
                t0 = time.perf_counter()
                for p in paths:
                    B.run(get_argv(p, cache, os.path.join(
                        out, p.rsplit("/", 1)[1]), conf))
                t_seq.append(time.perf_counter() - t0)

            def concurrent(conf=conf, into=t_par):
                cache = B.fresh_copy(template)
                out = B.tmp("out")
                procs = []
                t0 = time.perf_counter()
                for p in paths:
                    procs.append(subprocess.Popen(
                        get_argv(p, cache, os.path.join(out, p.rsplit("/", 1)[1]),
                                 conf),
                        env=B.env, stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
                errs = [(p.wait(), p.stderr.read()) for p in procs]
                into.append(time.perf_counter() - t0)
                for rc, err in errs:
                    if rc != 0:
                        raise RuntimeError("partsctl get failed: %s" %
                                           err.decode(errors="replace"))
                if len(os.listdir(out)) != len(paths):
                    raise RuntimeError("not every part was made")

            def hand_sequential():
                t0 = time.perf_counter()
                for h in hands:
                    h.run()
                h_seq.append(time.perf_counter() - t0)

            def hand_concurrent(sandbox=None, into=h_par, keep=None):
                runs = [h.prepare() for h in hands]
                procs, infos = [], []
                t0 = time.perf_counter()
                for argv, env, scratch, output in runs:
                    if sandbox is not None:
                        p, info = sandbox.popen(
                            argv, env, scratch,
                            keep.prefix(output) if keep else (),
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
                        procs.append(p)
                        infos.append(info)
                        continue
                    # a session each, as the sandbox gives every job (the
                    # kernel's autogroups share a busy machine by session)
                    procs.append(subprocess.Popen(
                        argv, env=env, cwd=scratch, stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        start_new_session=True))
                rcs = [p.wait() for p in procs]
                into.append(time.perf_counter() - t0)
                for info in infos:
                    os.close(info)
                if any(rcs):
                    raise RuntimeError("an engine failed: %r" % rcs)

            steps = [sequential, concurrent, hand_sequential, hand_concurrent,
                     lambda: concurrent(off_conf, t_off),
                     lambda: hand_concurrent(box, h_box),
                     lambda: hand_concurrent(box, h_kept, keep)]
            n = len(steps)
            for step in steps[r % n:] + steps[:r % n]:
                step()
        s, p = median(t_seq), median(t_par)
        hs, hp = median(h_seq), median(h_par)
        hb, po = median(h_box), median(t_off)
        B.say("    gets one after another:   " + spread(t_seq))
        B.say("    8 gets at once:           " + spread(t_par))
        B.say("    8 gets at once, sandbox off: " + spread(t_off))
        B.say("    engines by hand, one after another: " + spread(h_seq))
        B.say("    engines by hand, 8 at once:         " + spread(h_par))
        B.say("    engines by hand in bwrap, 8 at once: " + spread(h_box))
        B.say("    ratio 8 gets at once/8 engines by hand at once (the "
              "machine's ceiling): %.3f" % (p / hp))
        B.say("      target <= 1.05: %s" % B.record(
            "T3", "8 gets at once/8 engines by hand at once, %s" % name,
            "%.3f (<= 1.05)" % (p / hp), p / hp <= 1.05))
        B.say("    for reference: at once/one after another %.2f for the "
              "gets, %.2f by hand;" % (p / s, hp / hs))
        B.say("      without the sandbox 8 gets at once/by hand %.3f (the "
              "sandbox's share: %s)" % (po / hp, secs(p - po)))
        B.say("    the sandbox's floor: by hand in bwrap/by hand, 8 at once: "
              "%.3f" % (hb / hp))
        hk = median(h_kept)
        B.say("    the floor at once, measured whole, nothing of partsfs: the 8 "
              "engines by hand in bwrap")
        B.say("      at once, each through $B/bench/durable (T1): " +
              spread(h_kept))
        B.say("      floor/by hand at once %.3f (the target's 5%% taken by the "
              "floor alone: %s); gets/floor %.3f" % (
                  hk / hp, "yes" if hk / hp > 1.05 else "no", p / hk))
        B.say("    ratio 8 gets at once/8 engines by hand in bwrap at once "
              "(partsfs's own): %.3f" % (p / hb))
        B.say("      within 5%%: %s" % B.record(
            "T3b", "8 gets at once/by hand in bwrap at once, %s" % name,
            "%.3f (<= 1.05)" % (p / hb), p / hb <= 1.05))
        B.say("    ratio 8 gets at once, sandbox off/8 engines by hand at "
              "once: %.3f" % (po / hp))
        B.say("      within 5%%: %s" % B.record(
            "T3b", "8 gets at once, sandbox off/by hand at once, %s" % name,
            "%.3f (<= 1.05)" % (po / hp), po / hp <= 1.05))
