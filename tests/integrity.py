#!/usr/bin/env python3
# integrity.py -- partsfs mounted for real against what wears its cache
# down: a flood of distinct failing names (the index keeps within its
# bound, the daemon serves on, its memory stays flat), and cache files
# changed on disk behind its back (never served, by the mount or by
# partsctl get; the part is made again).  TAP output; needs root and
# /dev/fuse.

import errno
import glob
import os
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mountlib import *  # noqa: E402,F401,F403

# a namespace of its own, as mount.py says why
in_private_namespace(__file__)

# The whole flood (PARTSFS_TEST_FULL, as .ci/run sets it): 12288 names
# (three times the bound; 30000 took 15 of CI's 45 minutes) into a cache
# of the default size limit (1 GiB), which keeps 4096 failures at most.  The quick one of make check: 3000 names into a cache of 64 MiB,
# which keeps 409, one per 160 KiB of its limit (partsfs.conf(5)).
FULL = os.environ.get("PARTSFS_TEST_FULL", "") not in ("", "0") and \
    SLOW == 1
CACHE_MAX = 1024 if FULL else 64                  # MiB
FAILURES_MAX = max(64, min(4096, CACHE_MAX * 1024 // 160))


def index_rows(cache, table):
    db = sqlite3.connect(os.path.join(cache, "index.sqlite"), timeout=10)
    try:
        return db.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
    finally:
        db.close()


def blob_of(cache):
    blobs = glob.glob(os.path.join(cache, "blobs", "*", "*.stl"))
    eq(len(blobs), 1, "cache files")
    return blobs[0]


def spoil(blob, how):
    """Change a cache file behind partsfs's back: a byte flipped in place,
    or bytes appended.  Cache files are read-only: a careless hand (or
    root) writes anyway."""
    os.chmod(blob, 0o644)
    with open(blob, "r+b") as f:
        if how == "flip":
            f.seek(100)
            b = f.read(1)
            f.seek(100)
            f.write(bytes([b[0] ^ 0xff]))
        else:
            f.seek(0, os.SEEK_END)
            f.write(b"appended")


# --- a flood of failing names ------------------------------------------------

@test
def a_flood_of_failing_names_keeps_the_index_bounded_and_memory_flat():
    lib = fake_classes(os.path.join(TMP, "libflood"), {
        "bad": {"mode": "fail"}, "good": {}})
    blt = os.path.join(lib, "data", "fake.blt")
    # failures remembered an hour: none expires during the flood, however
    # slow, and only the bound keeps their number down
    m = Mount(lib, "jobs=4", "negative_ttl=3600", "cache_max=%dM" % CACHE_MAX)
    stop = threading.Event()
    seen = {"good": 0, "most": 0, "errors": []}

    def watcher():
        # the daemon serves a good part all along, and the index never
        # holds more failures than its bound
        while not stop.is_set():
            try:
                data = read(m.path("fake/good/size=2.stl"))
                check_box(data, 2, "the good part")
                seen["good"] += 1
                seen["most"] = max(seen["most"],
                                   index_rows(m.cache, "failures"))
            except Exception as e:
                seen["errors"].append("%s: %s" % (type(e).__name__, e))
                return
            time.sleep(0.05)

    def flood(names):
        for n in names:
            try:
                read(m.path("fake/bad/size=%d.stl" % n))
                seen["errors"].append("size=%d read" % n)
                return
            except OSError as e:
                if e.errno != errno.EIO:
                    seen["errors"].append("size=%d: %s" % (n, e))
                    return

    def forget():
        # The kernel keeps an inode for every name looked up until it
        # needs the memory, and the daemon one for each it keeps: a live
        # edit of the library makes it forget them, so that what the
        # daemon keeps of its own shows.
        with open(blt, "a") as f:
            f.write("# forget %d\n" % time.monotonic_ns())
        wait_until(lambda: m.stats()["inodes"] < 50, "inodes forgotten",
                   10 * SLOW)

    # three times the bound or more; under a sanitizer or valgrind
    # (PARTSFS_TEST_SLOW), memory is theirs to judge
    total = 3 * FAILURES_MAX if FULL else 3000
    step, readers = total // 15, 4
    measured = SLOW == 1 and not WRAPPER and \
        "ASAN_OPTIONS" not in os.environ
    rss = []
    w = threading.Thread(target=watcher)
    w.start()
    try:
        t0 = time.monotonic()
        for lo in range(1, total + 1, step):
            ts = [threading.Thread(target=flood, args=(range(
                lo + k, lo + step, readers),)) for k in range(readers)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            check(not seen["errors"], "; ".join(seen["errors"][:5]))
            check(m.proc.poll() is None, "partsfs exited")
            seen["most"] = max(seen["most"], index_rows(m.cache, "failures"))
            forget()
            rss.append(vmrss_kib(m.proc.pid))
        took = time.monotonic() - t0
    finally:
        stop.set()
        w.join()
    try:
        check(not seen["errors"], "; ".join(seen["errors"][:5]))
        print("# %d failing names in %.0f s; failures in the index at most "
              "%d; the good part read %d times meanwhile" % (
                  total, took, seen["most"], seen["good"]))
        print("# VmRSS (KiB) every %d names: %s" % (step, rss))
        check(seen["most"] <= FAILURES_MAX, "%d failures in the index, "
              "past the bound of %d" % (seen["most"], FAILURES_MAX))
        check(seen["most"] >= FAILURES_MAX * 7 // 8, "the flood did not "
              "reach the bound: %d" % seen["most"])
        check(seen["good"] > 10, "the good part was read %d times" %
              seen["good"])
        check_box(read(m.path("fake/good/size=2.stl")), 2, "the good part")
        # once the index is full (and sqlite's page cache with it), the
        # daemon's memory holds
        grew = rss[-1] - rss[4]
        check(grew < 4096 or not measured, "VmRSS grew by %d KiB over the "
              "last %d names" % (grew, total - 5 * step))
    finally:
        m.unmount()


# --- cache files changed on disk ---------------------------------------------

def changed_file_is_never_served_by_the_mount(how):
    counter = os.path.join(TMP, "runs-mount-" + how)
    lib = fake_library(os.path.join(TMP, "libmount-" + how), counter=counter)
    p = ("fake", "rod", "size=3.stl")
    # the engine counts its runs in a file of the tests: unsandboxed
    m = Mount(lib, "sandbox=off")
    cache = m.cache
    try:
        good = read(m.path(*p))
        check_box(good, 3, "the part")
        eq(count_lines(counter), 1, "engine runs")
        # changed while the daemon runs: its next open checks the file
        # again (its ctime changed), and the part is made again
        spoil(blob_of(cache), how)
        data = read(m.path(*p))
        eq(data, good, "the part read again")
        eq(count_lines(counter), 2, "engine runs")
        check("the part will be made again" in m.log(), m.log()[-2000:])
    finally:
        m.unmount()
    # changed while no daemon runs: the next one has never checked it, and
    # the kernel has none of its pages
    spoil(blob_of(cache), how)
    m = Mount(lib, "sandbox=off", cache=cache)
    try:
        eq(os.stat(m.path(*p)).st_size in (0, 684), True, "size")
        data = read(m.path(*p))
        eq(data, good, "the part read by a new daemon")
        eq(count_lines(counter), 3, "engine runs")
        # one per key: the last one changed
        eq(len(os.listdir(os.path.join(cache, "damaged"))), 1,
           "files set aside")
        eq(open(blob_of(cache), "rb").read(), good, "the cache file")
        eq(os.stat(blob_of(cache)).st_mode & 0o7777, 0o444, "its mode")
    finally:
        m.unmount()


@test
def a_cache_file_with_a_byte_flipped_is_never_served_by_the_mount():
    changed_file_is_never_served_by_the_mount("flip")


@test
def a_cache_file_grown_is_never_served_by_the_mount():
    changed_file_is_never_served_by_the_mount("grow")


def changed_file_is_never_served_by_get(how):
    counter = os.path.join(TMP, "runs-get-" + how)
    lib = fake_library(os.path.join(TMP, "libget-" + how), counter=counter)
    cache = os.path.join(TMP, "cache-get-" + how)
    conf = os.path.join(TMP, "get-%s.conf" % how)
    write_conf(conf, cache, extra="jobs:\n  sandbox: off\n")
    out = os.path.join(TMP, "out-%s.stl" % how)
    env = dict(ENV, PARTSFS_DEBUG="1")
    # a library changed in the last two seconds is not remembered (see
    # tests/memo.sh): what it resolves to must be, for a get without the
    # index
    time.sleep(2.2)

    def get():
        if os.path.exists(out):
            os.unlink(out)
        p = subprocess.run([PARTSCTL, "get", lib, "fake/rod/size=4.stl",
                            "-o", out, "-c", conf], env=env,
                           capture_output=True, text=True)
        eq(p.returncode, 0, "partsctl get: " + p.stderr[-2000:])
        return open(out, "rb").read(), p.stderr

    good, _ = get()
    check_box(good, 4, "the part")
    # the next gets find it through the index, then without it (the
    # memo files, which the first of them writes)
    get()
    data, err = get()
    eq(data, good, "the part got again")
    check("without the index" in err, "not got without the index: " +
          err[-2000:])
    eq(count_lines(counter), 1, "engine runs")

    # changed: a get without the index refuses it, one through the index
    # sets it aside, and the part is made again
    spoil(blob_of(cache), how)
    data, err = get()
    eq(data, good, "the part got after the change")
    eq(count_lines(counter), 2, "engine runs")
    check("the part will be made again" in err, err[-2000:])

    # and again, through the index (the memo files of a part just made
    # do not say its hash)
    spoil(blob_of(cache), how)
    data, err = get()
    eq(data, good, "the part got after the second change")
    eq(count_lines(counter), 3, "engine runs")
    check("without the index" not in err, err[-2000:])


@test
def a_cache_file_with_a_byte_flipped_is_never_served_by_partsctl_get():
    changed_file_is_never_served_by_get("flip")


@test
def a_cache_file_grown_is_never_served_by_partsctl_get():
    changed_file_is_never_served_by_get("grow")


if __name__ == "__main__":
    sys.exit(1 if run_tests() else 0)
