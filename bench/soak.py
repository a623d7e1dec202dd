# soak.py -- the soak benchmark (issue 5): bench/soak runs many threads of
# random lookups, listings and reads across a mounted copy of the bundled
# library while makers have parts of a fake class made, for minutes;
# throughput, p50/p99 latency and the daemon's RSS are printed every
# interval, and the RSS must stay flat.  Not part of `make bench` or CI.
#
# usage: python3 bench/soak.py BUILD-DIR SOURCE-DIR [SECONDS]  (make soak)
# SOAK_READERS (default 8), SOAK_MAKERS (default 2), SOAK_INTERVAL
# (default 10 s), SOAK_HOT (default 64: the parts readers read, which stay
# cached), SOAK_RANGE (default 1000: makers make parts HOT+1..RANGE) and
# SOAK_CACHE (default 64K: the cache limit, so those are evicted and made
# again) tune it.  Needs root, /dev/fuse and fusermount3.

import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True

from benchlib import main_args, which

B = main_args()
SECONDS = int(sys.argv[3]) if len(sys.argv) > 3 else 300
READERS = os.environ.get("SOAK_READERS", "8")
MAKERS = os.environ.get("SOAK_MAKERS", "2")
INTERVAL = os.environ.get("SOAK_INTERVAL", "10")
HOT = os.environ.get("SOAK_HOT", "64")
RANGE = os.environ.get("SOAK_RANGE", "1000")
CACHE = os.environ.get("SOAK_CACHE", "64K")


def library():
    """The bundled library and one more collection, `fake`: class rod,
    made at once by tests/fake-engine (a small STEP file)."""
    root = os.path.join(B.tmp("soak"), "library")
    shutil.copytree(B.library, root)
    conf = B.fake_rod(root, "      free: [size]\n"
                      "      defaults: {size: 100}\n"
                      "      types: {size: Length (mm)}\n",
                      "cache:\n  max-size: %s\n" % CACHE)
    return root, conf


def main():
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse") or \
            which("fusermount3") is None:
        B.say("soak skipped: it needs root, /dev/fuse and fusermount3")
        return 0
    soak = os.path.join(B.build, "bench", "soak")
    lib, conf = library()
    cache = B.tmp("cache")
    B.say("soak benchmark: %s s, %s readers, %s makers, cache limit %s, "
          "load average %s" % (SECONDS, READERS, MAKERS, CACHE,
                               open("/proc/loadavg").read().split()[0]))
    with B.mount_partsfs(lib, cache, config=conf) as m:
        argv = [soak, "-t", READERS, "-m", MAKERS, "-d", str(SECONDS),
                "-i", INTERVAL, "-h", HOT, "-r", RANGE, "-p", str(m.proc.pid),
                "-c", "fake/rod", m.dir]
        B.say("  " + B.show(argv, subs=((m.dir, "$MNT"),)))
        p = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        text = p.stdout.decode(errors="replace")
        for line in text.splitlines():
            B.say("  " + line)
        alive = m.proc.poll() is None
    flat = "RSS flat: yes" in text
    B.record("S5", "soak %d s: no error, daemon alive, RSS flat" % SECONDS,
             "exit %d, %s" % (p.returncode, "flat" if flat else "grew"),
             p.returncode == 0 and alive and flat)
    if not alive:
        B.say("  the daemon died during the soak")
    return 0 if p.returncode == 0 and alive and flat else 1


sys.exit(main())
