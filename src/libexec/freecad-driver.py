# freecad-driver.py -- runs one BOLTS FreeCAD function for partsfs under
# freecadcmd: reads the job file named by $PARTSFS_JOB, builds the part in a
# new document and exports it: STEP with the part's label as product name,
# or a mesh of the shape (binary STL, OFF or 3MF) within MESH_DEVIATION of
# it.  Parameter values arrive as JSON data, never as code.
#
# With PARTSFS_VERSION set instead of PARTSFS_JOB, it prints FreeCAD's
# version after the mark "partsfs-version: " (freecadcmd --version of
# FreeCAD 0.20 crashes, and freecadcmd prints its banner first).
#
# The job file holds: module_file, module_dir, function, params (every
# collected parameter, lengths in mm, plus "name", the label), label,
# format ("step", "stl", "off" or "3mf") and output (the file to write,
# named with the format's extension); and report_version, optional: when
# true, FreeCAD's version line is written to stderr after the mark, as
# PARTSFS_VERSION prints it, once FreeCAD has loaded and before the
# library's module is.
# Exit status 0 when the output was written, 1 otherwise (with the reason
# on stderr).

import importlib.util
import json
import os
import sys
import traceback

# Never write bytecode next to the library's modules: the library may be
# read-only or shared, and is watched for changes.
sys.dont_write_bytecode = True

# The meshes of a shape: no point of a facet further than 0.05 mm from the
# surface, and no two neighbouring facets more than 0.2 rad (11.5 degrees)
# apart, whatever the size of the part: finer than printers lay plastic,
# and within 0.35% of the volume on the real BOLTS parts.
MESH_DEVIATION = 0.05
MESH_ANGLE = 0.2
MESH_FORMATS = ("stl", "off", "3mf")


def load_function(job):
    # The module may import its siblings, so its directory goes first on
    # the path; it is loaded under a private name so that nothing of ours
    # is shadowed.
    sys.path.insert(0, job["module_dir"])
    spec = importlib.util.spec_from_file_location("partsfs_bolts_module",
                                                  job["module_file"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    function = getattr(module, job["function"], None)
    if function is None:
        raise LookupError("%s has no function %s" %
                          (job["module_file"], job["function"]))
    return function


def result_object(doc, label):
    import FreeCAD  # noqa: F401
    import Part

    # The function's results are the Part features nothing else uses
    # (a feature used by another, like the operands of a cut, is not).
    tops = [o for o in doc.Objects
            if o.isDerivedFrom("Part::Feature") and not o.InList
            and not o.Shape.isNull()]
    if not tops:
        raise RuntimeError("the function added no shape to the document")
    if len(tops) == 1:
        obj = tops[0]
    else:
        obj = doc.addObject("Part::Feature", "part")
        obj.Shape = Part.makeCompound([o.Shape for o in tops])
    obj.Label = label
    return obj


def export(obj, fmt, output):
    if fmt == "step":
        import Import
        Import.export([obj], output)
    elif fmt in MESH_FORMATS:
        import MeshPart
        mesh = MeshPart.meshFromShape(Shape=obj.Shape,
                                      LinearDeflection=MESH_DEVIATION,
                                      AngularDeflection=MESH_ANGLE,
                                      Relative=False)
        # the format follows the output's extension
        mesh.write(output)
    else:
        raise ValueError("the FreeCAD driver cannot write %s" % fmt)


def version_line():
    """FreeCAD's version, as partsfs keys parts with it."""
    import FreeCAD
    v = [str(x) for x in FreeCAD.Version()]
    return "FreeCAD %s %s" % (".".join(v[:3]), v[3] if len(v) > 3 else "")


def main():
    if "PARTSFS_VERSION" in os.environ:
        # marked: freecadcmd prints its banner on the same output first
        print("partsfs-version: " + version_line())
        return
    with open(os.environ["PARTSFS_JOB"], encoding="utf-8") as f:
        job = json.load(f)
    import FreeCAD
    if job.get("report_version"):
        # the version this run used, before any code of the library runs
        # (partsfs takes the first marked line of stderr): partsfs keys
        # the part with it and needs no query of its own on a fresh cache
        sys.stderr.write("partsfs-version: " + version_line() + "\n")
        sys.stderr.flush()
    try:
        # BOLTS modules may import the GUI module; it exists headless.
        import FreeCADGui  # noqa: F401
    except ImportError:
        pass
    function = load_function(job)
    doc = FreeCAD.newDocument("partsfs")
    params = dict(job["params"])
    params["name"] = job["label"]
    function(params, doc)
    doc.recompute()
    obj = result_object(doc, job["label"])
    export(obj, job["format"], job["output"])


# freecadcmd runs this file as a script (its __name__ is not "__main__").
status = 0
try:
    main()
except BaseException:
    traceback.print_exc(file=sys.stderr)
    status = 1
sys.stdout.flush()
sys.stderr.flush()
# freecadcmd does not pass a script's exit status on; leave at once.
os._exit(status)
