# benchlib.py -- what the benchmark scripts get.py and mount.py share: the
# programs of a build tree, a private environment and work directory,
# timing without a shell, mounts in the foreground, and the output format
# of bench/run.sh (figures, ratios, "met"/"NOT MET").

import atexit
import json
import os
import re
import shlex
import shutil
import statistics
import sqlite3
import subprocess
import sys
import tempfile
import time


class Bench:
    def __init__(self, build, top):
        self.build = os.path.abspath(build)
        self.top = os.path.abspath(top)
        self.library = os.path.join(self.top, "library")
        self.partsctl = os.path.join(self.build, "partsctl")
        self.partsfs = os.path.join(self.build, "partsfs")
        self.timeit_prog = os.path.join(self.build, "bench", "timeit")
        self.fake = os.path.join(self.build, "tests", "fake-engine")
        self.out = os.path.join(self.top, "bench", "out")
        self.work = tempfile.mkdtemp(prefix="partsfs-bench.")
        self.home = os.path.join(self.work, "home")
        os.makedirs(self.home)
        os.makedirs(self.out, exist_ok=True)
        self.env = dict(os.environ,
                        PARTSFS_DATADIR=os.path.join(self.top, "src", "libexec"),
                        PARTSFS_LIBEXECDIR=self.build, HOME=self.home)
        for var in ("PARTSFS_CONFIG", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
            self.env.pop(var, None)
        self.mounts = []
        self.tmpfs = []          # tmpfs_dir's directories
        self.serial = 0
        atexit.register(self.cleanup)
        # The bundled library's classes have a FreeCAD function and an
        # OpenSCAD module: FreeCAD makes their model (every format) unless
        # a configuration says OpenSCAD, as this one does.
        self.scad_conf = os.path.join(self.work, "openscad.conf")
        with open(self.scad_conf, "w") as f:
            f.write("executors:\n  model: openscad\n")

    # --- output ------------------------------------------------------------

    def say(self, text=""):
        print(text, flush=True)

    def show(self, argv, env=None, stdout=None, subs=()):
        """A command line as a shell would read it, with the build tree,
        the source tree and the work directory abbreviated (and the
        (path, name) pairs of subs)."""
        words = []
        if env:
            words.append("env -i")
            words += [shlex.quote("%s=%s" % kv) for kv in env.items()]
        words += [shlex.quote(a) for a in argv]
        text = " ".join(words)
        if stdout:
            text += " > " + stdout
        for path, name in subs:
            text = text.replace(path, name)
        return self.abbrev(text)

    def abbrev(self, text):
        for path, name in ((self.work, "$W"), (self.build, "$B"),
                           (self.top, "$S")):
            text = text.replace(path, name)
        return text

    def record(self, target, what, figure, ok):
        """A target's verdict, also kept for the summary that run.sh
        prints at the end (bench/out/summary.txt)."""
        with open(os.path.join(self.out, "summary.txt"), "a") as f:
            f.write("%-3s %-58s %-18s %s\n" % (target, what, figure,
                                               verdict(ok)))
        return verdict(ok)

    def legend(self):
        self.say("  ($B = %s, $S = %s, $W = a fresh temporary directory;"
                 % (self.build, self.top))
        self.say("   environment: PARTSFS_DATADIR=$S/src/libexec "
                 "PARTSFS_LIBEXECDIR=$B HOME=$W/home)")

    # --- running -----------------------------------------------------------

    def tmp(self, prefix):
        """A new directory in the work directory."""
        self.serial += 1
        path = os.path.join(self.work, "%s%d" % (prefix, self.serial))
        os.makedirs(path)
        return path

    def known_cache(self, primer, conf=None):
        """A cache that knows the engine's version (memoized when the
        primer, another part of the same engine, was made) but not the
        part; `conf`, a configuration file."""
        cache = self.tmp("template")
        self.run([self.partsctl, "get", "-q"] +
                 (["-c", conf] if conf else []) +
                 [self.library, primer, "--cache", cache, "-o",
                  os.path.join(self.work, "primer.out")])
        return cache

    def fresh_copy(self, template):
        """A new cache directory holding what `template` holds."""
        cache = self.tmp("cache")
        shutil.rmtree(cache)
        shutil.copytree(template, cache)
        return cache

    def run(self, argv, env=None, cwd=None, stdout=subprocess.DEVNULL,
            new_session=False):
        """Run a command to completion (with new_session, in a session
        of its own); its output, or a failure."""
        p = subprocess.run(argv, env=env or self.env, cwd=cwd,
                           stdout=stdout, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL,
                           start_new_session=new_session)
        if p.returncode != 0:
            raise RuntimeError("%s: exit status %d\n%s" % (
                self.show(argv), p.returncode,
                p.stderr.decode(errors="replace")[-2000:]))
        return p

    def timed(self, argv, env=None, cwd=None, stdout_path=None,
              new_session=False):
        """The wall time of one run of a command (fork and exec from
        Python, no shell); its standard output goes to stdout_path or to
        /dev/null."""
        out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
        try:
            t0 = time.perf_counter()
            self.run(argv, env=env, cwd=cwd, stdout=out,
                     new_session=new_session)
            return time.perf_counter() - t0
        finally:
            if stdout_path:
                out.close()

    def timeit(self, n, argv):
        """bench/timeit: median and best of n runs."""
        p = self.run([self.timeit_prog, str(n)] + list(argv),
                     stdout=subprocess.PIPE)
        med, best = p.stdout.split()
        return float(med), float(best)

    def partsctl_json(self, *args):
        p = self.run([self.partsctl] + list(args), stdout=subprocess.PIPE)
        return json.loads(p.stdout)

    # --- mounts ------------------------------------------------------------

    def mount(self, argv, mnt, log):
        """Start a FUSE file system in the foreground on mnt and wait until
        it answers; returns its process."""
        logf = open(log, "ab")
        proc = subprocess.Popen(argv, env=self.env, stdout=logf, stderr=logf,
                                stdin=subprocess.DEVNULL)
        logf.close()
        self.mounts.append((proc, mnt))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("%s exited with status %d: %s" % (
                    argv[0], proc.returncode, tail(log)))
            # stat() of the root waits for the file system to serve
            if os.path.ismount(mnt):
                os.stat(mnt)
                return proc
            time.sleep(0.005)
        raise RuntimeError("%s: not mounted after 20 s: %s" % (
            argv[0], tail(log)))

    def unmount(self, proc, mnt):
        if proc.poll() is None:
            subprocess.run(["fusermount3", "-u", mnt],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                subprocess.run(["fusermount3", "-uz", mnt],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        if (proc, mnt) in self.mounts:
            self.mounts.remove((proc, mnt))

    def mount_partsfs(self, library, cache, *opts, config=None):
        mnt = self.tmp("mnt")
        argv = [self.partsfs, library, mnt, "-f", "-o", "cache=" + cache]
        if config:
            argv += ["-o", "config=" + config]
        for o in opts:
            argv += ["-o", o]
        proc = self.mount(argv, mnt, mnt + ".log")
        return Mounted(self, proc, mnt, argv)

    def fake_rod(self, root, parameters, conf_extra=""):
        """Add collection `fake` to the library at `root`: class rod, made
        by tests/fake-engine as STEP, `parameters` its BOLTS parameters
        block (YAML, indented for it).  Returns a configuration file with
        the engine as command executor `fake`, and `conf_extra` after."""
        os.makedirs(os.path.join(root, "data"), exist_ok=True)
        os.makedirs(os.path.join(root, "fake", "fake"))
        with open(os.path.join(root, "data", "fake.blt"), "w") as f:
            f.write("id: fake\n"
                    "author: partsfs benchmarks <bench@example.invalid>\n"
                    "license: MIT <http://opensource.org/licenses/MIT>\n"
                    "blt-version: 0.4\n"
                    "classes:\n"
                    "  - id: rod\n"
                    "    names: {name: Rod, labeling: 'Rod %(size)s'}\n"
                    "    parameters:\n" + parameters +
                    "    source: partsfs benchmarks\n")
        return self.fake_scripts(root, ["rod"], conf_extra)

    def fake_scripts(self, root, classids, conf_extra=""):
        """The base file and script of collection `fake` at `root` (its
        directory fake/fake made), one script for the classes `classids`,
        and a configuration file with tests/fake-engine as command
        executor `fake` making STEP, `conf_extra` after: its path."""
        with open(os.path.join(root, "fake", "fake", "fake.base"), "w") as f:
            f.write("- {filename: rod.txt, type: script, author: b <b@x>, "
                    "license: MIT <x>, classids: [%s]}\n"
                    % ", ".join(classids))
        with open(os.path.join(root, "fake", "fake", "rod.txt"), "w") as f:
            f.write("rod script\n")
        conf = root + ".conf"
        with open(conf, "w") as f:
            f.write("executors:\n  commands:\n    - name: fake\n"
                    "      argv: [%s, \"{params}\", \"{output}\", "
                    "\"{format}\", \"{script}\"]\n      formats: [step]\n"
                    % self.fake + conf_extra)
        return conf

    def report_floor(self, verb, t_kept, h, k):
        """T1 and T6: the floor measured whole (t_kept: the engine by hand
        in bwrap through a Durable) against the engine by hand (median h)
        and `verb` with a cache that knows the engine version (median
        k)."""
        f = median(t_kept)
        self.say("    the floor measured whole, nothing of partsfs: by hand in "
                 "bwrap through $B/bench/durable,")
        self.say("      which keeps the output as a cache must (one more "
                 "process; a new file, fsync, rename;")
        self.say("      one row committed to a sqlite index in WAL mode, "
                 "synchronous=NORMAL, the WAL kept)")
        self.say("      " + spread(t_kept))
        self.say("      floor/by hand %.3f (the target's 5%% taken by the "
                 "floor alone: %s); %s/floor %.3f" % (
                     f / h, "yes" if f / h > 1.05 else "no", verb, k / f))

    def report_cold(self, target, verb, name, t_hand, t_known, t_fresh,
                    sizes, t_box=None, t_query=None):
        """T1 and T6: `verb` (get, cat) of `name`'s part, cold, with a
        cache that knows the engine version and with a fresh one, against
        the engine by hand: the times, the ratios and the verdicts; with
        t_box, the times of the engine by hand in partsfs's bwrap command
        line (Sandbox), against which what is partsfs's own is shown; with
        t_query, those of the same with the engine's version query started
        beside it (Hand.run_with_query), the floor of a fresh cache for an
        engine that is asked its version."""
        h, k, f = median(t_hand), median(t_known), median(t_fresh)
        self.say("    by hand:                         " + spread(t_hand))
        if t_box:
            self.say("    by hand in bwrap:                " + spread(t_box))
        self.say("    %s, cache knows engine version: " % verb +
                 spread(t_known))
        self.say("    %s, fresh cache:                " % verb +
                 spread(t_fresh))
        self.say("    fresh cache/cache knows the version: %.3f (what the "
                 "version query costs the first part)" % (
                     median(t_fresh) / median(t_known)))
        self.say("    output sizes: " + ", ".join(
            "%s %d bytes" % s for s in sorted(sizes)))
        paired = median([a / b for a, b in zip(t_known, t_hand)])
        self.say("    ratio %s/by hand, cache knows the engine version: "
                 "%.3f (overhead %+.1f%%;" % (verb, k / h, (k / h - 1) * 100))
        self.say("      median of paired ratios %.3f, ratio of the minimums "
                 "%.3f)" % (paired, min(t_known) / min(t_hand)))
        self.say("      target <= 5%%: %s" % self.record(
            target, "cold %s/by hand, %s, cache knows engine version" % (
                verb, name), "%.3f (<= 1.05)" % (k / h), k / h <= 1.05))
        self.say("    ratio %s/by hand, fresh cache: %.3f (overhead %+.1f%%; "
                 "the version query too, beside the engine)" % (
                     verb, f / h, (f / h - 1) * 100))
        self.say("      target <= 5%%: %s" % self.record(
            target, "cold %s/by hand, %s, fresh cache" % (verb, name),
            "%.3f (<= 1.05)" % (f / h), f / h <= 1.05))
        if t_box:
            b = median(t_box)
            self.say("    the sandbox's floor: by hand in bwrap/by hand %.3f "
                     "(%s per run, nothing of partsfs)" % (b / h, secs(b - h)))
            for what, t in (("cache knows the engine version", k),
                            ("fresh cache", f)):
                self.say("    ratio %s/by hand in bwrap, %s: %.3f (partsfs's "
                         "own overhead %s)" % (verb, what, t / b,
                                               secs(t - b)))
                self.say("      within 5%%: %s" % self.record(
                    target + "b", "cold %s/by hand in bwrap, %s, %s" % (
                        verb, name, what), "%.3f (<= 1.05)" % (t / b),
                    t / b <= 1.05))
        if t_box and t_query:
            q = median(t_query)
            self.say("    by hand in bwrap, the version query beside: " +
                     spread(t_query))
            self.say("    the query's floor: that/by hand in bwrap %.3f (%s "
                     "per run, nothing of partsfs: two engines starting at "
                     "once)" % (q / b, secs(q - b)))
            self.say("    ratio %s, fresh cache/by hand in bwrap with the "
                     "query beside: %.3f" % (verb, f / q))
            self.say("      within 5%%: %s" % self.record(
                target + "b", "cold %s/by hand in bwrap, query beside, %s, "
                "fresh cache" % (verb, name), "%.3f (<= 1.05)" % (f / q),
                f / q <= 1.05))
        return h, k, f

    def tmpfs_dir(self, name):
        """A directory on a tmpfs for a copy of a tree, and what it is: a
        tmpfs mounted for the bench, else one under /dev/shm; cleanup()
        removes it."""
        d = self.tmp("tmpfs")
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m",
                           "partsfs-bench", d], stderr=subprocess.DEVNULL
                          ).returncode == 0:
            self.tmpfs.append(d)
            return d, "a tmpfs mounted for the benchmark"
        d = os.path.join("/dev/shm", os.path.basename(self.work) + "-" + name)
        os.makedirs(d)
        self.tmpfs.append(d)
        return d, "/dev/shm (tmpfs)"

    def cleanup(self):
        for proc, mnt in list(self.mounts):
            try:
                self.unmount(proc, mnt)
            except Exception:
                pass
        for d in self.tmpfs:
            if os.path.ismount(d):
                subprocess.run(["umount", d])
            else:
                shutil.rmtree(d, ignore_errors=True)
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(self.work, ignore_errors=True)


class Mounted:
    def __init__(self, bench, proc, mnt, argv):
        self.bench, self.proc, self.dir, self.argv = bench, proc, mnt, argv

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def close(self):
        self.bench.unmount(self.proc, self.dir)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def tail(path, n=1500):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


# --- the sandbox by hand ------------------------------------------------------

STAGE_RE = re.compile(r"^/tmp/[0-9]+$")


class Sandbox:
    """The bwrap command line partsfs runs a job's engine in, learnt from
    one job (jobs.bwrap set to a script that records its arguments and
    execs bwrap), to run engine commands by hand in it with nothing of
    partsfs around them: the same options, the same user, the made
    /etc/passwd and /etc/group as data descriptors, --info-fd; with the
    paths partsfs stages (as root, bound from its own /tmp/N) bound from
    where they are, the job's scratch directory replaced by the run's,
    and the per-job process limit (prlimit, or --block-fd while partsfs
    sets it: partsfs's own doing) left out.  `conf` the configuration file of the job (or None), `part` a
    part of `library` to make with it, `cache` a cache to copy for it
    (one that knows the engine version, so that no version query runs)."""

    def __init__(self, bench, library, conf, part, cache=None):
        self.bench = bench
        # the job user reaches the scratch directories of the runs by
        # hand through the work directory (partsfs stages its own)
        os.chmod(bench.work, 0o711)
        # run as the job user, who cannot reach the work directory, and
        # not under /tmp, which the staging of partsfs (as root) hides
        rec = tempfile.mkdtemp(prefix="partsfs-bench-bwrap.", dir="/var/tmp")
        bench.tmpfs.append(rec)          # removed by cleanup()
        os.chmod(rec, 0o1777)
        script = os.path.join(rec, "bwrap")
        with open(script, "w") as f:
            f.write("#!/bin/sh\n"
                    "f=$(mktemp %s/argv.XXXXXX)\n"
                    "{ id -u; id -g; printf '%%s\\n' \"$@\"; } > \"$f\"\n"
                    "exec %s \"$@\"\n" % (rec, which("bwrap")))
        os.chmod(script, 0o755)
        text = ""
        if conf:
            with open(conf) as f:
                text = f.read()
        if re.search(r"^jobs:\s*$", text, re.M):
            text = re.sub(r"^jobs:\s*$", "jobs:\n  bwrap: %s" % script, text,
                          count=1, flags=re.M)
        else:
            text += "jobs:\n  bwrap: %s\n" % script
        rconf = os.path.join(rec, "record.conf")
        with open(rconf, "w") as f:
            f.write(text)
        c = bench.fresh_copy(cache) if cache else os.path.join(
            bench.tmp("fresh"), "cache")
        bench.run([bench.partsctl, "get", "-q", "-c", rconf, library, part,
                   "--cache", c, "-o", os.path.join(rec, "out")])
        shutil.rmtree(c, ignore_errors=True)
        best = None
        for name in sorted(os.listdir(rec)):
            if not name.startswith("argv."):
                continue
            with open(os.path.join(rec, name)) as f:
                lines = f.read().split("\n")[:-1]
            uid, gid, argv = int(lines[0]), int(lines[1]), lines[2:]
            if "--chdir" in argv and (best is None or len(argv) > len(best[2])):
                best = (uid, gid, argv)
        if best is None:
            raise RuntimeError("no job ran in bwrap (jobs.sandbox off?)")
        self.uid, self.gid, argv = best
        self.scratch = argv[argv.index("--chdir") + 1]
        opts = argv[:argv.index("--")]
        out = [which("bwrap")]
        i = 0
        while i < len(opts):
            a = opts[i]
            if a in ("--bind", "--ro-bind") and STAGE_RE.match(opts[i + 1]):
                out += [a, opts[i + 2], opts[i + 2]]
                i += 3
                continue
            if a == "--block-fd":
                # partsfs's hold on the job until it has set its process
                # limit (what prlimit did before): its own, left out
                i += 2
                continue
            out.append(a)
            i += 1
        self.opts = out + ["--"]
        # the engine as partsfs runs it in there (for showing)
        self.recorded = argv

    def user(self):
        try:
            import pwd
            return pwd.getpwuid(self.uid).pw_name
        except KeyError:
            return "partsfs"

    def describe(self, subs=()):
        """The bwrap options, as a shell would read them, with the
        scratch directory shown as $W/s and the descriptors by number."""
        return self.bench.show(self.opts, subs=((self.scratch, "$W/s"),) +
                               tuple(subs))

    def popen(self, argv, env, cwd, prefix=(), **kw):
        """Start `argv` (env, cwd: its scratch directory) in the sandbox,
        bwrap itself run by the command `prefix` when there is one
        (Durable.prefix); the process and what to close once it has
        ended."""
        fds = []
        passwd = "%s:x:%d:%d:partsfs job:%s:/usr/sbin/nologin\n" % (
            self.user(), self.uid, self.gid, cwd)
        group = "%s:x:%d:\n" % (self.user(), self.gid)
        for name, t in (("passwd", passwd), ("group", group)):
            fd = os.memfd_create(name)
            os.write(fd, t.encode())
            os.lseek(fd, 0, os.SEEK_SET)
            fds.append(fd)
        info_r, info_w = os.pipe()
        fds.append(info_w)
        opts = []
        prev = None
        for a in self.opts:
            if prev == "--ro-bind-data" and a == "3":
                a = str(fds[0])
            elif prev == "--ro-bind-data" and a == "4":
                a = str(fds[1])
            elif prev == "--info-fd":
                a = str(info_w)
            elif a == self.scratch or a.startswith(self.scratch + "/"):
                a = cwd + a[len(self.scratch):]
            opts.append(a)
            prev = a
        if os.geteuid() == 0 and self.uid != 0:
            os.chown(cwd, self.uid, self.gid)
            os.chmod(cwd, 0o755)
            kw.update(user=self.uid, group=self.gid, extra_groups=[])
        try:
            p = subprocess.Popen(list(prefix) + opts + list(argv), env=env,
                                 cwd="/",
                                 pass_fds=fds, stdin=subprocess.DEVNULL,
                                 **kw)
        finally:
            for fd in fds:
                os.close(fd)
        return p, info_r

    def run(self, argv, env, cwd, prefix=()):
        """Run to completion (bwrap run by `prefix`, as popen): the wall
        time (from before the start, as Bench.timed); fails if the engine
        fails."""
        t0 = time.perf_counter()
        p, info = self.popen(argv, env, cwd, prefix, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        err = p.communicate()[1]
        t = time.perf_counter() - t0
        os.close(info)
        if p.returncode != 0:
            raise RuntimeError("in bwrap: %s: exit status %d\n%s" % (
                self.bench.show(argv), p.returncode,
                err.decode(errors="replace")[-2000:]))
        return t


# --- figures -----------------------------------------------------------------

def materialize(src, dst):
    """The tree under src made again under dst: directories, symbolic
    links with the same targets, files of the same names and sizes
    (sparse, no content).  Returns the number of entries."""
    os.mkdir(dst)
    n = 1
    with os.scandir(src) as it:
        for e in it:
            target = os.path.join(dst, e.name)
            if e.is_symlink():
                os.symlink(os.readlink(e.path), target)
                n += 1
            elif e.is_dir(follow_symlinks=False):
                n += materialize(e.path, target)
            else:
                with open(target, "wb") as f:
                    f.truncate(e.stat(follow_symlinks=False).st_size)
                n += 1
    return n


def median(xs):
    return statistics.median(xs)


def verdict(ok):
    return "met" if ok else "NOT MET"


def secs(t):
    """A duration, readably."""
    if t < 0:
        return "-" + secs(-t)
    if t >= 1:
        return "%.2f s" % t
    if t >= 0.1:
        return "%.3f s" % t
    if t >= 0.001:
        return "%.2f ms" % (t * 1e3)
    return "%.1f us" % (t * 1e6)


def spread(xs):
    return "median %s (min %s, max %s, n=%d)" % (
        secs(median(xs)), secs(min(xs)), secs(max(xs)), len(xs))


def at_once(runs, width=None, sandbox=None):
    """Run prepared engine commands (argv, env, cwd) by hand, `width` at
    a time (None: all of them at once), each started as soon as a place
    is free, each in a session of its own (with `sandbox`, a Sandbox,
    in it); the wall time until the last ends.  Fails if one fails."""
    import threading
    width = len(runs) if width is None else max(1, width)
    todo = list(runs)
    lock = threading.Lock()
    rcs = []

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                argv, env, cwd = todo.pop(0)
            # a session each, as the sandbox gives every job: with the
            # kernel's autogroups, engines sharing one session would get
            # less of a busy machine than sandboxed jobs
            if sandbox is not None:
                # bwrap's --new-session makes the session
                p, info = sandbox.popen(argv, env, cwd,
                                        stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
                rc = p.wait()
                os.close(info)
            else:
                rc = subprocess.run(argv, env=env, cwd=cwd,
                                    stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL,
                                    start_new_session=True).returncode
            with lock:
                rcs.append(rc)

    threads = [threading.Thread(target=worker) for _ in range(width)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - t0
    if any(rcs):
        raise RuntimeError("an engine failed by hand: %r" % rcs)
    return took


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def which(name):
    path = shutil.which(name, path="/usr/local/bin:/usr/bin:/bin")
    return os.path.realpath(path) if path else None


def engine_env(scratch):
    """The environment partsfs gives an engine (src/make/exec.c env_init)."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": scratch,
            "TMPDIR": scratch, "XDG_RUNTIME_DIR": scratch,
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1"}


def scad_literal(v):
    """A value as an OpenSCAD literal, as src/make/plan.c scad_literal."""
    if v is None:
        return "undef"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    return '"%s"' % str(v).replace("\\", "\\\\").replace('"', '\\"')


def scad_arguments(base_file, module):
    """The argument list of a module in an OpenSCAD .base file (a flow
    list, as the bundled library writes it)."""
    with open(base_file) as f:
        text = f.read()
    m = re.search(r"-\s*name:\s*%s\s*\n\s*arguments:\s*\[([^\]]*)\]"
                  % re.escape(module), text)
    if m is None:
        raise RuntimeError("%s: no arguments for module %s" %
                           (base_file, module))
    return [a.strip() for a in m.group(1).split(",") if a.strip()]


class Hand:
    """The engine command partsfs runs for a part, prepared to be run by
    hand: the OpenSCAD wrapper or the FreeCAD job file is written into a
    fresh scratch directory before each (timed) run."""

    def __init__(self, bench, path, conf=None):
        self.bench = bench
        self.path = path
        d = bench.partsctl_json("params", *(["-c", conf] if conf else []),
                                bench.library, path)
        self.desc = d
        gen = d["provenance"]["generator"]
        self.executor = gen["executor"]
        self.script = os.path.join(bench.library, gen["file"])
        self.fmt = d["format"]
        if self.executor == "openscad":
            self.program = which("openscad")
            base = os.path.join(os.path.dirname(self.script),
                                os.path.basename(os.path.dirname(
                                    self.script)) + ".base")
            args = scad_arguments(base, gen["module"])
            # the two files src/make/openscad.c writes: lib.scad includes
            # the module file (and the preludes: none here), the wrapper
            # uses it (so that a stray top-level object of a module file
            # never reaches a part) and calls the module with literals
            if os.path.exists(os.path.join(bench.library, "backends",
                                           "openscad", "common.scad")):
                raise RuntimeError("%s: a library with BOLTS's OpenSCAD "
                                   "helpers: not mirrored here" % path)
            self.lib = ("// made by partsfs: the preludes and the module "
                        "file of %s\ninclude <%s>\n" % (d["path"],
                                                        self.script))
            self.wrapper = ("// made by partsfs for %s\nuse <lib.scad>\n"
                            "%s(%s);\n" % (
                                d["path"], gen["module"],
                                ", ".join(scad_literal(d["params"][a])
                                          for a in args)))
        elif self.executor == "freecad":
            self.program = which("freecadcmd")
            self.driver = os.path.join(bench.top, "src", "libexec", "freecad-driver.py")
            params = dict(d["params"])
            params["name"] = d["label"]["nice"]
            self.job = {"module_file": self.script,
                        "module_dir": os.path.dirname(self.script),
                        "function": gen["function"], "params": params,
                        "label": d["label"]["nice"], "format": self.fmt}
        else:
            raise RuntimeError("%s: executor %s" % (path, self.executor))
        if self.program is None:
            raise RuntimeError("%s: the engine is not installed" % path)

    def prepare(self):
        """A scratch directory with the engine's input; the argv, the
        environment and the output file."""
        scratch = self.bench.tmp("hand")
        env = engine_env(scratch)
        output = os.path.join(scratch, "out." + self.fmt)
        if self.executor == "openscad":
            with open(os.path.join(scratch, "lib.scad"), "w") as f:
                f.write(self.lib)
            wrapper = os.path.join(scratch, "part.scad")
            with open(wrapper, "w") as f:
                f.write(self.wrapper)
            argv = [self.program, "-o", output]
            if self.fmt == "stl":
                argv += ["--export-format", "binstl"]
            argv.append(wrapper)
        else:
            jobfile = os.path.join(scratch, "job.json")
            job = dict(self.job, output=output)
            with open(jobfile, "w") as f:
                json.dump(job, f, indent=2)
            env["PARTSFS_JOB"] = jobfile
            argv = [self.program, self.driver]
        return argv, env, scratch, output

    def describe(self):
        argv, env, scratch, output = self.prepare()
        lines = [self.bench.show(argv, env=env, subs=((scratch, "$W/s"),))]
        if self.executor == "openscad":
            lines.append("  with $W/s/lib.scad: " + " ".join(
                self.bench.abbrev(self.lib).split("\n")[1:]).strip())
            lines.append("  and $W/s/part.scad: " + " ".join(
                self.bench.abbrev(self.wrapper).split("\n")[1:]).strip())
        else:
            lines.append("  with $W/s/job.json: " + self.bench.abbrev(
                json.dumps(dict(self.job, output=output)).replace(
                    scratch, "$W/s")))
        shutil.rmtree(scratch, ignore_errors=True)
        return lines

    def run(self, sandbox=None, keep=None):
        """One timed run by hand (with `sandbox`, a Sandbox, in it; with
        `keep`, a Durable, through it, which keeps the output as a cache
        would); the time and the output's size."""
        argv, env, scratch, output = self.prepare()
        prefix = keep.prefix(output) if keep is not None else []
        if sandbox is not None:
            t = sandbox.run(argv, env, scratch, prefix)
        else:
            # a session of its own, as partsfs's jobs have (bwrap's
            # --new-session, or setsid): with the kernel's autogroups, an
            # engine in the benchmark's session shares its slice of a
            # busy machine with whatever else runs in that session
            t = self.bench.timed(prefix + argv, env=env, cwd=scratch,
                                 new_session=True)
        size = os.path.getsize(output)
        shutil.rmtree(scratch, ignore_errors=True)
        return t, size

    def run_with_query(self, sandbox):
        """One timed run in `sandbox` with the engine's version query
        (program --version, in a bwrap of its own) started with it, as
        partsfs starts it beside the first job of an engine on a fresh
        cache: the job's time and the output's size (the query is waited
        for after)."""
        qs = self.bench.tmp("query")
        q, info = sandbox.popen([self.program, "--version"], engine_env(qs),
                                qs, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            return self.run(sandbox)
        finally:
            q.wait()
            os.close(info)
            shutil.rmtree(qs, ignore_errors=True)


class Durable:
    """bench/durable, with a directory and a sqlite index of its own: the
    floor of a sandboxed, durable, indexed cold part measured whole (one
    more process, which runs the engine, then copies its output to a new
    file, fsyncs and renames it, and commits one row to the index in WAL
    mode), nothing of partsfs in it.  Owned by the sandbox's user, who
    runs it in front of bwrap."""

    def __init__(self, bench, sandbox=None):
        self.prog = os.path.join(bench.build, "bench", "durable")
        self.dir = bench.tmp("durable")
        self.index = os.path.join(self.dir, "index.sqlite")
        con = sqlite3.connect(self.index, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE parts (key TEXT PRIMARY KEY, size INTEGER,"
                    " sha256 TEXT, made REAL)")
        con.close()
        if sandbox is not None and os.geteuid() == 0:
            for p in (self.dir, self.index):
                os.chown(p, sandbox.uid, sandbox.gid)
        self.n = 0

    def prefix(self, output):
        """The command to run an engine writing `output` through."""
        self.n += 1
        return [self.prog, output, self.dir, self.index, "part%d" % self.n,
                "--"]


# --- a 1 MiB part (T5 of mount.py, R1 of remote.py) --------------------------

TRIANGLES = 20970       # 84 + 50 * 20970 = 1048584 bytes
MESH_PY = r'''# mesh.py -- an engine for the partsfs benchmarks: a binary
# STL of `triangles` triangles (a strip), 50 bytes each.
import json, struct, sys
job = json.load(open(sys.argv[1]))
n = int(job["params"]["triangles"])
with open(sys.argv[2], "wb") as f:
    f.write(b"partsfs bench mesh".ljust(80, b" "))
    f.write(struct.pack("<I", n))
    for i in range(n):
        x = float(i // 2)
        y = float(i % 2)
        f.write(struct.pack("<12fH", 0, 0, 1, x, y, 0, x + 1, y, 0,
                            x + y, 1 - y, 0, 0))
'''


def mesh_library(B):
    """A library of one class, bench/strip, whose part default.stl a
    command executor makes by running python3 on MESH_PY: a binary STL of
    TRIANGLES triangles (1 MiB).  Returns the library and its
    configuration file."""
    root = B.tmp("meshlib")
    os.makedirs(os.path.join(root, "data"))
    os.makedirs(os.path.join(root, "mesh", "bench"))
    with open(os.path.join(root, "data", "bench.blt"), "w") as f:
        f.write("""id: bench
author: partsfs benchmarks <bench@example.invalid>
license: MIT <http://opensource.org/licenses/MIT>
blt-version: 0.4
classes:
  - id: strip
    names: {name: Strip, labeling: 'Strip %%(triangles)s'}
    parameters:
      free: [triangles]
      defaults: {triangles: %d}
      types: {triangles: Number}
    source: partsfs benchmarks
""" % TRIANGLES)
    with open(os.path.join(root, "mesh", "bench", "bench.base"), "w") as f:
        f.write("- {filename: mesh.py, type: script, author: b <b@x>, "
                "license: MIT <x>, classids: [strip]}\n")
    with open(os.path.join(root, "mesh", "bench", "mesh.py"), "w") as f:
        f.write(MESH_PY)
    conf = os.path.join(root + ".conf")
    with open(conf, "w") as f:
        f.write("executors:\n  commands:\n    - name: mesh\n"
                "      argv: [python3, \"{script}\", \"{params}\", "
                "\"{output}\"]\n      formats: [stl]\n")
    return root, conf


def read_all(path, buf):
    """open, read(2) into buf to the end, close: the bytes read."""
    fd = os.open(path, os.O_RDONLY)
    n = 0
    try:
        while True:
            k = os.readv(fd, [buf])
            if k == 0:
                return n
            n += k
    finally:
        os.close(fd)


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d CPUs, kernel %s" % (model, os.cpu_count() or 0,
                                       os.uname().release)


def main_args():
    if len(sys.argv) < 3:
        sys.stderr.write("usage: %s BUILD-DIR SOURCE-DIR\n" % sys.argv[0])
        sys.exit(2)
    return Bench(sys.argv[1], sys.argv[2])
