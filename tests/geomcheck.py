# geomcheck.py -- check the geometry of one STEP or STL part file and write
# the verdict as one JSON object.
#
# Usage:
#   PARTSFS_GEOM_IN=/path/part.step PARTSFS_GEOM_OUT=/path/result.json \
#       freecadcmd /path/to/geomcheck.py
#
# Optional: PARTSFS_GEOM_TIMEOUT (seconds, default 120).  The check runs in
# a forked worker process; when it has not finished by then (or crashes) the
# parent kills it and writes a failure result, so the check never hangs.
#
# The result (written atomically to PARTSFS_GEOM_OUT, also on failure):
#   ok      true when the file was read, holds at least one solid, every
#           shell is closed and the shape is valid; false otherwise
#   error   null, or why ok is false
#   solids  number of solids (STEP) or of connected mesh components (STL)
#   closed  every shell is closed (STEP); the mesh is a closed 2-manifold
#           with no non-manifold edges or points (STL)
#   valid   shape.isValid() (STEP); for STL the mesh has consistently
#           oriented, uncorrupted, non-self-intersecting facets and a positive
#           volume, and the solid made from it is valid
#   bbox    [xmin, ymin, zmin, xmax, ymax, zmax] in mm
#   volume  in mm^3
#   labels  labels of the objects FreeCAD creates when importing the STEP
#           file (the product names); [] for STL
#   format  "step" or "stl"
# Exit status 0 whenever the result was written, 2 when it could not be.

import json
import os
import signal
import sys
import time
import traceback

IN = os.environ.get("PARTSFS_GEOM_IN")
OUT = os.environ.get("PARTSFS_GEOM_OUT")
try:
    TIMEOUT = float(os.environ.get("PARTSFS_GEOM_TIMEOUT") or 120)
except ValueError:
    TIMEOUT = 120.0

# Meshes with more facets are not also converted to a FreeCAD solid (slow).
MAX_CONVERT_FACETS = 50000


def blank():
    return {"ok": False, "error": None, "solids": 0, "closed": False,
            "valid": False, "bbox": None, "volume": None, "labels": [],
            "format": None}


def write_result(result):
    """Write result to OUT atomically (temp file + rename)."""
    tmp = "%s.tmp%d" % (OUT, os.getpid())
    with open(tmp, "w") as f:
        json.dump(result, f)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, OUT)


def checkpoint(r, stage):
    """Record the stage the worker is in, so that a crash there is reported
    with what was found so far."""
    saved = dict(r)
    saved["ok"] = False
    saved["error"] = "the check crashed while " + stage
    write_result(saved)


def bbox_list(bb):
    # + 0.0 turns -0.0 into 0.0
    return [round(v, 6) + 0.0 for v in (bb.XMin, bb.YMin, bb.ZMin,
                                        bb.XMax, bb.YMax, bb.ZMax)]


def check_step(path, r):
    import FreeCAD
    import Import
    import Part

    shape = Part.read(path)
    r["solids"] = len(shape.Solids)
    shells = shape.Shells
    r["closed"] = bool(shells) and all(sh.isClosed() for sh in shells)
    r["valid"] = bool(shape.isValid())
    # BoundBox can be loose around cones and other curved faces;
    # optimalBoundingBox() is tight (call it without arguments: with
    # arguments FreeCAD 0.20 may crash).
    try:
        bb = shape.optimalBoundingBox()
    except Exception:
        bb = shape.BoundBox
    r["bbox"] = bbox_list(bb)
    r["volume"] = round(shape.Volume, 6)

    # Labels: the objects FreeCAD makes from the file's products.  The
    # default import (into an App::LinkGroup) crashes headless on files with
    # several products, hence merge=False, useLinkGroup=False.
    checkpoint(r, "importing the labels")
    doc = FreeCAD.newDocument("geomcheck")
    Import.insert(path, doc.Name, merge=False, useLinkGroup=False)
    r["labels"] = [o.Label for o in doc.Objects
                   if o.isDerivedFrom("Part::Feature")
                   or o.TypeId in ("App::Part", "App::LinkGroup")]
    FreeCAD.closeDocument(doc.Name)

    if r["solids"] == 0:
        return "no solid in the file"
    if not r["closed"]:
        return "a shell is not closed"
    if not r["valid"]:
        return "the shape is not valid"
    return None


def check_stl(path, r):
    import Mesh
    import Part

    mesh = Mesh.Mesh(path)
    if mesh.CountFacets == 0:
        return "the mesh has no facets"
    r["solids"] = mesh.countComponents()
    r["closed"] = bool(mesh.isSolid() and not mesh.hasNonManifolds())
    r["bbox"] = bbox_list(mesh.BoundBox)
    r["volume"] = round(mesh.Volume, 6)
    valid = (not mesh.hasNonUniformOrientedFacets()
             and not mesh.hasCorruptedFacets()
             and not mesh.hasInvalidPoints()
             and not mesh.hasSelfIntersections()
             and mesh.Volume > 0)
    if valid and r["closed"] and mesh.CountFacets <= MAX_CONVERT_FACETS:
        shape = Part.Shape()
        shape.makeShapeFromMesh(mesh.Topology, 1e-6)
        solid = Part.Solid(Part.Shell(shape.Faces))
        valid = bool(solid.isValid()) and solid.Volume > 0
    r["valid"] = valid

    if not r["closed"]:
        return "the mesh is not a closed manifold"
    if not r["valid"]:
        return "the mesh is not valid"
    return None


def run_check(r):
    """Fill in r for the file IN; any failure ends up in r["error"]."""
    try:
        if not IN:
            raise ValueError("PARTSFS_GEOM_IN is not set")
        if not os.path.isfile(IN):
            raise ValueError("no such file: %s" % IN)
        ext = os.path.splitext(IN)[1].lower()
        if ext in (".step", ".stp"):
            r["format"] = "step"
            r["error"] = check_step(IN, r)
        elif ext == ".stl":
            r["format"] = "stl"
            r["error"] = check_stl(IN, r)
        else:
            raise ValueError("unknown file type %r (want .step, .stp or .stl)"
                             % ext)
    except Exception as exc:
        r["error"] = "%s: %s" % (type(exc).__name__, exc)
        traceback.print_exc()
    r["ok"] = r["error"] is None


def main():
    if not OUT:
        sys.stderr.write("geomcheck: PARTSFS_GEOM_OUT is not set\n")
        return 2
    r = blank()
    r["error"] = "the check did not finish"
    try:
        write_result(r)
    except OSError as exc:
        sys.stderr.write("geomcheck: cannot write %s: %s\n" % (OUT, exc))
        return 2

    # The work happens in a forked child (freecadcmd is single-threaded here,
    # so forking is safe); the parent only waits, and a Python thread would
    # not do: FreeCAD keeps the interpreter lock in long OpenCASCADE calls.
    sys.stdout.flush()
    sys.stderr.flush()
    worker = os.fork()
    if worker == 0:
        status = 1
        try:
            r["error"] = None
            run_check(r)
            write_result(r)
            status = 0
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)

    deadline = time.monotonic() + TIMEOUT
    while True:
        pid, status = os.waitpid(worker, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            os.kill(worker, signal.SIGKILL)
            os.waitpid(worker, 0)
            r["error"] = "timeout: the check took longer than %g s" % TIMEOUT
            write_result(r)
            return 0
        time.sleep(0.05)
    if os.WIFSIGNALED(status) or os.WEXITSTATUS(status) != 0:
        # keep what the worker found before it died (see checkpoint)
        try:
            with open(OUT) as f:
                r = json.load(f)
        except Exception:
            pass
        r["ok"] = False
        if os.WIFSIGNALED(status):
            how = "signal %d" % os.WTERMSIG(status)
        else:
            how = "exit status %d" % os.WEXITSTATUS(status)
        r["error"] = "%s (%s)" % (r.get("error") or "the check failed", how)
        write_result(r)
    return 0


status = main()
sys.stdout.flush()
sys.stderr.flush()
# os._exit: freecadcmd would otherwise turn SystemExit into its own status
os._exit(status)
