# genlib.py -- the generated libraries of bench/model.py (issue 21), made
# at bench time:
#   wide(root, n):  the bundled collection copied under n other ids (5
#       classes each: n = 1000 gives 5000 classes), with its OpenSCAD and
#       FreeCAD databases, every class id and safe name made unique;
#   huge(root, files, per_file):  `files` collection files of `per_file`
#       small classes each (4 x 75300: 301200 classes, four 15.5 MB .blt
#       files), no databases.
# usage alone: python3 bench/genlib.py wide|huge ROOT SOURCE-DIR [N]

import os
import re
import sys

ID_RE = re.compile(r"^(\s*-?\s*id:\s*)(\w+)\s*$")
SAFE_RE = re.compile(r"^(\s*safe:\s*)([^%\s]+)\s*$")


def _rename_blt(text, suffix):
    """A copy of the bundled bolts.blt as collection bolts<suffix>: class
    ids and safe names not holding a placeholder get the suffix."""
    out = []
    for line in text.splitlines(True):
        m = ID_RE.match(line) or SAFE_RE.match(line)
        if m:
            line = "%s%s%s\n" % (m.group(1), m.group(2), suffix)
        out.append(line)
    return "".join(out)


def _rename_base(text, suffix):
    """The same copy of a .base file: the class ids it binds."""
    return re.sub(r"classids: \[(\w+)\]",
                  lambda m: "classids: [%s%s]" % (m.group(1), suffix), text)


def wide_collection(root, src, i, extra=""):
    """Collection bolts_<i> of the wide library (written again, with
    `extra` appended to its .blt: a class added by an edit, say).
    Returns the .blt path."""
    suffix = "_%d" % i
    cid = "bolts" + suffix
    with open(os.path.join(src, "data", "bolts.blt")) as f:
        blt = _rename_blt(f.read(), suffix)
    path = os.path.join(root, "data", cid + ".blt")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(blt + extra)
    os.rename(tmp, path)
    return path


def wide(root, src, n):
    """The wide library under root (made): n copies of the bundled
    collection.  Returns the total size of its YAML files (.blt, .base)."""
    os.makedirs(os.path.join(root, "data"))
    total = 0
    bases = {}
    for db in ("openscad", "freecad"):
        with open(os.path.join(src, db, "bolts", "bolts.base")) as f:
            bases[db] = f.read()
    for i in range(n):
        total += os.path.getsize(wide_collection(root, src, i))
        cid = "bolts_%d" % i
        for db, text in bases.items():
            d = os.path.join(root, db, cid)
            os.makedirs(d)
            base = os.path.join(d, cid + ".base")
            with open(base, "w") as f:
                f.write(_rename_base(text, "_%d" % i))
            total += os.path.getsize(base)
            for name in os.listdir(os.path.join(src, db, "bolts")):
                if not name.endswith(".base"):
                    os.symlink(os.path.join("..", "..", "shared", db,
                                            name), os.path.join(d, name))
    # the module files, once, shared by every copy through links inside
    # the library
    for db in bases:
        d = os.path.join(root, "shared", db)
        os.makedirs(d)
        for name in os.listdir(os.path.join(src, db, "bolts")):
            if not name.endswith(".base"):
                with open(os.path.join(src, db, "bolts", name), "rb") as i, \
                        open(os.path.join(d, name), "wb") as o:
                    o.write(i.read())
    return total


HUGE_HEAD = """# a generated collection of partsfs's memory benchmark
id: huge{f}
name: Generated parts {f}
author: partsfs benchmarks <bench@example.invalid>
license: MIT <http://opensource.org/licenses/MIT>
blt-version: 0.4
classes:
"""

HUGE_CLASS = """  - id: p{f}_{i:06d}
    names: {{name: Part {f}-{i:06d}, labeling: 'Part {f}-{i} %(length)s'}}
    parameters: {{free: [length], defaults: {{length: {l}}}, types: {{length: Length (mm)}}}}
    source: generated
"""


def huge(root, files=4, per_file=75300):
    """The huge library under root (made).  Returns the total size of its
    YAML files."""
    os.makedirs(os.path.join(root, "data"))
    total = 0
    for f in range(files):
        path = os.path.join(root, "data", "huge%d.blt" % f)
        with open(path, "w") as out:
            out.write(HUGE_HEAD.format(f=f))
            for i in range(per_file):
                out.write(HUGE_CLASS.format(f=f, i=i, l=10 + i % 90))
        total += os.path.getsize(path)
    return total


if __name__ == "__main__":
    kind, root, src = sys.argv[1], sys.argv[2], sys.argv[3]
    if kind == "wide":
        print(wide(root, os.path.join(src, "library"), int(sys.argv[4]) if len(sys.argv) > 4
                   else 1000))
    else:
        print(huge(root, 4, int(sys.argv[4]) if len(sys.argv) > 4
                   else 75300))
