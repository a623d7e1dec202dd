#!/usr/bin/env python3
# bolts_baseline.py -- the baseline of bench-load: a BOLTS library loaded
# the way the BOLTS project's own Python tools do it (bolttools: PyYAML's
# SafeLoader for every .blt and .base file, an !include constructor for
# tables, then the Parameters step: type checks, table cell conversion,
# Table Index choices, defaults, common combinations), followed by
# collecting every combination of the discrete free parameters.  Written
# for partsfs from the behaviour of those tools; it prints the time spent
# loading and resolving, in seconds, and the number of combinations.
import glob
import math
import os
import re
import sys
import time

import yaml

TYPES = ["Length (mm)", "Length (in)", "Number", "Bool", "Table Index",
         "String", "Angle (deg)"]
TYPE_DEFAULT = {"Length (mm)": 10, "Length (in)": 1, "Number": 1,
                "Bool": False, "Table Index": "", "String": "",
                "Angle (deg)": 0}
NUMERIC = ("Length (mm)", "Length (in)", "Number", "Angle (deg)")
BAD_KEY_CHARS = set('\\/?*:|"\'<>\t\n\r')
NUMBER_RE = re.compile(r"[^0-9]*([0-9]+\.*[0-9]*)[^0-9]?.*$")


def make_loader(datadir):
    class Loader(yaml.SafeLoader):
        pass

    def include(loader, node):
        with open(os.path.join(datadir, loader.construct_scalar(node))) as f:
            return yaml.load(f, Loader=Loader)

    Loader.add_constructor("!include", include)
    return Loader


def as_list(x):
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def convert(pname, tname, value):
    if tname not in TYPES:
        raise ValueError("unknown type %s" % tname)
    if value == "None" or value is None:
        return None
    if tname in NUMERIC:
        value = float(value)
        if tname.startswith("Length") and value < 0:
            raise ValueError("negative length for %s" % pname)
        if tname == "Angle (deg)" and abs(value) > 360:
            raise ValueError("angle out of range for %s" % pname)
    elif tname == "Bool":
        if value not in (True, False, "true", "false"):
            raise ValueError("bad bool for %s" % pname)
        value = value in (True, "true")
    return value


def sort_choices(keys):
    keys = list(keys)
    if all(NUMBER_RE.match(k) for k in keys):
        return sorted(keys, key=lambda k: float(NUMBER_RE.match(k).group(1)))
    return sorted(keys)


class Params:
    def __init__(self, p):
        p = p or {}
        self.types = p.get("types") or {}
        self.literal = {k: convert(k, self.types[k], v)
                        for k, v in (p.get("literal") or {}).items()}
        self.free = as_list(p.get("free"))
        self.tables = as_list(p.get("tables"))
        self.tables2d = as_list(p.get("tables2d"))
        names = set(self.literal) | set(self.free)
        for t in self.tables:
            names.add(t["index"])
            names.update(t["columns"])
            for key, row in t["data"].items():
                if BAD_KEY_CHARS & set(str(key)) or len(row) != len(t["columns"]):
                    raise ValueError("bad row %s" % key)
                t["data"][key] = [convert(c, self.types[c], v)
                                  for c, v in zip(t["columns"], row)]
        for t in self.tables2d:
            names.update((t["rowindex"], t["colindex"], t["result"]))
            rtype = self.types[t["result"]]
            for key, row in t["data"].items():
                t["data"][key] = [convert(t["result"], rtype, v) for v in row]
        for n in self.types:
            if n not in names:
                raise ValueError("type for unknown parameter %s" % n)
        for n in names:
            if self.types.get(n) not in TYPES:
                raise ValueError("parameter %s has no valid type" % n)
        self.choices = {}
        for n in self.free:
            if self.types[n] != "Table Index":
                continue
            keys = None
            for t in self.tables:
                if t["index"] == n:
                    k = set(map(str, t["data"]))
                    keys = k if keys is None else keys & k
            for t in self.tables2d:
                if t["rowindex"] == n:
                    k = set(map(str, t["data"]))
                elif t["colindex"] == n:
                    k = set(t["columns"])
                else:
                    continue
                keys = k if keys is None else keys & k
            self.choices[n] = sort_choices(keys or [])
        self.defaults = {n: TYPE_DEFAULT[self.types[n]] for n in self.free}
        for n, v in (p.get("defaults") or {}).items():
            if n not in self.free:
                raise ValueError("default for non-free %s" % n)
            if self.types[n] == "Table Index" and str(v) not in self.choices[n]:
                raise ValueError("default %s not a choice" % v)
            self.defaults[n] = v
        self.common = []
        if "common" in p:
            for tup in p["common"] or []:
                self._expand(tup, [], 0)
        elif all(self.types[n] in ("Bool", "Table Index") for n in self.free):
            self._expand([":"] * len(self.free), [], 0)

    def _all(self, n):
        return [True, False] if self.types[n] == "Bool" else self.choices[n]

    def _expand(self, tup, vals, i):
        if i == len(self.free):
            self.common.append(vals)
            return
        items = self._all(self.free[i]) if tup[i] == ":" else as_list(tup[i])
        for v in items:
            self._expand(tup, vals + [v], i + 1)

    def collect(self, free):
        res = dict(self.literal)
        res.update(free)
        for t in self.tables:
            res.update(zip(t["columns"], t["data"][str(res[t["index"]])]))
        for t in self.tables2d:
            row = t["data"][str(res[t["rowindex"]])]
            res[t["result"]] = row[t["columns"].index(res[t["colindex"]])]
        return res

    def discrete_combinations(self):
        lists = []
        for n in self.free:
            if self.types[n] in ("Bool", "Table Index"):
                lists.append([(n, v) for v in self._all(n)])
            else:
                lists.append([(n, self.defaults[n])])
        out = [[]]
        for l in lists:
            out = [o + [x] for o in out for x in l]
        return [dict(o) for o in out]


def load(root):
    datadir = os.path.join(root, "data")
    loader = make_loader(datadir)
    classes = []
    for path in sorted(glob.glob(os.path.join(datadir, "*.blt"))):
        with open(path) as f:
            docs = [d for d in yaml.load_all(f, Loader=loader) if d]
        coll = docs[0]
        for cl in coll["classes"]:
            classes.append(Params(cl.get("parameters")))
    for db in ("openscad", "freecad", "drawings"):
        for path in glob.glob(os.path.join(root, db, "*", "*.base")):
            with open(path) as f:
                list(yaml.load_all(f, Loader=yaml.SafeLoader))
    return classes


def main():
    root = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    best = math.inf
    ncomb = 0
    for _ in range(runs):
        start = time.perf_counter()
        classes = load(root)
        ncomb = 0
        for c in classes:
            for free in c.discrete_combinations():
                c.collect(free)
                ncomb += 1
        best = min(best, time.perf_counter() - start)
    print("%.6f %d" % (best, ncomb))


if __name__ == "__main__":
    main()
