#!/usr/bin/env python3
# faults.py -- partsfs mounted for real against what goes wrong around it:
# the daemon killed with -9 while jobs run, a cache on a full disk, a
# deleted or damaged cache index, engines that hang, crash, write garbage,
# nothing or a flood of stderr, and a library that goes away or becomes
# unreadable while mounted.  TAP output; needs root.  A test is skipped
# when what it needs is missing: /dev/fuse, or a mount namespace for its
# tmpfs (need() in mountlib.py).

import errno
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mountlib import *  # noqa: E402,F401,F403
import mountlib  # noqa: E402

# tmpfs and FUSE mounts vanish with this process's namespace, whatever
# happens to it
in_private_namespace(__file__)


def error_xattr(path):
    try:
        return os.getxattr(path, "user.partsfs.error").decode()
    except OSError as e:
        raise Failed("no user.partsfs.error on %s: %s" % (path, e))


def errors_file(m):
    return read(m.path(".partsfs/errors")).decode()


def verify(cache):
    """partsctl cache verify on `cache`: every indexed part re-hashed; the
    damaged ones are removed and counted."""
    return json.loads(partsctl("cache", "--cache", cache, "verify",
                               "--json"))


def pids(counter):
    try:
        with open(counter) as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def no_engine_left(counter, timeout=5.0):
    """Every engine process the counter file names is gone (or a zombie)
    before the deadline."""
    try:
        wait_until(lambda: not any(alive(p) for p in pids(counter)),
                   "engines gone", timeout)
    except Failed as e:
        raise Failed("%s: %s still running" %
                     (e, [p for p in pids(counter) if alive(p)]))


def fill(path):
    """Fill the file system of `path` to its last byte with one file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    chunk = 1 << 20
    try:
        while chunk >= 1:
            try:
                os.write(fd, b"\0" * chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                chunk //= 2
    finally:
        os.close(fd)


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def pending_zero(m):
    return m.stats()["jobs_pending"] == 0


# --- the daemon killed -------------------------------------------------------

@test
def kill_9_while_ten_jobs_run_leaves_no_engine_and_no_partial_part():
    slow, quick = os.path.join(TMP, "k-slow"), os.path.join(TMP, "k-quick")
    lib = fake_classes(os.path.join(TMP, "libkill"), {
        "slow": {"seconds": 30, "counter": slow},
        "quick": {"seconds": 0.02, "counter": quick}},
        sizes=range(1, 11))
    # (the engines write their process ids into the test's files: outside
    # the sandbox; tests/sandbox.py kills a daemon with sandboxed jobs)
    m = Mount(lib, "jobs=12", "sandbox=off")
    cats = [subprocess.Popen(["cat", m.path("fake/slow/size=%d.stl" % s)],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
            for s in range(1, 11)]
    stop = threading.Event()

    def quick_reader():
        # parts published one after another while the daemon dies (not
        # listed ones: no siblings made ahead)
        s = 11
        while not stop.is_set():
            try:
                read(m.path("fake/quick/size=%d.stl" % s))
            except OSError:
                return
            s += 1
    t = threading.Thread(target=quick_reader)
    try:
        wait_until(lambda: len(pids(slow)) >= 10, "ten slow engines", 10)
        t.start()
        wait_until(lambda: len(pids(quick)) >= 20, "quick parts made", 10)
        eq(m.stats()["jobs_pending"] >= 10, True, "jobs under way")
        os.kill(m.proc.pid, signal.SIGKILL)
        m.proc.wait(10)
    finally:
        stop.set()
        t.join(30)
        for c in cats:
            c.kill()
            c.wait(10)
        subprocess.run(["fusermount3", "-uz", m.dir], capture_output=True)
        m.unmount()
    # the engines die with the daemon
    no_engine_left(slow)
    no_engine_left(quick)
    # what the dead daemon left: no index entry for a partial file
    v = verify(m.cache)
    eq(v["removed"], 0, "damaged parts in the cache left by the crash")
    check(v["checked"] >= 10, "only %d parts published" % v["checked"])

    m2 = Mount(lib, "jobs=12", "sandbox=off", cache=m.cache)
    try:
        # the ten slow parts made again at once; meanwhile the quick ones,
        # one by one (reading while engines start is another test's)
        runs = len(pids(slow))
        out = {}

        def reader(s):
            try:
                out[s] = read(m2.path("fake/slow/size=%d.stl" % s))
            except OSError as e:
                out[s] = e
        ts = [threading.Thread(target=reader, args=(s,), daemon=True)
              for s in range(1, 11)]
        for th in ts:
            th.start()
        wait_until(lambda: len(pids(slow)) >= runs + 10, "slow engines", 10)
        for s in range(1, 41):
            f = m2.path("fake/quick/size=%d.stl" % s)
            check_box(read_within(m2, f), s, "quick size=%d" % s)
        for th in ts:
            th.join(60)
        eq(len(out), 10, "slow reads completed")
        for s, data in sorted(out.items()):
            if isinstance(data, OSError):
                raise Failed("slow size=%d: %s" % (s, data))
            check_box(data, s, "slow size=%d" % s)
        wait_until(lambda: pending_zero(m2), "jobs to finish")
        v = verify(m2.cache)
        eq(v["removed"], 0, "damaged parts after the remount")
        eq(v["checked"], m2.stats()["cache_entries"], "parts checked")
        # the dead daemon's scratch space is gone; what is left in tmp/
        # belongs to the running one, but for the file of the keys' locks
        left = [n for n in os.listdir(os.path.join(m2.cache, "tmp"))
                if n != "keys.lock"]
        check(len([n for n in left if n.startswith("proc-")]) <= 1 and
              not [n for n in left if not n.startswith("proc-")],
              "left in the cache's tmp/: %s" % left)
    finally:
        m2.unmount()
    no_engine_left(slow)
    no_engine_left(quick)


# --- a full disk -------------------------------------------------------------

def check_big_step(data, size, note_len, what):
    check(data.startswith(b"ISO-10303-21;"), what + ": not STEP")
    check(b"#2=BOX(%d);" % size in data, what + ": not a box of %d" % size)
    check(b"'" + b"n" * note_len + b"'" in data, what + ": the note")


@test
def a_full_cache_disk_is_eio_with_its_reason_and_eviction_makes_room():
    disk = Tmpfs("4m")
    note = 100 * 1024
    # one listed size: almost nothing is made ahead of the reader
    lib = fake_classes(os.path.join(TMP, "libfull"), {
        "rod": {}, "big": {"note": "n" * note}}, sizes=[1])
    m = Mount(lib, "jobs=1", cache=disk.path("cache"),
              conf_extra="  max-size: 512K\n")
    try:
        for s in (2, 3):
            check_box(read(m.path("fake/rod/size=%d.stl" % s)), s)
        wait_until(lambda: pending_zero(m), "jobs ahead of readers")
        fill(disk.path("filler"))
        eq(free_bytes(disk.dir), 0, "free bytes")

        p = m.path("fake/rod/size=20.stl")
        raises(errno.EIO, read, p)
        reason = error_xattr(p)
        check("No space left on device" in reason, "reason: " + reason)
        errors = errors_file(m)
        check(re.search(r"fake/rod/size=20\.stl\n.*No space left on device",
                        errors), "errors: " + errors)
        # what is cached is still served
        for s in (2, 3):
            check_box(read(m.path("fake/rod/size=%d.stl" % s)), s,
                      "cached size=%d on a full disk" % s)
        check(m.proc.poll() is None, "partsfs exited")

        # room for the engine's files but not for the index: the part is
        # made, then cannot be stored
        os.truncate(disk.path("filler"),
                    os.path.getsize(disk.path("filler")) - 12288)
        p2 = m.path("fake/rod/size=21.stl")
        raises(errno.EIO, read, p2)
        reason = error_xattr(p2)
        check("could not be stored" in reason and
              "No space left on device" in reason, "reason: " + reason)

        # room again: the parts that failed for want of it are made
        os.unlink(disk.path("filler"))
        check_box(read(p), 20, "size=20 once there is room")
        check_box(read(p2), 21, "size=21 once there is room")

        # 2 MB free for 2.5 MB of parts: the cache's limit (512 KB) evicts
        # what is older to make room for each new part
        fill(disk.path("filler"))
        os.truncate(disk.path("filler"),
                    os.path.getsize(disk.path("filler")) - 2048 * 1024)
        for s in range(1, 26):
            f = m.path("fake/big/size=%d.step" % s)
            try:
                data = read_within(m, f)
            except OSError as e:
                raise Failed("big size=%d: %s: %s" % (s, e,
                                                      errors_file(m)[:300]))
            check_big_step(data, s, note, "big size=%d" % s)
        st = m.stats()
        check(st["cache_bytes"] + st["cache_index_bytes"] <= 512 << 10,
              "cache over its limit: %s" % st)
        check(free_bytes(disk.dir) > 0, "the disk filled up")
        m.unmount()
        v = verify(m.cache)
        eq(v["removed"], 0, "index entries without their whole file")
        # parts of 26 blocks and an index of some 70 KiB: 4 fit in 512K
        check(v["checked"] >= 3, "checked %d" % v["checked"])
    finally:
        m.unmount()
        disk.umount()


@test
def a_cache_limited_well_below_its_disk_keeps_making_parts():
    # 20 MB of parts through a 1 MB cache on a 4 MB disk: the index and
    # the blobs together must stay within the disk
    disk = Tmpfs("4m")
    lib = fake_classes(os.path.join(TMP, "liblimit"), {
        "big": {"note": "n" * 100 * 1024}}, sizes=[1])
    m = Mount(lib, "jobs=1", cache=disk.path("cache"),
              conf_extra="  max-size: 1M\n")
    try:
        for s in range(1, 201):
            f = m.path("fake/big/size=%d.step" % s)
            try:
                data = read_within(m, f)
            except OSError as e:
                du = {n: os.path.getsize(disk.path("cache", n))
                      for n in os.listdir(disk.path("cache"))
                      if n.startswith("index")}
                raise Failed("part %d of 200: %s; free %d bytes; %s; %s" %
                             (s, e, free_bytes(disk.dir), du,
                              errors_file(m)[:400]))
            check_big_step(data, s, 100 * 1024, "size=%d" % s)
    finally:
        m.unmount()
        disk.umount()


@test
def reading_cached_parts_while_engines_start_never_hangs():
    lib = fake_classes(os.path.join(TMP, "libsplice"), {
        "big": {"note": "n" * 100 * 1000}, "rod": {}})
    m = Mount(lib, "jobs=4")
    try:
        for s in range(1, 6):
            read(m.path("fake/big/size=%d.step" % s))
        stop = threading.Event()
        done = [0, 0]
        errors = []

        def reader():
            # every read goes to partsfs, not to the kernel's page cache
            try:
                while not stop.is_set():
                    for s in range(1, 6):
                        with open(m.path("fake/big/size=%d.step" % s),
                                  "rb") as f:
                            os.posix_fadvise(f.fileno(), 0, 0,
                                             os.POSIX_FADV_DONTNEED)
                            if len(f.read()) < 100000:
                                errors.append("short read")
                        done[0] += 1
            except OSError as e:
                errors.append(e)

        def maker():
            s = 100
            try:
                while not stop.is_set():
                    check_box(read(m.path("fake/rod/size=%d.stl" % s)), s)
                    done[1] += 1
                    s += 1
            except (OSError, Failed) as e:
                errors.append(e)
        ts = [threading.Thread(target=reader, daemon=True) for _ in range(4)]
        ts.append(threading.Thread(target=maker, daemon=True))
        for t in ts:
            t.start()
        time.sleep(8)  # the length of the run, not a wait for something
        stop.set()
        deadline = time.monotonic() + 5
        for t in ts:
            t.join(max(0.1, deadline - time.monotonic()))
        if any(t.is_alive() for t in ts):
            log = m.log()
            m.proc.kill()
            m.proc.wait()
            subprocess.run(["fusermount3", "-uz", m.dir], capture_output=True)
            for t in ts:
                t.join(10)
            raise Failed("reads hung after %d reads and %d parts made; "
                         "partsfs killed; its log: %s" %
                         (done[0], done[1], log[-1000:]))
        eq(errors, [], "errors")
        check(done[0] > 100 and done[1] > 10, "only %s" % done)
    finally:
        m.unmount()


# --- the cache index damaged between runs ------------------------------------

def index_damaged_then(damage, what):
    """Cache five parts, stop, damage the index, mount again: the parts
    (and new ones) are served right, and the index matches the files."""
    counter = os.path.join(TMP, "c-" + what)
    lib = fake_library(os.path.join(TMP, "lib-" + what), sizes=[1],
                       counter=counter)
    cache = os.path.join(TMP, "cache-" + what)
    m = Mount(lib, "jobs=1", cache=cache)
    try:
        for s in range(2, 7):
            check_box(read(m.path("fake/rod/size=%d.stl" % s)), s)
        wait_until(lambda: pending_zero(m), "jobs ahead of readers")
    finally:
        m.unmount()
    wal = os.path.join(cache, "index.sqlite-wal")
    check(not os.path.exists(wal) or os.path.getsize(wal) == 0,
          "the index's WAL kept frames past the mount")
    damage(os.path.join(cache, "index.sqlite"))
    runs = count_lines(counter)
    m = Mount(lib, "jobs=1", cache=cache)
    try:
        for s in range(2, 9):
            f = m.path("fake/rod/size=%d.stl" % s)
            try:
                data = read(f)
            except OSError as e:
                raise Failed("size=%d after the damage: %s: %s" %
                             (s, e, error_xattr(f)))
            check_box(data, s, "size=%d after the damage" % s)
        wait_until(lambda: pending_zero(m), "jobs ahead of readers")
        # the blobs kept may be indexed again (no engine run) or made
        # anew, but never more than once
        check(count_lines(counter) - runs <= 7, "engine runs: %d" %
              (count_lines(counter) - runs))
        # a second look is answered by the cache
        before = count_lines(counter)
        for s in range(2, 9):
            check_box(read(m.path("fake/rod/size=%d.stl" % s)), s)
        eq(count_lines(counter), before, "engine runs on a second read")
    finally:
        m.unmount()
    v = verify(cache)
    eq(v["removed"], 0, "damaged entries")
    check(v["checked"] >= 7, "checked %d" % v["checked"])


@test
def a_deleted_index_is_rebuilt_and_parts_are_served():
    index_damaged_then(os.unlink, "deleted")


@test
def an_index_overwritten_with_garbage_is_replaced_and_parts_are_served():
    def garbage(path):
        size = os.path.getsize(path)
        with open(path, "wb") as f:
            f.write((b"this is not an sqlite database\n" * size)[:size])
    index_damaged_then(garbage, "garbage")


@test
def an_index_with_a_damaged_table_page_is_replaced_and_parts_are_served():
    def table_page(path):
        # the header, the schema and the meta table intact: only the pages
        # of the parts table and its key index are overwritten
        import sqlite3
        con = sqlite3.connect(path)
        psize = con.execute("PRAGMA page_size").fetchone()[0]
        roots = [r for n, r in con.execute(
            "SELECT name, rootpage FROM sqlite_master") if "parts" in n]
        con.close()
        with open(path, "r+b") as f:
            for r in roots:
                f.seek((r - 1) * psize)
                f.write(bytes((i * 7 + 3) & 0xff for i in range(psize)))
    index_damaged_then(table_page, "pages")


# --- engines that misbehave --------------------------------------------------

ENGINES = None


# The time limit of engines(): 4 s, longer where the daemon runs slowly
# (a sanitizer: reading a flood of 100 MB of stderr takes it longer; a
# machine under load took more than 2 s)
TIMEOUT = 4 * min(SLOW, 5)


def engines():
    """One mount of a library whose classes make the fake engine misbehave
    in each of its ways, with a time limit of TIMEOUT seconds."""
    global ENGINES
    if ENGINES is None:
        c = os.path.join(TMP, "c-engines")
        lib = fake_classes(os.path.join(TMP, "libengines"), {
            "good": {"counter": c},
            "hang": {"mode": "hang", "counter": c},
            "orphan": {"mode": "orphan", "seconds": 100, "counter": c},
            "crash": {"mode": "crash", "counter": c},
            "garbage": {"mode": "garbage", "counter": c},
            "nothing": {"mode": "nothing", "counter": c},
            "empty": {"mode": "empty", "counter": c},
            "flood": {"mode": "flood", "counter": c}}, sizes=[1])
        ENGINES = Mount(lib, conf_extra="jobs:\n  timeout: %g\n" % TIMEOUT)
        ENGINES.counter = c
        ENGINES.good = 0
    return ENGINES


def bad_engine(cls, want, max_seconds=5.0):
    """Reading a part of class `cls` is EIO within max_seconds, with the
    texts `want` in its reason; no engine is left running; a good part is
    made afterwards.  The reason."""
    m = engines()
    p = m.path("fake/%s/size=3.stl" % cls)
    t0 = time.monotonic()
    raises(errno.EIO, read, p)
    took = time.monotonic() - t0
    check(took < max_seconds * TIMEOUT / 2, "EIO after %.1f s" % took)
    reason = error_xattr(p)
    for w in want:
        check(w in reason, "%r not in the reason: %s" % (w, reason[:2000]))
    check("fake/%s/size=3.stl" % cls in errors_file(m), "not in errors")
    no_engine_left(m.counter)
    check(m.proc.poll() is None, "partsfs exited")
    # unharmed: a new part is made
    m.good += 1
    check_box(read(m.path("fake/good/size=%d.stl" % (10 + m.good))),
              10 + m.good, "a good part after " + cls)
    return reason


@test
def an_engine_that_hangs_is_killed_at_the_timeout_and_is_eio():
    bad_engine("hang", ["fake timed out after %g s (every process of the "
                        "job was killed)" % TIMEOUT, "command: "])


@test
def an_engine_whose_helper_hangs_is_killed_with_it():
    bad_engine("orphan", ["fake timed out after %g s" % TIMEOUT])


@test
def an_engine_that_segfaults_is_eio_naming_the_signal():
    bad_engine("crash", ["fake was killed by signal 11 (Segmentation "
                         "fault)"])


@test
def an_engine_that_writes_garbage_is_eio():
    bad_engine("garbage", ["its output is unusable: not an STL file"])


@test
def an_engine_that_writes_nothing_or_an_empty_file_is_eio():
    bad_engine("nothing", ["its output is unusable: cannot open the "
                           "output"])
    bad_engine("empty", ["its output is unusable: the output is empty"])


@test
def an_engine_writing_100_mb_of_stderr_leaves_memory_and_report_bounded():
    m = engines()
    # a first run of each path the flood takes, so that what grows after
    # is the flood's own
    check_box(read(m.path("fake/good/size=2.stl")), 2)
    before = vmrss_kib(m.proc.pid)
    reason = bad_engine("flood", ["fake exited with status 1",
                                  "fake-engine: the last line of the flood"],
                        max_seconds=30)
    after = vmrss_kib(m.proc.pid)
    check(after - before < 4096, "VmRSS grew from %d to %d KiB" %
          (before, after))
    check(len(reason) < 65536, "the reason is %d bytes" % len(reason))
    check(len(errors_file(m)) < 1 << 20, "errors is too big")


@test
def an_engine_failing_with_a_long_stderr_line_keeps_its_reason_readable():
    # the fake engine echoes the note on stderr: one line of 100 KB; the
    # reason must stay within what getxattr can return (64 KiB)
    lib = fake_classes(os.path.join(TMP, "libchatty"), {
        "chatty": {"mode": "fail", "note": "n" * 100 * 1024}})
    m = Mount(lib)
    try:
        p = m.path("fake/chatty/size=2.stl")
        raises(errno.EIO, read, p)
        reason = error_xattr(p)
        check("fake exited with status 3" in reason, reason[:300])
        check("giving up as asked" in reason, reason[-300:])
        check(m.proc.poll() is None, "partsfs exited")
    finally:
        m.unmount()


# --- the library goes away ---------------------------------------------------

def library_goes_away(lib, m, away, back, error_words):
    """While the library is away (away() done): clear errors, no crash,
    the last good version listed; when it is back (back() done) it serves
    again and live reloading notices it."""
    part = m.path("fake/rod/size=2.stl")
    check_box(read(part), 2)
    away()
    try:
        wait_until(lambda: all(w in errors_file(m) for w in error_words),
                   "the library's error", 3)
    except Failed as e:
        raise Failed("%s: %s not in /.partsfs/errors: %r; listed: %s" %
                     (e, error_words, errors_file(m), os.listdir(m.path())))
    # the mount answers; what was there stays listed
    check(m.proc.poll() is None, "partsfs exited")
    eq(errno_of(os.listdir, m.path("fake/rod")), None, "listing the class")
    check("rod" in os.listdir(m.path("fake")), "rod is not listed")
    m.stats()
    # a part not made yet is made from the last good version when its
    # engine's files can still be read (only data/ went away), or it is
    # EIO with a reason, or ENOENT
    p = m.path("fake/rod/size=7.stl")
    e = errno_of(read, p)
    check(e in (None, "EIO", "ENOENT"), "reading a new part: %s" % e)
    if e is None:
        check_box(read(p), 7, "made from the last good version")
    if e == "EIO":
        check(error_xattr(p), "no reason")
    check(m.proc.poll() is None, "partsfs exited")
    back()
    # a new class written while it was away shows that it is read again
    wait_until(lambda: "pin" in os.listdir(m.path("fake")),
               "the library back", 3)
    check_box(read(m.path("fake/rod/size=7.stl")), 7, "after the return")
    check_box(read(part), 2, "the first part after the return")


def add_pin(lib):
    with open(os.path.join(lib, "data", "fake.blt"), "a") as f:
        f.write("  - id: pin\n    names: {name: Pin, labeling: 'Pin "
                "%(d)s'}\n    parameters: {free: [d], types: {d: "
                "Length (mm)}}\n    source: test\n")


@test
def a_library_renamed_away_while_mounted_is_reported_then_served_again():
    lib = fake_library(os.path.join(TMP, "libaway"))
    m = Mount(lib)
    try:
        def away():
            os.rename(lib, lib + ".away")
            add_pin(lib + ".away")

        def back():
            os.rename(lib + ".away", lib)
        library_goes_away(lib, m, away, back,
                          [lib, "No such file or directory"])
    finally:
        m.unmount()


class NoDacMount(Mount):
    """partsfs without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: as root,
    permissions stop nothing, so the daemon (and its engines) run as root
    without the capabilities that let root ignore them, as a user's
    daemon would."""

    def __init__(self, library, *opts, **kw):
        wrapper = os.path.join(TMP, "partsfs-nodac")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec setpriv --inh-caps=-dac_override,"
                    "-dac_read_search --bounding-set=-dac_override,"
                    "-dac_read_search %s \"$@\"\n" % mountlib.PARTSFS)
        os.chmod(wrapper, 0o755)
        real = mountlib.PARTSFS
        mountlib.PARTSFS = wrapper
        try:
            super().__init__(library, *opts, **kw)
        finally:
            mountlib.PARTSFS = real
        with open("/proc/%d/status" % self.proc.pid) as f:
            eff = [l for l in f if l.startswith("CapEff:")][0]
        check(not int(eff.split()[1], 16) & 0x6,
              "partsfs still has the DAC capabilities: " + eff)


@test
def a_library_data_directory_made_unreadable_is_reported_then_served_again():
    lib = fake_library(os.path.join(TMP, "libnoread"))
    data = os.path.join(lib, "data")
    m = NoDacMount(lib)
    try:
        def away():
            os.chmod(data, 0)

        def back():
            add_pin(lib)
            os.chmod(data, 0o755)
        library_goes_away(lib, m, away, back, [data, "Permission denied"])
    finally:
        os.chmod(data, 0o755)
        m.unmount()


@test
def a_library_root_made_unreadable_is_reported_then_served_again():
    lib = fake_library(os.path.join(TMP, "libnoroot"))
    m = NoDacMount(lib)
    try:
        def away():
            os.chmod(lib, 0)

        def back():
            os.chmod(lib, 0o755)
            add_pin(lib)
        library_goes_away(lib, m, away, back, [lib, "Permission denied"])
    finally:
        os.chmod(lib, 0o755)
        m.unmount()


if __name__ == "__main__":
    failed = run_tests()
    if ENGINES is not None:
        ENGINES.unmount()
    sys.exit(1 if failed else 0)
