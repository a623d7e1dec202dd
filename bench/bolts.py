# bolts.py -- the benchmarks of the real BOLTS library (issue 18), mounted
# fresh with no executors configured (partsfs's defaults: FreeCAD makes the
# model of every class that has a FreeCAD function, OpenSCAD the rest; only
# a private cache), each figure beside its baseline in the same run:
#   B1 ls -lR of the whole tree, on a fresh mount each pass: time and
#      entries per second, against the same tree made again on a tmpfs;
#   B2 the default STEP part of every class of a sample, read through the
#      mount in parallel (as many readers as the mount has jobs), against
#      the same FreeCAD runs (the driver and job files partsfs uses) by
#      hand, as many at once: parts per second of both, and the ratio.
# Needs root, /dev/fuse, fusermount3, the corpus, freecadcmd, openscad and
# bwrap; without them it prints a SKIP line and exits 0.
# usage: python3 bench/bolts.py BUILD-DIR SOURCE-DIR  (bench/run.sh runs it)
# PARTSFS_CORPUS names the corpus; BENCH_RUNS (default 3 here) the passes
# of B1; BENCH_REPEATS (default 3) the repeats of B2; BENCH_BOLTS_ALL=1
# makes B2 take every class with a default STEP part instead of the
# sample; BENCH_BOLTS_JOBS=N mounts with -o jobs=N (default: the mount's
# own, one job per CPU) and runs N engines at once by hand.

import concurrent.futures
import os
import shutil
import subprocess
import sys
import time

# nothing is written into the source tree (bench/__pycache__)
sys.dont_write_bytecode = True

from benchlib import (Hand, loadavg, main_args, materialize, median, secs,
                      spread, which)

B = main_args()
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
ALL = os.environ.get("BENCH_BOLTS_ALL", "") not in ("", "0")
JOBS_SET = os.environ.get("BENCH_BOLTS_JOBS", "")
# The mount's default (jobs.workers 0): one job per CPU.
JOBS = int(JOBS_SET) if JOBS_SET else (os.cpu_count() or 1)

# BOLTS's own failures, left out of B2 (tests/bolts.py KNOWN lists them
# with their reasons): the crimped tube bar's oval() builds its wire from
# Part.Line, which FreeCAD 0.20 takes as an infinite line ("BRep_API:
# command not done") for every value.
KNOWN = {"connecting_bars/tubebarcrimpedends":
         "BOLTS's own failure in FreeCAD 0.20: BRep_API: command not done"}

# With the kernel's autogroup scheduling on, each session is a scheduling
# group with an equal share of the CPUs: partsfs's engines, each in a
# session of its own (bwrap --new-session), would get twice the CPU of two
# engines by hand in the benchmark's one session on a busy machine.  The
# engines by hand get a session each too.
try:
    with open("/proc/sys/kernel/sched_autogroup_enabled") as f:
        AUTOGROUP = f.read().strip() == "1"
except OSError:
    AUTOGROUP = False
AUTOGROUP_NOTE = ("autogroup scheduling is on here, and a session is a "
                  "scheduling group" if AUTOGROUP else
                  "autogroup scheduling is off here")


def find_corpus():
    """PARTSFS_CORPUS when it is set, else where bench/run.sh looks."""
    if os.environ.get("PARTSFS_CORPUS"):
        where = [os.environ["PARTSFS_CORPUS"]]
    else:
        where = [os.path.join(B.top, "..", "shared", "corpus", "bolts"),
                 "/work/shared/corpus/bolts"]
    for d in where:
        if os.path.isdir(os.path.join(d, "data")):
            return os.path.realpath(d)
    return None


def bwrap_missing():
    """Why engines cannot be sandboxed here, or None (partsfs runs every
    engine in bwrap; as root, as nobody)."""
    bwrap = which("bwrap")
    if bwrap is None:
        return "bwrap (Debian package bubblewrap)"
    argv = [bwrap, "--unshare-all", "--unshare-user", "--die-with-parent",
            "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
            "true"]
    kw = dict(user=65534, group=65534, extra_groups=[]) \
        if os.geteuid() == 0 else {}
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                           **kw)
    except (OSError, subprocess.SubprocessError) as e:
        return "bwrap that runs (%s)" % e
    if p.returncode != 0:
        return "bwrap that can make a sandbox here (%s)" % (
            p.stderr.strip().splitlines() or ["exit status %d" %
                                              p.returncode])[0]
    return None


def missing(corpus):
    why = []
    if os.geteuid() != 0:
        why.append("root (this is uid %d)" % os.geteuid())
    if not os.path.exists("/dev/fuse"):
        why.append("/dev/fuse (there is none)")
    if which("fusermount3") is None:
        why.append("fusermount3 (Debian package fuse3)")
    if corpus is None:
        why.append("the BOLTS corpus (%s has no data/ directory)" % (
            "PARTSFS_CORPUS=" + os.environ["PARTSFS_CORPUS"]
            if os.environ.get("PARTSFS_CORPUS") else
            "../shared/corpus/bolts beside the source tree"))
    if which("freecadcmd") is None:
        why.append("freecadcmd (Debian package freecad-python3)")
    if which("openscad") is None:
        why.append("openscad (Debian package openscad)")
    if not why:
        b = bwrap_missing()
        if b:
            why.append(b)
    return why


def W(name):
    return os.path.join(B.work, name)


def mount(cache):
    opts = ["jobs=%d" % JOBS] if JOBS_SET else []
    return B.mount_partsfs(B.library, cache, *opts)


# --- B1 ----------------------------------------------------------------------


def bench_ls():
    B.say("B1 (issue 18) ls -lR of the whole real BOLTS library through a "
          "fresh mount (no target);")
    B.say("    load average %s" % loadavg())
    B.legend()
    ls = lambda d: ["/bin/ls", "-lR", d]       # noqa: E731
    m = mount(B.tmp("cache"))
    try:
        B.say("  mount: " + B.show(m.argv, subs=((m.dir, "$W/mnt"),)) +
              " (a fresh mount and cache each pass;")
        B.say("    no configuration: the engines are partsfs's defaults)")
        B.say("  command: " + B.show(ls("$W/mnt")) + " > /dev/null")
        t0 = time.perf_counter()
        p = B.run(["/usr/bin/find", m.dir], stdout=subprocess.PIPE)
        t_find = time.perf_counter() - t0
        entries = len(p.stdout.splitlines())
        base, where = B.tmpfs_dir("bolts")
        tree = os.path.join(base, "tree")
        n = materialize(m.dir, tree)
    finally:
        m.close()
    B.say("  entries: %d (find, first pass on a fresh mount: %s)" % (
        entries, secs(t_find)))
    B.say("  reference: the same %d entries (directories, sparse files of "
          "the same sizes, symbolic" % n)
    B.say("    links) made again on %s" % where)
    cold, warm, ref = [], [], []
    for r in range(RUNS):
        m = mount(B.tmp("cache"))
        try:
            cold.append(B.timed(ls(m.dir)))
            warm.append(B.timed(ls(m.dir)))
        finally:
            m.close()
        ref.append(B.timed(ls(tree)))
    B.say("  %d passes each, interleaved:" % RUNS)
    rows = (("fresh mount (cold)", cold), ("same mount again (warm)", warm),
            ("tmpfs", ref))
    for label, ts in rows:
        B.say("    %-24s %s, %.0f entries/s" % (label + ":", spread(ts),
                                                 entries / median(ts)))
    B.say("    ratio partsfs/tmpfs: cold %.1f, warm %.1f (reference, no "
          "target)" % (median(cold) / median(ref),
                       median(warm) / median(ref)))
    return entries, median(cold), median(warm), median(ref)


# --- B2 ----------------------------------------------------------------------

def classes_with_step():
    """(class, default STEP part) of every class of the corpus whose
    default part is offered as STEP, in listing order."""
    out = []

    def ls(*path):
        p = B.run([B.partsctl, "ls", B.library] + list(path),
                  stdout=subprocess.PIPE)
        return p.stdout.decode().split()

    for coll in ls():
        # files (.json, drawings) have a dot in their names, ids none
        if "." in coll or coll in ("by-name", "by-standard"):
            continue
        for cid in ls(coll):
            if "." in cid:
                continue
            cls = coll + "/" + cid
            d = B.partsctl_json("params", B.library, cls)
            if "step" in d["formats"]:
                out.append((cls, os.path.dirname(d["path"]) +
                            "/default.step"))
    return out


def choose(classes):
    """The sample of B2: every other class with a default STEP part of
    each collection, in listing order, starting with its first (so every
    collection is in it): 39 of the 72 parts, each side 25 to 35 s and
    the whole benchmark about 4 minutes on 2 CPUs at a load average of 5
    to 10.  With BENCH_BOLTS_ALL, all of them."""
    if ALL:
        return list(classes)
    sample, nth = [], {}
    for cls, part in classes:
        coll = cls.split("/")[0]
        k = nth.get(coll, 0)
        nth[coll] = k + 1
        if k % 2 == 0:
            sample.append((cls, part))
    return sample


def check_step(path):
    with open(path, "rb") as f:
        head = f.read(13)
    if head != b"ISO-10303-21;":
        raise RuntimeError("%s is not a STEP file" % path)
    return os.path.getsize(path)


def bench_parts():
    B.say("B2 (issue 18) the default STEP parts of a sample of classes read "
          "through a fresh mount in")
    B.say("    parallel vs the same FreeCAD runs by hand, as many at once "
          "(no target); %d CPUs," % (os.cpu_count() or 0))
    B.say("    load average %s" % loadavg())
    every = classes_with_step()
    left_out = [(c, p) for c, p in every if c in KNOWN]
    classes = [(c, p) for c, p in every if c not in KNOWN]
    sample = choose(classes)
    B.say("  %d classes offer a default STEP part; left out: %s" % (
        len(every), "; ".join("%s (%s)" % (c, KNOWN[c])
                              for c, p in left_out) or "none"))
    if ALL:
        B.say("  BENCH_BOLTS_ALL: every other class, %d parts" % len(sample))
    else:
        B.say("  sample: %d parts, every other class of each of the %d "
              "collections, from its first" % (len(sample), len({
                  c.split("/")[0] for c, p in sample})))
        B.say("    (BENCH_BOLTS_ALL=1: all %d)" % len(classes))
    B.say("    " + " ".join(c for c, p in sample))
    hands = []
    for cls, part in sample:
        h = Hand(B, part)
        if h.executor != "freecad":
            raise RuntimeError("%s is made by %s, not FreeCAD" % (
                part, h.executor))
        # what the engine is given (inch classes: in mm), as partsfs's
        # job file has it
        given = dict(h.desc.get("given", h.desc["params"]))
        given["name"] = h.desc["label"]["nice"]
        h.job["params"] = given
        hands.append(h)
    # A cache that knows FreeCAD's version: only the first part made into
    # a new cache pays for asking it (a FreeCAD start-up; see T1); the
    # primer is a STEP part outside the sample.
    primer = primer_part(classes, sample)
    template = B.known_cache(primer) if primer else None
    B.say("  jobs: %d (%s); readers through the mount: %d threads of this "
          "process, each" % (JOBS, "BENCH_BOLTS_JOBS" if JOBS_SET else
                             "the mount's default, one per CPU", JOBS))
    B.say("    reading a part (open, read to the end, write to $W/dest) "
          "and taking the next;")
    B.say("    by hand: %d threads, each running the engine command of a "
          "part and taking the next" % JOBS)
    B.say("  mount: " + B.show([B.partsfs, B.library, W("mnt"), "-f", "-o",
                                "cache=" + W("cache")] +
                               (["-o", "jobs=%d" % JOBS] if JOBS_SET
                                else [])) +
          " (fresh each repeat)")
    if template:
        B.say("    $W/cache: a copy of a cache in which %s was made" %
              primer)
        B.say("    first (it knows FreeCAD's version)")
    else:
        B.say("    $W/cache: a fresh cache (no part outside the sample to "
              "make first: the first")
        B.say("    job also asks FreeCAD for its version)")
    B.say("  by hand, e.g.: " + "\n    ".join(hands[0].describe()))
    B.say("    (the job files are written before the clock starts; engines "
          "by hand run outside")
    B.say("    the sandbox, the mount's in bwrap; each in a session of its "
          "own, as bwrap --new-session")
    B.say("    puts the mount's: %s)" % AUTOGROUP_NOTE)
    res = {"mount": [], "hand": []}
    sizes = {}

    def through_mount():
        cache = B.fresh_copy(template) if template else \
            os.path.join(B.tmp("fresh"), "cache")
        dest = B.tmp("dest")
        m = mount(cache)
        try:
            def read(part):
                src = m.path(part)
                out = os.path.join(dest, part.replace("/", "+"))
                try:
                    with open(src, "rb") as i, open(out, "wb") as o:
                        shutil.copyfileobj(i, o, 1 << 17)
                except OSError as e:
                    try:
                        why = os.getxattr(src, "user.partsfs.error").decode()
                    except OSError:
                        why = "(no user.partsfs.error)"
                    raise RuntimeError("%s: %s\n%s" % (part, e, why))
                return out
            with concurrent.futures.ThreadPoolExecutor(JOBS) as pool:
                t0 = time.perf_counter()
                outs = list(pool.map(read, [p for c, p in sample]))
                res["mount"].append(time.perf_counter() - t0)
        finally:
            m.close()
        sizes["mount"] = sum(check_step(o) for o in outs)
        shutil.rmtree(dest)
        shutil.rmtree(cache, ignore_errors=True)

    def by_hand():
        runs = [h.prepare() for h in hands]

        def run(r):
            argv, env, scratch, output = r
            # a session of its own, as bwrap --new-session gives each of
            # partsfs's engines (see AUTOGROUP)
            p = subprocess.run(argv, env=env, cwd=scratch,
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE,
                               start_new_session=True)
            if p.returncode != 0:
                raise RuntimeError("%s: exit status %d\n%s" % (
                    B.show(argv), p.returncode,
                    p.stderr.decode(errors="replace")[-2000:]))
            return output
        with concurrent.futures.ThreadPoolExecutor(JOBS) as pool:
            t0 = time.perf_counter()
            outs = list(pool.map(run, runs))
            res["hand"].append(time.perf_counter() - t0)
        sizes["hand"] = sum(check_step(o) for o in outs)
        for r in runs:
            shutil.rmtree(r[2], ignore_errors=True)

    steps = [through_mount, by_hand]
    loads = []
    for r in range(REPEATS):
        loads.append(loadavg().split()[0])
        for step in steps[r % 2:] + steps[:r % 2]:
            step()
    n = len(sample)
    m, h = median(res["mount"]), median(res["hand"])
    B.say("  %d repeats, the two sides in turns; the %d parts of each side "
          "are STEP files, %d bytes" % (REPEATS, n, sizes["mount"]))
    B.say("    through the mount, %d by hand (the last repeat); load average "
          "(1 min) at each" % sizes["hand"])
    B.say("    repeat's start: %s" % ", ".join(loads))
    B.say("    through the mount: %s, %.2f parts/s" % (spread(res["mount"]),
                                                      n / m))
    B.say("    by hand:           %s, %.2f parts/s" % (spread(res["hand"]),
                                                      n / h))
    paired = median([a / b for a, b in zip(res["mount"], res["hand"])])
    B.say("    ratio of the times mount/by hand %.3f (overhead %+.1f%%; "
          "median of paired" % (m / h, (m / h - 1) * 100))
    B.say("      ratios %.3f); parts/s through the mount are %.2f of "
          "those by hand" % (paired, h / m))
    return n, m, h


def primer_part(classes, sample):
    """A default STEP part of a class outside the sample; with every
    class in the sample, another STEP part of the first class: one beside
    its default part, or the default of a sibling directory (another
    size); None when there is none."""
    chosen = {c for c, p in sample}
    for cls, part in classes:
        if cls not in chosen:
            return part
    cls, part = classes[0]
    want = B.partsctl_json("params", B.library, part)["params"]

    def ls(path):
        return B.run([B.partsctl, "ls", B.library, path],
                     stdout=subprocess.PIPE).stdout.decode().split()

    leaf = os.path.dirname(part)
    parent = os.path.dirname(leaf)
    tries = [leaf + "/" + n for n in ls(leaf) if n.endswith(".step")]
    tries += [parent + "/" + n + "/default.step" for n in ls(parent)
              if "." not in n and n != os.path.basename(leaf)][:5]
    for p in tries:
        try:
            d = B.partsctl_json("params", B.library, p)
        except RuntimeError:
            continue
        if d["format"] == "step" and d["params"] != want:
            return p
    return None


def main():
    corpus = find_corpus()
    why = missing(corpus)
    if why:
        B.say("B1-B2 (issue 18) SKIP: the benchmarks of the real BOLTS "
              "library need " + "; ".join(why))
        return
    B.library = corpus
    start = time.perf_counter()
    try:
        entries, cold, warm, ref = bench_ls()
        B.say("")
        n, m, h = bench_parts()
        B.say("")
        B.say("B1-B2 in short: ls -lR of %d entries %s cold (%.0f "
              "entries/s), %s warm, tmpfs %s;" % (
                  entries, secs(cold), entries / cold, secs(warm),
                  secs(ref)))
        B.say("  %d default STEP parts, %d jobs: %.2f parts/s through the "
              "mount, %.2f by hand," % (n, JOBS, n / m, n / h))
        B.say("  parts/s mount/by hand %.2f (time %.3f)" % (h / m, m / h))
        B.say("  (%.0f s; load average %s; %s)" % (
            time.perf_counter() - start, loadavg(), subprocess.run(
                ["uptime"], capture_output=True, text=True).stdout.strip()))
    finally:
        B.cleanup()


main()
