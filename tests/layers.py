#!/usr/bin/env python3
# layers.py -- the source tree is the layer diagram: every object file of
# the core uses only what the files listed before it in src/LAYERS
# define, a front end only its own files and the layers it names, and the
# header of each file of the core declares exactly what that file
# defines.  Read from the object files of the build with nm.
import os
import re
import subprocess
import sys

TOP_SRC = os.environ.get("top_srcdir",
                         os.path.join(os.path.dirname(__file__), ".."))
TOP_BUILD = os.environ.get("top_builddir", TOP_SRC)

points = []


def point(name, problems):
    points.append((name, problems))


def read_layers(path):
    """[(kind, name, allowed, [files])] in the order of the file."""
    groups = []
    text = re.sub(r"#[^\n]*", "", open(path).read())
    head = re.compile(r"\b(layer|front)\s+([a-z]+)\s*(\(([^)]*)\))?\s*:")
    pos = 0
    matches = list(head.finditer(text))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        files = text[m.end():end].split()
        allowed = m.group(4).split() if m.group(4) else []
        groups.append((m.group(1), m.group(2), allowed, files))
        pos = end
    return groups


def nm(obj, args):
    out = subprocess.run(["nm"] + args + [obj], capture_output=True,
                         text=True, check=True).stdout
    syms = set()
    for line in out.splitlines():
        parts = line.split()
        # the sanitizers' own symbols (ASan's one-definition-rule
        # markers of globals, __odr_asan.NAME; calls into the runtimes)
        if not parts or parts[-1].startswith(("__odr_asan", "__asan_",
                                              "__ubsan_", "__sanitizer")):
            continue
        syms.add(parts[-1])
    return syms


def header_declarations(path):
    """Names of the functions and variables a header declares."""
    text = open(path).read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"^\s*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)
    names = set()
    depth = 0
    stmt = ""
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                stmt = ""       # a struct, union or enum body ends
            continue
        if depth > 0:
            continue
        if ch == ";":
            s = " ".join(stmt.split())
            stmt = ""
            if not s or s.startswith(("typedef", "struct ", "enum ",
                                      "union ")) and "(" not in s:
                continue
            if s.startswith("typedef") or s.startswith("static inline"):
                continue
            m = re.match(r"[^(]*?\b([A-Za-z_]\w*)\s*\((?!\s*\*)", s)
            if m and not re.search(r"\(\s*\*\s*" + m.group(1), s):
                names.add(m.group(1))
                continue
            m = re.search(r"\b([A-Za-z_]\w*)\s*(\[[^]]*\])?\s*$", s)
            if m and s.startswith("extern"):
                names.add(m.group(1))
            continue
        stmt += ch
    return names


def main():
    groups = read_layers(os.path.join(TOP_SRC, "src", "LAYERS"))
    rank, group_of, defs, undef = {}, {}, {}, {}
    missing = []
    for kind, name, allowed, files in groups:
        for f in files:
            rank[f] = len(rank)
            group_of[f] = (kind, name, allowed)
            obj = os.path.join(TOP_BUILD, f + ".o")
            if not os.path.exists(obj):
                missing.append(f)
                continue
            defs[f] = nm(obj, ["-g", "--defined-only"])
            undef[f] = nm(obj, ["-u"])
    point("every file of src/LAYERS is built", [
        "%s.o is not in the build tree" % f for f in missing])

    # every object file of the programs is in a layer
    unplaced = []
    for sub in ("src", "compat"):
        for dirpath, _, names in os.walk(os.path.join(TOP_BUILD, sub)):
            for n in names:
                if not n.endswith(".o") or "-" in n and "_" in n:
                    continue    # per-target objects (partsfs_convert-...)
                rel = os.path.relpath(os.path.join(dirpath, n[:-2]),
                                      TOP_BUILD)
                if rel.startswith("src/libexec/"):
                    continue    # programs engines run, not partsfs
                if not os.path.exists(os.path.join(TOP_SRC, rel + ".c")):
                    continue    # left over from an older tree
                if rel not in rank:
                    unplaced.append(rel)
    point("every object file of partsfs is in a layer", [
        "%s is in no layer of src/LAYERS" % f for f in sorted(unplaced)])

    owner = {}
    for f, syms in defs.items():
        for s in syms:
            owner[s] = f
    for kind, name, allowed, files in groups:
        for f in files:
            if f not in undef:
                continue
            problems = []
            for s in sorted(undef[f]):
                g = owner.get(s)
                if g is None or g == f:
                    continue
                gkind, gname, _ = group_of[g]
                if kind == "layer":
                    if gkind == "front":
                        problems.append("uses %s of the front end %s (%s)"
                                        % (s, gname, g))
                    elif rank[g] > rank[f]:
                        problems.append("uses %s of %s, listed after it"
                                        % (s, g))
                else:
                    if gkind == "front" and gname != name:
                        problems.append("uses %s of the front end %s (%s)"
                                        % (s, gname, g))
                    elif gkind == "layer" and gname not in allowed:
                        problems.append("uses %s of %s: the %s layer is "
                                        "not one %s calls" %
                                        (s, g, gname, name))
            point("%s calls only downwards" % f, problems)

    # headers declare what their own file defines, and nothing else; what
    # the files of a layer share among themselves only is declared in the
    # layer's src/<layer>/internal.h
    for kind, name, allowed, files in groups:
        if kind != "layer":
            continue
        internal = os.path.join(TOP_SRC, "src", name, "internal.h")
        shared = set()
        if os.path.exists(internal):
            shared = header_declarations(internal)
            layer_defs = set()
            for f in files:
                layer_defs |= defs.get(f, set())
            point("src/%s/internal.h declares only what the %s layer "
                  "defines" % (name, name), [
                      "it declares %s, defined by no file of the layer" % s
                      for s in sorted(shared - layer_defs)])
        for f in files:
            if not f.startswith("src/") or f not in defs:
                continue
            layer, base = f.split("/")[1:]
            header = os.path.join(TOP_SRC, "include", "partsfs", layer,
                                  base + ".h")
            problems = []
            declared = set()
            if os.path.exists(header):
                declared = header_declarations(header)
            for s in sorted(declared - defs[f]):
                problems.append("%s declares %s, which %s.c does not "
                                "define" % (os.path.relpath(header, TOP_SRC),
                                            s, f))
            for s in sorted(declared & shared):
                problems.append("%s is declared both in %s and in the "
                                "layer's internal.h" % (
                                    s, os.path.relpath(header, TOP_SRC)))
            for s in sorted(defs[f] - declared - shared):
                problems.append("%s.c defines %s, which its header does "
                                "not declare" % (f, s))
            point("include/partsfs/%s/%s.h declares what %s.c defines" %
                  (layer, base, f), problems)

    print("1..%d" % len(points))
    failed = 0
    for i, (name, problems) in enumerate(points, 1):
        if problems:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for p in problems:
                print("# " + p)
        else:
            print("ok %d - %s" % (i, name))
    return 1 if failed else 0


sys.exit(main())
