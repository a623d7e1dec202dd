#!/usr/bin/env python3
# reload.py -- live reloading through a real mount: an edit reads again the
# collection its events name and no other, the kernel keeps what it holds
# of the collections that did not change and forgets what it holds of
# those that did (or went), an editor's save by rename loads once, a
# database directory made after mounting is watched, and events lost to an
# overflow of inotify's queue fall back to a rescan of every collection.
# TAP output; needs root and /dev/fuse (mountlib.py).

import os
import re
import signal
import time

import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mountlib import *  # noqa: E402,F401,F403

in_private_namespace(__file__)

RELOADED = re.compile(r"library reloaded in [0-9.]+ ms: (\d+) collections "
                      r"\((\d+) read again\)[^\n]*")


def collection(cid, classes=("rod",), extra=""):
    """The text of collection `cid`: one class <cid>_<name> per name of
    `classes` (json only: no engine needed)."""
    text = ("id: %s\nauthor: t <t@example.org>\nlicense: MIT <x>\n"
            "blt-version: 0.4\nclasses:\n" % cid)
    for c in classes:
        text += ("  - id: %s_%s\n"
                 "    names: {name: %s %s, labeling: '%s %%(l)s'}\n"
                 "    parameters: {free: [l], defaults: {l: 1}, "
                 "types: {l: Length (mm)}}\n"
                 "    source: test\n" % (cid, c, c.title(), cid.upper(),
                                         c.title()))
    return text + extra


def library(name, ids=("c1", "c2", "c3")):
    root = os.path.join(TMP, name)
    os.makedirs(os.path.join(root, "data"))
    for cid in ids:
        write_blt(root, cid, collection(cid))
    # past the coarse clock's tick: files written in the tick the mount
    # loads them in are loaded again once it serves (a reload the tests
    # would count)
    time.sleep(0.05)
    return root


def write_blt(root, cid, text):
    """Write data/<cid>.blt in place (one close: one event)."""
    with open(os.path.join(root, "data", cid + ".blt"), "w") as f:
        f.write(text)


def reloads(m):
    """The reloads the mount logged: (collections, read again, line)."""
    return [(int(g.group(1)), int(g.group(2)), g.group(0))
            for g in RELOADED.finditer(m.log())]


def next_reload(m, seen, timeout=5.0):
    """Wait for reload number seen + 1 in the log: its (collections, read
    again, line)."""
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        r = reloads(m)
        if len(r) > seen:
            return r[seen]
        time.sleep(0.005)
    raise Failed("no reload %d in the log after %g s:\n%s" % (
        seen + 1, timeout * SLOW, m.log()[-2000:]))


def requests(text):
    """The FUSE requests of a debug log: (opcode, nodeid)."""
    return re.findall(r"opcode: (\w+) \(\d+\), nodeid: (\d+)", text)


@test
def an_edit_reads_again_only_the_collection_its_events_name():
    lib = library("only")
    m = Mount(lib)
    try:
        check("c2_rod" in os.listdir(m.path("c2")), "c2 served")
        write_blt(lib, "c2", collection("c2", ("rod", "pin")))
        colls, read_again, line = next_reload(m, 0)
        eq(colls, 3, "collections")
        eq(read_again, 1, "collections read again")
        check("the files of 1 collection looked at" in line,
              "only the collection of the event is looked at: " + line)
        check("c2_pin" in os.listdir(m.path("c2")), "the new class")
        # a file of no collection changes nothing, and loads nothing
        with open(os.path.join(lib, "data", "notes.txt"), "w") as f:
            f.write("not a collection\n")
        time.sleep(0.3 * SLOW)
        eq(len(reloads(m)), 1, "reloads after a file of no collection")
    finally:
        m.unmount()


@test
def the_kernel_keeps_what_it_holds_of_the_collections_an_edit_left():
    # With the debug log, every request the kernel sends is in it: after
    # an edit of c2, a stat of a path in c1 (looked up a moment before,
    # within the entry and attribute timeout of a second) sends nothing,
    # and one of a path in c2 is looked up again.
    lib = library("keeps")
    m = Mount(lib, "debug")
    try:
        c1 = m.path("c1", "c1_rod", "default.json")
        c2 = m.path("c2", "c2_rod", "default.json")
        seen = 0
        for attempt in range(5):
            t0 = time.monotonic()
            os.stat(c1)
            os.stat(c2)
            write_blt(lib, "c2", collection("c2", ("rod", "pin%d" % attempt)))
            next_reload(m, seen)
            seen += 1
            if time.monotonic() - t0 > 0.6:
                continue        # the kernel may have let them go by now
            mark = len(m.log())
            os.stat(c1)
            kept = requests(m.log()[mark:])
            mark = len(m.log())
            os.stat(c2)
            again = requests(m.log()[mark:])
            if time.monotonic() - t0 > 0.9:
                continue
            # the kernel's forgets come when it pleases (those of c2's
            # nodes invalidated by the reload, say): they ask nothing
            eq([r for r in kept if (r[0] != "GETATTR" or r[1] != "1") and
                r[0] not in ("FORGET", "BATCH_FORGET")], [],
               "requests for a path of the collection left as it was")
            check(("LOOKUP", "1") in again,
                  "the edited collection looked up again: %s" % again)
            return
        raise Failed("no edit was reloaded within 0.6 s of the stats")
    finally:
        m.unmount()


@test
def a_deleted_collection_goes_with_what_the_kernel_held_of_it():
    lib = library("deleted")
    m = Mount(lib)
    try:
        part = m.path("c3", "c3_rod", "default.json")
        os.stat(part)
        os.stat(m.path("c3.json"))
        os.unlink(os.path.join(lib, "data", "c3.blt"))
        colls, read_again, _ = next_reload(m, 0)
        eq(colls, 2, "collections after the deletion")
        # the reload is logged once the kernel was told
        check(not os.path.exists(part), "a part of the collection gone")
        check(not os.path.exists(m.path("c3.json")), "its description")
        check("c3" not in os.listdir(m.path()), "listed at the root")
        check("c1_rod" in os.listdir(m.path("c1")), "the others stay")
        # and it comes back
        write_blt(lib, "c3", collection("c3"))
        next_reload(m, 1)
        check(os.path.exists(part), "the collection back")
    finally:
        m.unmount()


@test
def an_editors_save_by_rename_loads_the_collection_once():
    lib = library("editor")
    m = Mount(lib)
    try:
        data = os.path.join(lib, "data")
        blt = os.path.join(data, "c2.blt")
        # written beside and renamed over
        with open(blt + ".tmp", "w") as f:
            f.write(collection("c2", ("rod", "pin")))
        os.rename(blt + ".tmp", blt)
        next_reload(m, 0)
        check("c2_pin" in os.listdir(m.path("c2")), "the first save")
        # the old file moved away to a backup, the new one written a
        # moment later, the backup removed (vim's default)
        os.rename(blt, blt + "~")
        time.sleep(0.02)
        with open(blt, "w") as f:
            f.write(collection("c2", ("rod", "peg")))
        os.unlink(blt + "~")
        colls, _, _ = next_reload(m, 1)
        eq(colls, 3, "collections after the second save")
        check("c2_peg" in os.listdir(m.path("c2")), "the second save")
        time.sleep(0.4 * SLOW)
        got = reloads(m)
        eq(len(got), 2, "reloads for two saves:\n" +
           "\n".join(r[2] for r in got))
    finally:
        m.unmount()


@test
def a_database_directory_made_after_mounting_is_watched():
    # the fake engine's collection, its database directory fake/fake and
    # the command executor's fake/ made once the mount serves: an edit of
    # its script there is seen (the part is to be made again)
    lib = library("newdb", ("c1",))
    m = Mount(lib, "sandbox=off")
    try:
        fake_library(lib)
        p = m.path("fake", "rod", "size=2.stl")
        wait_until(lambda: os.path.exists(p), "the new collection", 5 * SLOW)
        read(p)
        eq(os.getxattr(p, "user.partsfs.cached"), b"yes", "made")
        with open(os.path.join(lib, "fake", "fake", "rod.txt"), "w") as f:
            f.write("rod script 2\n")
        wait_until(lambda: os.getxattr(p, "user.partsfs.cached") == b"no",
                   "the edit of the script", 5 * SLOW)
    finally:
        m.unmount()


@test
def a_rescan_that_finds_nothing_changed_still_follows_linked_files():
    # data/c1.blt links to shared/c1.blt: its edits are events of
    # shared/, known to be c1's by the index of the collections' files.
    # A change of the root's mode makes the watcher look at every file
    # again (a rescan, as after lost events); when nothing changed, the
    # index must still be there for the next edit of the linked file.
    lib = library("rescanlink")
    shared = os.path.join(lib, "shared")
    os.makedirs(shared)
    os.rename(os.path.join(lib, "data", "c1.blt"),
              os.path.join(shared, "c1.blt"))
    os.symlink("../shared/c1.blt", os.path.join(lib, "data", "c1.blt"))
    time.sleep(0.05)
    m = Mount(lib, "debug")
    try:
        check("c1_rod" in os.listdir(m.path("c1")), "the linked .blt")
        os.chmod(lib, os.stat(lib).st_mode)
        wait_until(lambda: "library not reloaded: no collection changed"
                   in m.log(), "the rescan", 5 * SLOW)
        seen = len(reloads(m))
        with open(os.path.join(shared, "c1.blt"), "w") as f:
            f.write(collection("c1", ("rod", "after")))
        _, read_again, line = next_reload(m, seen)
        eq(read_again, 1, "collections read again: " + line)
        check("c1_after" in os.listdir(m.path("c1")),
              "the edit of the linked file after the rescan")
    finally:
        m.unmount()


def max_queued_events():
    try:
        with open("/proc/sys/fs/inotify/max_queued_events") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def state(pid):
    """The state letter of process `pid` (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rpartition(")")[2].split()[0]


@test
def events_lost_to_an_overflow_fall_back_to_a_rescan_of_every_collection():
    # The daemon stopped, more events than inotify queues, then an edit
    # of c3 whose event is lost: once it goes on, the overflow makes it
    # look at every collection's files, and c3's edit shows.
    limit = max_queued_events()
    if limit is None or limit > 200000:
        raise Skip("inotify's queue holds %s events: too many to fill"
                   % limit)
    lib = library("overflow")
    m = Mount(lib)
    stopped = False
    try:
        check("c3_rod" in os.listdir(m.path("c3")), "c3 served")
        time.sleep(0.2 * SLOW)
        a = os.path.join(lib, "data", "a.txt")
        b = os.path.join(lib, "data", "b.txt")
        for p in (a, b):
            open(p, "w").close()
        time.sleep(0.2 * SLOW)
        seen = len(reloads(m))
        os.kill(m.proc.pid, signal.SIGSTOP)
        stopped = True
        wait_until(lambda: state(m.proc.pid) == "T", "the daemon stopped")
        # two names in turn: the kernel merges an event only with the
        # same one just before it
        for i in range(limit + 100):
            os.utime(a)
            os.utime(b)
        write_blt(lib, "c3", collection("c3", ("rod", "lost")))
        os.kill(m.proc.pid, signal.SIGCONT)
        stopped = False
        _, read_again, line = next_reload(m, seen, 10.0)
        check("every collection" in line, "a rescan: %s\n%s" % (
            line, m.log()[-3000:]))
        eq(read_again, 1, "collections read again")
        seen += 1
        check("c3_lost" in os.listdir(m.path("c3")), "the edit whose event "
              "was lost")
        # and the events are followed again after it
        write_blt(lib, "c1", collection("c1", ("rod", "after")))
        _, _, line = next_reload(m, seen)
        check("the files of 1 collection looked at" in line,
              "events again: " + line)
        check("c1_after" in os.listdir(m.path("c1")), "the next edit")
    finally:
        if stopped:
            os.kill(m.proc.pid, signal.SIGCONT)
        m.unmount()


if __name__ == "__main__":
    sys.exit(1 if run_tests() else 0)
