# mount.py -- the benchmarks of the mount (issue 4), each figure beside its
# baseline in the same run:
#   T4 find and ls -lR over the mounted bundled library, against the same
#       tree on tmpfs and through libfuse's passthrough_ll example;
#   T5 re-reading a cached 1 MiB part, against passthrough_ll re-reading
#       its cache file (and reading that file directly);
#   T6 a cold cat of a part, against its engine command run by hand;
#   T7 cp -r of a class directory of 16 uncached parts, against making
#       them one after another;
#   T8 a tree of a million parts: a leaf listed, and find over it, against
#       passthrough_ll over a tmpfs copy of the same names; the daemon's
#       memory after the find, once the kernel forgets the names.
# Needs root, /dev/fuse and fusermount3.
# usage: python3 bench/mount.py BUILD-DIR SOURCE-DIR  (bench/run.sh runs it)
# BENCH_RUNS (default 9) and BENCH_REPEATS (default 3; 7 for T7's real
# parts, whose rounds spread by a tenth on 2 CPUs) set repetitions;
# BENCH_ONLY=T4,T6 runs only those.

import glob
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import time

# nothing is written into the source tree (bench/__pycache__)
sys.dont_write_bytecode = True

from benchlib import (TRIANGLES, Durable, Hand, Sandbox, at_once, engine_env, loadavg, main_args, materialize,
                      median, mesh_library, read_all, secs, spread, which)

B = main_args()
RUNS = int(os.environ.get("BENCH_RUNS", "9"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
# real engines two at a time: one round of T7's OpenSCAD parts took 0.99
# to 1.09 s in one run of 7 (the fake engine's sleeps spread by 1%)
ENGINE_REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))
EXAMPLES = "/usr/share/doc/libfuse3-dev/examples"


def W(name):
    return os.path.join(B.work, name)


# --- T4 ----------------------------------------------------------------------

def build_passthrough_ll():
    """libfuse's passthrough_ll example, compiled from the source that
    libfuse3-dev ships (plain or gzipped) into bench/out."""
    src = os.path.join(EXAMPLES, "passthrough_ll.c")
    incdir = EXAMPLES
    if not os.path.exists(src) and os.path.exists(src + ".gz"):
        incdir = B.tmp("pll-src")
        for f in glob.glob(os.path.join(EXAMPLES, "*.[ch]*")):
            name = os.path.basename(f)
            if name.endswith(".gz"):
                with gzip.open(f) as i, open(os.path.join(
                        incdir, name[:-3]), "wb") as o:
                    shutil.copyfileobj(i, o)
            else:
                shutil.copy(f, incdir)
        src = os.path.join(incdir, "passthrough_ll.c")
    exe = os.path.join(B.out, "passthrough_ll")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "fuse3"],
                           capture_output=True, text=True, check=True)
    argv = ["gcc", "-O2", "-I" + incdir, "-o", exe, src] + flags.stdout.split()
    B.run(argv)
    return exe, argv


def bench_tree():
    B.say("T4 (issue 4) find and ls -lR over the mounted bundled library vs "
          "the same tree through passthrough_ll")
    B.say("    and on tmpfs (target: partsfs at least as fast as "
          "passthrough_ll); load average %s" % loadavg())
    B.legend()
    pll, pll_build = build_passthrough_ll()
    base, where = B.tmpfs_dir("tree")
    tree = os.path.join(base, "tree")
    cache = B.tmp("cache")
    m = B.mount_partsfs(B.library, cache)
    n = materialize(m.dir, tree)
    m.close()
    B.say("  passthrough_ll built with: " + B.show(pll_build))
    B.say("  the same tree: the mount's %d entries (directories, empty or "
          "sparse files of the same" % n)
    B.say("    sizes, symbolic links) made again on %s" % where)

    def mount_partsfs():
        return B.mount_partsfs(B.library, cache)

    def mount_pll(*opts):
        mnt = B.tmp("mnt")
        argv = [pll, "-f", "-o", ",".join(("source=" + tree,) + opts), mnt]
        proc = B.mount(argv, mnt, mnt + ".log")
        return Mounted(proc, mnt, argv)

    # passthrough_ll made to answer what partsfs must: extended attributes
    # (ls -l asks every file for two) and no attribute caching (a part not
    # made yet has a zero attribute timeout); a reference, no target
    def mount_pll_same():
        return mount_pll("xattr", "timeout=0")

    class Mounted:
        def __init__(self, proc, mnt, argv):
            self.proc, self.dir, self.argv = proc, mnt, argv

        def close(self):
            B.unmount(self.proc, self.dir)

    class Plain:
        def __init__(self):
            self.dir, self.argv = tree, None

        def close(self):
            pass

    targets = [("partsfs", mount_partsfs), ("passthrough_ll", mount_pll),
               ("pll-xattr-t0", mount_pll_same), ("tmpfs", Plain)]
    cmds = [("find", lambda d: ["/usr/bin/find", d]),
            ("ls -lR", lambda d: ["/bin/ls", "-lR", d])]
    mounted = {name: start() for name, start in targets}
    try:
        for name, m in mounted.items():
            if m.argv:
                B.say("  %s: %s" % (name, B.show(m.argv, subs=(
                    (m.dir, "$W/mnt"),))))
        B.say("  commands: `$B/bench/timeit 1 /usr/bin/find DIR`, "
              "`$B/bench/timeit 1 /bin/ls -lR DIR`")
        counts = []
        for name, m in mounted.items():
            p = B.run(["/usr/bin/find", m.dir], stdout=subprocess.PIPE)
            counts.append("%s %d" % (name, len(p.stdout.splitlines())))
        B.say("  entries found: " + ", ".join(counts))
        # warm: after one pass, RUNS passes, the targets interleaved
        warm = {}
        for cmd, argv in cmds:
            for name, m in mounted.items():
                B.timeit(1, argv(m.dir))
            for r in range(RUNS):
                for name, m in mounted.items():
                    warm.setdefault((cmd, name), []).append(
                        B.timeit(1, argv(m.dir))[0])
    finally:
        for m in mounted.values():
            m.close()
    # cold: a fresh mount for every run (the kernel forgets the FUSE
    # file systems' dentries and attributes); tmpfs cannot forget.
    cold = {}
    for r in range(RUNS):
        for cmd, argv in cmds:
            for name, start in targets:
                m = start()
                try:
                    cold.setdefault((cmd, name), []).append(
                        B.timeit(1, argv(m.dir))[0])
                finally:
                    m.close()
    for label, res, note in (
            ("warm", warm, "after one pass, %d passes each, interleaved"
             % RUNS),
            ("cold", cold, "a fresh mount before each of %d passes (tmpfs: "
             "cannot be made cold, as warm)" % RUNS)):
        B.say("  %s: %s" % (label, note))
        for cmd, _ in cmds:
            t = {name: median(res[(cmd, name)]) for name, _ in targets}
            for name, _ in targets:
                B.say("    %-7s %-15s %s" % (cmd, name,
                                             spread(res[(cmd, name)])))
            r = t["partsfs"] / t["passthrough_ll"]
            B.say("    %-7s partsfs/passthrough_ll %.2f, partsfs/tmpfs %.1f, "
                  "passthrough_ll/tmpfs %.1f" % (
                      cmd, r, t["partsfs"] / t["tmpfs"],
                      t["passthrough_ll"] / t["tmpfs"]))
            B.say("    %-7s partsfs/pll-xattr-t0 %.2f (reference: "
                  "passthrough_ll -o xattr,timeout=0)" % (
                      cmd, t["partsfs"] / t["pll-xattr-t0"]))
            B.say("    %-7s target partsfs/passthrough_ll <= 1: %s" % (
                cmd, B.record("T4", "%s %s, partsfs/passthrough_ll" % (
                    label, cmd), "%.2f (<= 1)" % r, r <= 1.0)))


# --- T5 ----------------------------------------------------------------------

def fuse_passthrough_note():
    """Whether this machine offers FUSE passthrough (FUSE_PASSTHROUGH:
    kernel 6.9 and libfuse 3.16): partsfs does not use it either way."""
    kernel = os.uname().release
    try:
        kv = tuple(int(x) for x in kernel.split("-")[0].split(".")[:2])
    except ValueError:
        kv = (0, 0)
    p = subprocess.run(["pkg-config", "--modversion", "fuse3"],
                       capture_output=True, text=True)
    lib = p.stdout.strip() or "unknown"
    try:
        lv = tuple(int(x) for x in lib.split(".")[:2])
    except ValueError:
        lv = (0, 0)
    if kv >= (6, 9) and lv >= (3, 16):
        what = "offered; used neither by partsfs nor by passthrough_ll here"
    else:
        what = "not offered here (%s); nothing depends on it" % (
            "libfuse %s lacks it" % lib if lv < (3, 16) else
            "the kernel is older than 6.9")
    return ("  FUSE passthrough (FUSE_PASSTHROUGH: kernel >= 6.9 and libfuse "
            ">= 3.16): kernel %s, libfuse %s:\n    %s" % (kernel, lib, what))


def bench_reread():
    B.say("T5 (issue 21) re-reading a cached 1 MiB part through the mount vs "
          "passthrough_ll re-reading")
    B.say("    its cache file (the FUSE floor: a file system that only opens "
          "and reads a file;")
    B.say("    target: within 5%%), and vs reading the cache file directly; "
          "load average %s" % loadavg())
    B.say(fuse_passthrough_note())
    pll, pll_build = build_passthrough_ll()
    lib, conf = mesh_library(B)
    cache = B.tmp("cache")
    m = B.mount_partsfs(lib, cache, config=conf)
    plls = []
    try:
        part = m.path("bench", "strip", "default.stl")
        with open(part, "rb") as f:
            data = f.read()
        blobs = [b for b in glob.glob(os.path.join(cache, "blobs", "*", "*"))
                 if os.path.getsize(b) == len(data)]
        if len(blobs) != 1:
            raise RuntimeError("cannot find the part's cache file")
        blob = blobs[0]
        with open(blob, "rb") as f:
            if f.read() != data:
                raise RuntimeError("the cache file differs from the part")
        # passthrough_ll over the cache file's directory: with its default
        # options (cache=auto: no keep_cache, each open drops the pages),
        # and with -o cache=always (keep_cache, as partsfs opens a part)
        pll_paths = {}
        for name, opts in (("pll", ()), ("pll-always", ("cache=always",))):
            mnt = B.tmp("mnt")
            argv = [pll, "-f", "-o", ",".join(
                ("source=" + os.path.dirname(blob),) + opts), mnt]
            proc = B.mount(argv, mnt, mnt + ".log")
            plls.append((proc, mnt, argv, name))
            pll_paths[name] = os.path.join(mnt, os.path.basename(blob))
        B.say("  a library made for it: class bench/strip made by a command "
              "executor running python3")
        B.say("    on a script that writes a binary STL of %d triangles "
              "(%d bytes)" % (TRIANGLES, len(data)))
        B.say("  mount: " + B.show(m.argv, subs=((m.dir, "$W/mnt"),)))
        B.say("  part:  $W/mnt/bench/strip/default.stl (made once before the "
              "measurement)")
        B.say("  cache file: " + B.abbrev(blob))
        B.say("  passthrough_ll built with: " + B.show(pll_build))
        for proc, mnt, argv, name in plls:
            B.say("  %s: %s" % (name, B.show(argv, subs=((mnt, "$W/pll"),))))
        # In-process: open, read to the end in 128 KiB reads, close; the
        # process start-up of cat would hide the difference.
        buf = bytearray(128 * 1024)
        per = 25
        blocks = 4 * RUNS
        paths = [("mount", part), ("pll", pll_paths["pll"]),
                 ("pll-always", pll_paths["pll-always"]),
                 ("cache file", blob)]
        res = {name: [] for name, _ in paths}
        for name, path in paths:
            for _ in range(per):
                if read_all(path, buf) != len(data):
                    raise RuntimeError("short read of " + path)
        for b in range(blocks):
            k = b % len(paths)
            for name, path in paths[k:] + paths[:k]:
                t0 = time.perf_counter()
                for _ in range(per):
                    if read_all(path, buf) != len(data):
                        raise RuntimeError("short read of " + path)
                res[name].append((time.perf_counter() - t0) / per)
        B.say("  in-process (python3): open, read(2) of 128 KiB to the end, "
              "close; %d blocks of %d reads" % (blocks, per))
        B.say("    of each, in rotating order; time per read of the whole "
              "file:")
        for name, _ in paths:
            B.say("    %-11s %s, %.2f GB/s" % (
                name, spread(res[name]), len(data) / median(res[name]) / 1e9))
        t = {name: median(res[name]) for name, _ in paths}
        fname = "pll" if t["pll"] <= t["pll-always"] else "pll-always"
        r = t["mount"] / t[fname]
        B.say("    ratio to the cache file: mount %.2f, pll %.2f, pll-always "
              "%.2f" % (t["mount"] / t["cache file"],
                        t["pll"] / t["cache file"],
                        t["pll-always"] / t["cache file"]))
        B.say("    ratio mount/passthrough_ll (the faster of the two: %s) "
              "%.3f   target <= 1.05: %s" % (fname, r, B.record(
                  "T5", "re-read 1 MiB, mount/passthrough_ll (%s), "
                  "in-process (mount/cache file %.2f)" % (
                      fname, t["mount"] / t["cache file"]),
                  "%.3f (<= 1.05)" % r, r <= 1.05)))
        # what an open and a close cost alone, without reading
        oc = {name: [] for name, _ in paths}
        for b in range(blocks):
            for name, path in paths:
                t0 = time.perf_counter()
                for _ in range(per):
                    os.close(os.open(path, os.O_RDONLY))
                oc[name].append((time.perf_counter() - t0) / per)
        B.say("    for comparison, open and close without reading: " +
              ", ".join("%s %s" % (name, secs(median(oc[name])))
                        for name, _ in paths))
        # and as a process, the way a user would see it
        cat = {name: [] for name, _ in paths}
        for r_ in range(5):
            for name, path in paths:
                cat[name].append(B.timeit(40, ["/bin/cat", path])[0])
        B.say("  with a process per read: 5 rounds of `$B/bench/timeit 40 "
              "/bin/cat FILE` (stdout /dev/null):")
        for name, _ in paths:
            B.say("    %-11s %s" % (name, spread(cat[name])))
        B.say("    ratio mount/cache file %.2f, mount/pll %.2f, "
              "mount/pll-always %.2f (no target; cat's start-up is most of "
              "it)" % (median(cat["mount"]) / median(cat["cache file"]),
                       median(cat["mount"]) / median(cat["pll"]),
                       median(cat["mount"]) / median(cat["pll-always"])))
    finally:
        for proc, mnt, argv, name in plls:
            B.unmount(proc, mnt)
        m.close()


# --- T6 ----------------------------------------------------------------------

# name, part, primer, configuration (see bench/get.py)
PARTS = [("OpenSCAD", "bolts/hex_screw/M8/length=20.stl",
          "bolts/hex_nut/M8/default.stl", B.scad_conf),
         ("FreeCAD", "bolts/hex_screw/M8/length=20.step",
          "bolts/hex_nut/M8/default.step", None)]


def bench_cold_cat():
    B.say("T6 (issue 4) cold cat of a part through the mount vs the same "
          "engine command run by hand")
    B.say("    (target: at most 5%% slower); load average %s" % loadavg())
    for name, path, primer, conf in PARTS:
        hand = Hand(B, path, conf)
        template = B.known_cache(primer, conf)
        box = Sandbox(B, B.library, conf, path, template)
        out = W("out." + hand.fmt)
        B.say("  %s, %s: %d runs of each, interleaved" % (name, path, RUNS))
        B.say("    by hand:  " + "\n              ".join(hand.describe()))
        B.say("    by hand in bwrap: the same in partsfs's bwrap command line "
              "(as user %s; taken" % box.user())
        B.say("      from a job of partsfs, without its prlimit): " +
              box.describe())
        B.say("    mount:    " + B.show([B.partsfs, B.library, W("mnt"), "-f",
                                         "-o", "cache=" + W("cache")] +
                                        (["-o", "config=" + conf] if conf
                                         else [])))
        B.say("    cat:      " + B.show(["cat", W("mnt/" + path)],
                                        stdout=out))
        B.say("      a fresh mount for each run; cache knows the engine "
              "version: $W/cache is a copy")
        B.say("      of a cache in which %s was made first; fresh cache: "
              "$W/cache does not exist" % primer)
        t_hand, t_known, t_fresh, t_box, t_query = [], [], [], [], []
        t_kept = []
        keep = Durable(B, box)
        sizes = set()

        def by_hand():
            t, size = hand.run()
            t_hand.append(t)
            sizes.add(("by hand", size))

        def in_bwrap():
            t, size = hand.run(box)
            t_box.append(t)
            sizes.add(("by hand in bwrap", size))

        def in_bwrap_kept():
            t, size = hand.run(box, keep)
            t_kept.append(t)
            sizes.add(("by hand in bwrap, kept", size))

        def cat(cache, into):
            with B.mount_partsfs(B.library, cache, config=conf) as m:
                into.append(B.timed(["cat", m.path(path)],
                                    stdout_path=out))
            sizes.add(("cat", os.path.getsize(out)))
            os.unlink(out)

        def cat_known():
            cache = B.fresh_copy(template)
            cat(cache, t_known)
            shutil.rmtree(cache)

        def cat_fresh():
            cache = os.path.join(B.tmp("fresh"), "cache")
            cat(cache, t_fresh)
            shutil.rmtree(cache)

        def query_beside():
            t, size = hand.run_with_query(box)
            t_query.append(t)
            sizes.add(("by hand in bwrap, query beside", size))

        steps = [by_hand, cat_known, cat_fresh, in_bwrap, in_bwrap_kept]
        # FreeCAD's runs report its version: no query beside them
        if hand.executor == "openscad":
            steps.append(query_beside)
        n = len(steps)
        for i in range(RUNS):
            for step in steps[i % n:] + steps[:i % n]:
                step()
        h, k, _ = B.report_cold("T6", "cat", name, t_hand, t_known, t_fresh,
                                sizes, t_box, t_query)
        B.report_floor("cat", t_kept, h, k)


# --- T7 ----------------------------------------------------------------------

SECONDS = 0.5


def fake_library():
    """One class `rod` made by tests/fake-engine, which sleeps SECONDS
    first: default.step (size 100) and 15 listed sizes, 16 parts.  STEP,
    because an engine's STL would also be listed as glb (converted), 16
    more parts."""
    root = B.tmp("rodlib")
    conf = B.fake_rod(root, "      literal: {seconds: %s}\n"
                      "      free: [size]\n"
                      "      defaults: {size: 100}\n"
                      "      types: {size: Length (mm), seconds: Number}\n"
                      "      common: [[[%s]]]\n" % (
                          SECONDS, ", ".join(str(s) for s in range(1, 16))))
    return root, conf


def bench_cp(label, short, lib, conf, classdir, parts, copy_argv, hand,
             template=None, jobs1=True, mkdest=False, off_conf=None,
             repeats=REPEATS):
    """cp of uncached parts through a fresh mount against the same engine
    commands run by hand at once (`hand()`: a fresh list of them, argv,
    env and directory each), as many at a time as the mount runs jobs (one
    per CPU), the target (issue 21); and for reference all of them at
    once, partsctl get of each one after another and, if jobs1, the same
    cp through a mount with one worker."""
    def cache():
        if template:
            return B.fresh_copy(template)
        return os.path.join(B.tmp("fresh"), "cache")

    def get_argv(part, c, out):
        argv = [B.partsctl, "get", "-q"]
        if conf:
            argv += ["-c", conf]
        return argv + [lib, classdir + "/" + part, "--cache", c, "-o", out]

    B.say("  %s" % label)
    m_argv = [B.partsfs, lib, W("mnt"), "-f", "-o", "cache=" + W("cache")]
    if conf:
        m_argv += ["-o", "config=" + conf]
    B.say("    mount:    " + B.show(m_argv) + " (a fresh mount and cache "
          "each run)")
    B.say("    copy:     " + B.show(copy_argv(W("mnt"), W("dest"))))
    B.say("    baseline: for each part P: " + B.show(get_argv(
        "P", W("cache"), W("dest/P"))))
    if jobs1:
        B.say("    and:      the same copy through a mount with -o jobs=1")
    width = os.cpu_count() or 1
    B.say("    by hand:  the same engine commands (as T1 shows them), %d at "
          "a time (the mount's jobs:" % width)
    B.say("              one per CPU), each started as a place is free; "
          "and all %d at once" % len(parts))
    box = Sandbox(B, lib, conf, classdir + "/" + parts[0], template)
    B.say("    by hand in bwrap: the same, %d at a time, each in partsfs's "
          "bwrap command line" % width)
    B.say("              (as user %s, without its prlimit): %s" % (
        box.user(), box.describe()))
    if off_conf:
        B.say("    sandbox off: the same copy through a mount with %s "
              "(jobs.sandbox: off)" % B.abbrev(off_conf))
    res = {"cp": [], "gets": [], "jobs1": [], "hand": [], "hand_all": [],
           "box": [], "off": []}

    def cp(into, extra, config=conf):
        c = cache()
        m = B.mount_partsfs(lib, c, *extra, config=config)
        try:
            dest = B.tmp("dest")
            if not mkdest:
                shutil.rmtree(dest)      # cp -r makes it
            argv = copy_argv(m.dir, dest)
            t0 = time.perf_counter()
            B.run(argv)
            into.append(time.perf_counter() - t0)
            made = [p for p in os.listdir(dest) if p in parts]
            if len(made) != len(parts):
                raise RuntimeError("cp made %d parts of %d" % (
                    len(made), len(parts)))
        finally:
            m.close()

    def gets():
        c = cache()
        dest = B.tmp("dest")
        t0 = time.perf_counter()
        for p in parts:
            B.run(get_argv(p, c, os.path.join(dest, p)))
        res["gets"].append(time.perf_counter() - t0)

    def by_hand(into, w, sandbox=None):
        into.append(at_once(hand(), w, sandbox))

    steps = [lambda: cp(res["cp"], []), gets,
             lambda: by_hand(res["hand"], width),
             lambda: by_hand(res["hand_all"], None),
             lambda: by_hand(res["box"], width, box)]
    if jobs1:
        steps.append(lambda: cp(res["jobs1"], ["jobs=1"]))
    if off_conf:
        steps.append(lambda: cp(res["off"], [], off_conf))
    for r in range(repeats):
        for step in steps[r % len(steps):] + steps[:r % len(steps)]:
            step()
    c, g = median(res["cp"]), median(res["gets"])
    h, ha = median(res["hand"]), median(res["hand_all"])
    B.say("    cp through the mount:            " + spread(res["cp"]))
    B.say("    engines by hand, %d at a time:    " % width +
          spread(res["hand"]))
    B.say("    engines by hand, all at once:    " + spread(res["hand_all"]))
    B.say("    by hand in bwrap, %d at a time:   " % width +
          spread(res["box"]))
    if off_conf:
        B.say("    cp, sandbox off:                 " + spread(res["off"]))
    B.say("    partsctl get, one after another: " + spread(res["gets"]))
    if jobs1:
        B.say("    cp through a -o jobs=1 mount:    " + spread(res["jobs1"]))
    B.say("    ratio cp/engines by hand %d at a time (the machine's "
          "ceiling): %.3f" % (width, c / h))
    B.say("      target <= 1.05: %s" % B.record(
        "T7", "%s/engines by hand, %d at a time" % (short, width),
        "%.3f (<= 1.05)" % (c / h), c / h <= 1.05))
    hb = median(res["box"])
    B.say("    the sandbox's floor: by hand in bwrap/by hand, %d at a time: "
          "%.3f" % (width, hb / h))
    B.say("    ratio cp/engines by hand in bwrap %d at a time (partsfs's own): "
          "%.3f" % (width, c / hb))
    B.say("      within 5%%: %s" % B.record(
        "T7b", "%s/by hand in bwrap, %d at a time" % (short, width),
        "%.3f (<= 1.05)" % (c / hb), c / hb <= 1.05))
    if off_conf:
        o = median(res["off"])
        B.say("    ratio cp, sandbox off/engines by hand %d at a time: %.3f"
              % (width, o / h))
        B.say("      within 5%%: %s" % B.record(
            "T7b", "%s, sandbox off/by hand, %d at a time" % (short, width),
            "%.3f (<= 1.05)" % (o / h), o / h <= 1.05))
    B.say("    for reference: cp/engines by hand all at once %.3f, cp/gets "
          "one after another %.2f" % (c / ha, c / g))
    if jobs1:
        B.say("      cp/cp with jobs=1 %.2f" % (c / median(res["jobs1"])))


def bench_copy():
    B.say("T7 (issue 4, issue 21) copying uncached parts through the mount "
          "vs the same engine commands")
    B.say("    run by hand at once (target: <= 1.05); %d CPUs, load average "
          "%s" % (os.cpu_count(), loadavg()))
    lib, conf = fake_library()
    # the listing of the mount (partsctl ls does not read partsfs.conf, so
    # it lists no formats of command executors); listing makes nothing
    with B.mount_partsfs(lib, B.tmp("cache"), config=conf) as m:
        names = os.listdir(m.path("fake", "rod"))
    parts = sorted(n for n in names if not n.endswith(".json"))
    if len(parts) != 16 or any(not n.endswith(".step") for n in parts):
        raise RuntimeError("fake/rod lists %r" % names)
    B.say("  a library made for it: class fake/rod, %d parts (%s ... %s) made "
          "by $B/tests/fake-engine" % (len(parts), parts[0], parts[-1]))
    B.say("    in %.1f s each (a `seconds` literal); %d repeats" % (
        SECONDS, REPEATS))
    script = os.path.join(lib, "fake", "fake", "rod.txt")

    def rod_hand():
        runs = []
        for p in parts:
            stem = p.rsplit(".", 1)[0]
            size = 100 if stem == "default" else float(
                stem.split("=")[-1].replace("mm", ""))
            d = B.tmp("hand")
            with open(os.path.join(d, "params.json"), "w") as f:
                json.dump({"params": {"size": size, "seconds": SECONDS},
                           "label": "Rod %s" % size, "format": "step",
                           "class": "rod", "collection": "fake"}, f)
            runs.append(([B.fake, os.path.join(d, "params.json"),
                          os.path.join(d, "out.step"), "step", script],
                         engine_env(d), d))
        return runs

    off_conf = conf + "-off.conf"
    with open(conf) as f, open(off_conf, "w") as g:
        g.write(f.read() + "jobs:\n  sandbox: off\n")
    bench_cp("cp -r of the class directory", "cp -r, 16 fake parts", lib,
             conf, "fake/rod", parts,
             lambda mnt, dest: ["cp", "-r", os.path.join(mnt, "fake", "rod"),
                                dest], rod_hand, off_conf=off_conf)
    # real parts: the STL files of one OpenSCAD leaf directory
    names = B.run([B.partsctl, "ls", B.library, "bolts/hex_screw/M8"],
                  stdout=subprocess.PIPE).stdout.decode().split()
    parts = [n for n in names if n.endswith(".stl")]
    template = B.known_cache("bolts/hex_nut/M8/default.stl", B.scad_conf)
    hands = [Hand(B, "bolts/hex_screw/M8/" + p, B.scad_conf) for p in parts]
    B.say("  real parts: the %d STL files of bolts/hex_screw/M8, made by "
          "OpenSCAD (listing order; $W/openscad.conf)" % len(parts))
    B.say("    $W/cache a fresh copy of a cache that knows OpenSCAD's "
          "version; %d repeats" % ENGINE_REPEATS)
    bench_cp("cp of M8/*.stl", "cp, 12 OpenSCAD parts", B.library,
             B.scad_conf,
             "bolts/hex_screw/M8", parts,
             lambda mnt, dest: ["cp"] + [os.path.join(
                 mnt, "bolts", "hex_screw", "M8", p) for p in parts] + [dest],
             lambda: [h.prepare()[:3] for h in hands],
             template=template, jobs1=False, mkdest=True,
             repeats=ENGINE_REPEATS)


# --- T8 ----------------------------------------------------------------------

# T8's library: classes of `key` (a table index: the leaf directories) by
# `size` (free, given in the file name), every pair a common combination
M_CLASSES, M_KEYS, M_SIZES = 10, 200, 250
# the leaves passthrough_ll walks (see bench_million)
SUB = 8


def million_library():
    """A library made at bench time whose `common` lists give M_CLASSES x
    M_KEYS x M_SIZES stems, each listed as a STEP part and its JSON
    description: a million files in the leaf directories.  (A class may
    have at most 200000 common combinations, hence several classes.)"""
    root = B.tmp("millionlib")
    os.makedirs(os.path.join(root, "data"))
    os.makedirs(os.path.join(root, "fake", "fake"))
    keys = ["k%d" % i for i in range(1, M_KEYS + 1)]
    with open(os.path.join(root, "data", "fake.blt"), "w") as f:
        f.write("id: fake\nauthor: partsfs benchmarks "
                "<bench@example.invalid>\nlicense: MIT <x>\n"
                "blt-version: 0.4\nclasses:\n")
        for c in range(M_CLASSES):
            f.write("  - id: rod%d\n"
                    "    names: {name: Rod%d, labeling: 'Rod %%(key)s "
                    "%%(size)s'}\n"
                    "    parameters:\n      free: [key, size]\n"
                    "      defaults: {key: k1, size: 1}\n"
                    "      types: {key: Table Index, size: Length (mm), "
                    "d: Length (mm)}\n"
                    "      tables:\n        index: key\n"
                    "        columns: [d]\n        data:\n" % (c, c))
            for i, k in enumerate(keys):
                f.write("          %s: [%d]\n" % (k, i + 1))
            f.write("      common: [[[%s], [%s]]]\n" % (
                ", ".join(keys),
                ", ".join(str(s) for s in range(1, M_SIZES + 1))))
            f.write("    source: partsfs benchmarks\n")
    conf = B.fake_scripts(root, ["rod%d" % c for c in range(M_CLASSES)])
    return root, conf


def copy_names(src, tree):
    """The names under src (directories, empty files, links with their
    targets) made again under tree, from one find (no stat per name);
    how many."""
    p = B.run(["/usr/bin/find", src, "-mindepth", "1", "-printf",
               "%y %P\\0%l\\0"], stdout=subprocess.PIPE)
    fields = p.stdout.decode().split("\0")
    os.makedirs(tree)
    n = 0
    for i in range(0, len(fields) - 1, 2):
        kind, rel = fields[i][0], fields[i][2:]
        dst = os.path.join(tree, rel)
        if kind == "d":
            os.mkdir(dst)
        elif kind == "l":
            os.symlink(fields[i + 1], dst)
        else:
            os.close(os.open(dst, os.O_CREAT | os.O_WRONLY, 0o444))
        n += 1
    return n


def bench_million():
    B.say("T8 (issue 21) a tree of a million parts: listing a leaf, and find "
          "over the whole mount")
    B.say("    vs passthrough_ll over a tmpfs copy of the same names (target: "
          "a leaf listed in")
    B.say("    milliseconds (< 50 ms), find within 2x of passthrough_ll); "
          "load average %s" % loadavg())
    lib, conf = million_library()
    size = os.path.getsize(os.path.join(lib, "data", "fake.blt"))
    B.say("  a library made for it: collection fake, %d classes rod0..rod%d "
          "of %d keys (a table" % (M_CLASSES, M_CLASSES - 1, M_KEYS))
    B.say("    index: the leaf directories) by %d sizes, every pair a "
          "common combination:" % M_SIZES)
    B.say("    %d stems, each a STEP part and its JSON description; "
          "data/fake.blt %d bytes" % (M_CLASSES * M_KEYS * M_SIZES, size))
    pll, pll_build = build_passthrough_ll()
    cache = B.tmp("cache")

    def mount_partsfs():
        return B.mount_partsfs(lib, cache, config=conf)

    B.say("  mount: " + B.show([B.partsfs, "$W/lib", "$W/mnt", "-f", "-o",
                                "cache=$W/cache", "-o",
                                "config=$W/lib.conf"]))
    leaf = ("fake", "rod3", "k77")
    other = ("fake", "rod3", "k78")
    # listing a leaf: on a fresh mount, the first leaf of a class (which
    # indexes the class's common rows), then another leaf of the class
    first, second = [], []
    n_leaf = 0
    for r in range(RUNS):
        m = mount_partsfs()
        try:
            first.append(B.timeit(1, ["/bin/ls", m.path(*leaf)])[0])
            second.append(B.timeit(1, ["/bin/ls", m.path(*other)])[0])
            n_leaf = len(os.listdir(m.path(*leaf)))
        finally:
            m.close()
    B.say("  leaf %s (%d entries): `$B/bench/timeit 1 /bin/ls DIR`, a fresh "
          "mount for each of %d runs:" % ("/".join(leaf), n_leaf, RUNS))
    B.say("    the first leaf of its class listed  %s" % spread(first))
    B.say("    another leaf of the class after it  %s" % spread(second))
    t_leaf = median(first)
    B.say("    target: a leaf in milliseconds (< 50 ms): %s" % B.record(
        "T8", "ls of a leaf (%d entries) of a fresh mount of a million "
        "parts" % n_leaf, "%s (< 50 ms)" % secs(t_leaf), t_leaf < 0.05))
    # passthrough_ll cannot walk the million: it keeps an O_PATH
    # descriptor per inode the kernel holds (RLIMIT_NOFILE here: see
    # below) and finds inodes in a list (lo_find goes through every inode
    # it has, so a walk of n names costs n^2/2 steps).  Its rate is taken
    # over SUB leaves of the same tree, copied to a tmpfs, where neither
    # limit shows; partsfs walks those leaves too, and the whole million.
    base, where = B.tmpfs_dir("million")
    tree = os.path.join(base, "tree")
    subdirs = [("fake", "rod3", "k%d" % k) for k in range(1, SUB + 1)]
    m = mount_partsfs()
    try:
        rss_before = daemon_kib(m, "VmRSS")
        n_sub = 0
        for d in subdirs:
            n_sub += 1 + copy_names(m.path(*d), os.path.join(tree, *d))
        t0 = time.perf_counter()
        n = len(B.run(["/usr/bin/find", m.dir], stdout=subprocess.PIPE)
                .stdout.splitlines())
        t_first = time.perf_counter() - t0
        rss_find, held = daemon_kib(m, "VmRSS"), daemon_inodes(m)
        # the kernel forgets what it can of the mount's names: FORGETs
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("2\n")
        t0 = time.monotonic()
        while daemon_inodes(m) > 16 and time.monotonic() - t0 < 30:
            time.sleep(0.2)
        time.sleep(0.5)
        rss_forgot, left = daemon_kib(m, "VmRSS"), daemon_inodes(m)
    finally:
        m.close()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    B.say("  the whole mount: %d entries (a first find: %s)" % (
        n, secs(t_first)))
    B.say("  passthrough_ll keeps a descriptor per inode (RLIMIT_NOFILE "
          "here %d, hard %d) and" % (soft, hard))
    B.say("    finds inodes by going through all it has (lo_find): it "
          "cannot walk a million names;")
    B.say("    its rate is taken over %d leaves, fake/rod3/k1..k%d, %d "
          "entries, made again on %s" % (SUB, SUB, n_sub, where))

    class Pll:
        def __init__(self):
            self.dir = B.tmp("mnt")
            self.argv = [pll, "-f", "-o", "source=" + tree, self.dir]
            self.proc = B.mount(self.argv, self.dir, self.dir + ".log")

        def path(self, *p):
            return os.path.join(self.dir, *p)

        def close(self):
            B.unmount(self.proc, self.dir)

    p = Pll()
    p.close()
    B.say("  passthrough_ll: " + B.show(p.argv, subs=(
        (p.dir, "$W/mnt"), (tree, "$W/tmpfs/tree"))) +
          " (built as for T4; its default options)")
    B.say("  `$B/bench/timeit 1 /usr/bin/find DIR...`, a fresh mount before "
          "each pass, %d passes of each, in turns:" % REPEATS)
    res = {"partsfs, whole": [], "partsfs, leaves": [],
           "pll, leaves": []}
    steps = [
        ("partsfs, whole", mount_partsfs, lambda mm: [mm.dir]),
        ("partsfs, leaves", mount_partsfs,
         lambda mm: [mm.path(*d) for d in subdirs]),
        ("pll, leaves", Pll, lambda mm: [mm.path(*d) for d in subdirs])]
    for r in range(REPEATS):
        k = r % len(steps)
        for name, start, dirs in steps[k:] + steps[:k]:
            mm = start()
            try:
                res[name].append(B.timeit(1, ["/usr/bin/find"] +
                                          dirs(mm))[0])
            finally:
                mm.close()
    rate = {}
    for name, count in (("partsfs, whole", n), ("partsfs, leaves", n_sub),
                        ("pll, leaves", n_sub)):
        rate[name] = count / median(res[name])
        B.say("    %-16s %s, %.0f entries/s" % (
            name, spread(res[name]), rate[name]))
    r = rate["pll, leaves"] / rate["partsfs, whole"]
    B.say("    the leaves alone: partsfs/passthrough_ll time %.2f" % (
        median(res["partsfs, leaves"]) / median(res["pll, leaves"])))
    B.say("    rate passthrough_ll (leaves) / partsfs (whole million) %.2f"
          "   target <= 2: %s" % (r, B.record(
              "T8", "find over a million parts, cold: rate of "
              "passthrough_ll (%d leaves) / partsfs (%d entries)" % (
                  SUB, n), "%.2f (<= 2)" % r, r <= 2.0)))
    # memory: what the names cost while the kernel holds them, and what
    # the daemon keeps once it forgets them (the model and its indexes
    # stay; the target: 80% or more of the find's growth given back)
    grown = rss_find - rss_before
    back = (rss_find - rss_forgot) / grown if grown > 0 else 1.0
    B.say("  the daemon's VmRSS (the first find): %.1f MiB after mounting, "
          "%.1f MiB after the find" % (rss_before / 1024, rss_find / 1024))
    B.say("    (%d inodes held), %.1f MiB once the kernel forgot them "
          "(drop_caches 2; %d inodes" % (held, rss_forgot / 1024, left))
    B.say("    left): %.0f%% of the growth given back   target >= 80%%: %s"
          % (100 * back, B.record(
              "T8", "memory after find over a million parts, once the "
              "kernel forgets them: share of the growth given back",
              "%.0f%% (>= 80%%; %.1f -> %.1f -> %.1f MiB)" % (
                  100 * back, rss_before / 1024, rss_find / 1024,
                  rss_forgot / 1024), back >= 0.8)))


def daemon_kib(m, field):
    """A field of the mount daemon's /proc status, in KiB."""
    with open("/proc/%d/status" % m.proc.pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def daemon_inodes(m):
    """How many inodes the daemon holds for the kernel (its stats)."""
    with open(m.path(".partsfs", "stats")) as f:
        for line in f:
            if line.startswith("inodes "):
                return int(line.split()[1])
    return 0


def main():
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse") or \
            which("fusermount3") is None:
        B.say("T4-T8 (issues 4 and 21) skipped: the mount benchmarks need root, "
              "/dev/fuse and fusermount3")
        return
    only = os.environ.get("BENCH_ONLY", "T4,T5,T6,T7,T8").split(",")
    benches = [("T4", bench_tree), ("T5", bench_reread),
               ("T6", bench_cold_cat), ("T7", bench_copy),
               ("T8", bench_million)]
    try:
        first = True
        for key, fn in benches:
            if key in only:
                if not first:
                    B.say("")
                first = False
                fn()
    finally:
        B.cleanup()


main()
