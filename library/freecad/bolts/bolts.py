# bolts.py -- FreeCAD base functions for the bundled "bolts" collection:
# hexagon head screws and bolts, socket head cap screws, nuts and washers.
#
# Geometry convention (the OpenSCAD modules in ../../openscad/bolts/bolts.scad
# build the same shapes; see ../../README.md):
#  - z is the axis of the part; all lengths are in mm.
#  - Screws and bolts: z = 0 is the bearing face under the head.  The head
#    occupies 0 <= z <= k, the shank runs from z = 0 down to z = -length.
#  - Nuts and washers sit on z = 0 and reach up to z = m (resp. h).
#  - Hexagons are regular with width across flats s and flats parallel to
#    the x axis: the y extent is exactly s, the x extent is the sharp-corner
#    width s / cos(30 deg).  The tabulated e (minimum width across corners)
#    is not used for the shape.
#  - Hexagon heads (top face) and nuts (both faces) get a 30 degree chamfer,
#    cut by a cone that meets the face on a circle of diameter 0.95 s; the
#    bounding box stays s by s / cos(30 deg) by k.
#  - Threads are NOT modelled.  A thread is a plain cylinder at the nominal
#    diameter d (for hex_bolt: at the pitch diameter d - 0.6495 pitch over
#    the thread length b, so that the partial thread shows), ending in a
#    45 degree chamfer down to the diameter d - 2 pitch at the tip.  Nut
#    holes are plain cylinders of diameter d.
#  - Every function adds one Part::Feature holding one closed solid, labelled
#    params["name"].
#
# Functions have the BOLTS signature fn(params, document): params holds every
# collected parameter of the class (lengths in mm, None for a table cell
# without a value) plus "name", the label of the part.

import math

import FreeCAD
import Part
from FreeCAD import Vector

# Ratio of the chamfer circle on a hexagon face to the width across flats.
CHAMFER_RATIO = 0.95

SQRT3 = math.sqrt(3.0)


def _hex_prism(s, h):
    """Regular hexagon prism, flats parallel to the x axis, z = 0 .. h."""
    r = s / SQRT3
    pts = [Vector(r * math.cos(math.radians(a)), r * math.sin(math.radians(a)), 0)
           for a in range(0, 360, 60)]
    face = Part.Face(Part.makePolygon(pts + [pts[0]]))
    return face.extrude(Vector(0, 0, h))


def _revolve(profile):
    """Solid of revolution about the z axis of the closed outline profile,
    a list of (r, z) points in the xz plane."""
    pts = [Vector(r, 0, z) for r, z in profile]
    face = Part.Face(Part.makePolygon(pts + [pts[0]]))
    return face.revolve(Vector(0, 0, 0), Vector(0, 0, 1), 360)


def _shank_profile(d, pitch, length, b, rt, top):
    """Outline (r, z) of a screw shank from z = -length up to z = top:
    thread of radius rt over the last b mm, plain shank of radius d / 2
    above it, tip chamfered at 45 degrees down to radius d / 2 - pitch."""
    tip = d / 2 - pitch
    c = rt - tip
    if b >= length or rt >= d / 2:
        return [(0, -length), (tip, -length), (rt, -length + c),
                (rt, top), (0, top)]
    return [(0, -length), (tip, -length), (rt, -length + c),
            (rt, -length + b), (d / 2, -length + b), (d / 2, top), (0, top)]


def _chamfered_hex(s, h, both, ri):
    """Hexagon of width across flats s and height h with the 30 degree
    chamfer on the top face (and on the bottom face too when both), and a
    plain hole of radius ri (0 for none)."""
    rc = CHAMFER_RATIO * s / 2      # chamfer circle radius on the face
    grow = SQRT3                    # radial growth per mm of depth
    rmax = s / SQRT3 + 1            # any radius beyond the corners
    dz = (rmax - rc) / grow         # depth at which a cone reaches rmax
    if not both:
        if h > dz:
            outer = [(rc, h), (rmax, h - dz), (rmax, 0)]
        else:
            outer = [(rc, h), (rc + h * grow, 0)]
    elif h > 2 * dz:
        outer = [(rc, h), (rmax, h - dz), (rmax, dz), (rc, 0)]
    else:
        outer = [(rc, h), (rc + h / 2 * grow, h / 2), (rc, 0)]
    cone = _revolve([(ri, h)] + outer + [(ri, 0)])
    return _hex_prism(s, h).common(cone)


def _one_solid(shape):
    """The single solid of shape, with coplanar faces merged."""
    shape = shape.removeSplitter()
    solids = shape.Solids
    if len(solids) != 1:
        raise ValueError("expected one solid, got %d" % len(solids))
    return solids[0]


def _add(document, name, shape, label):
    obj = document.addObject("Part::Feature", name)
    obj.Shape = shape
    obj.Label = label
    return obj


def hex_screw(params, document):
    """Hexagon head screw, fully threaded (ISO 4017)."""
    d = float(params["d"])
    pitch = float(params["pitch"])
    s = float(params["s"])
    k = float(params["k"])
    length = float(params["length"])
    head = _chamfered_hex(s, k, False, 0)
    shank = _revolve(_shank_profile(d, pitch, length, length, d / 2, k / 2))
    _add(document, "hex_screw", _one_solid(head.fuse(shank)), params["name"])


def hex_bolt(params, document):
    """Hexagon head bolt, partially threaded (ISO 4014).  b1, b2, b3 are the
    thread lengths for length <= 125, <= 200 and > 200; a missing one falls
    back on the rule of the standard (b1 + 6, b1 + 19)."""
    d = float(params["d"])
    pitch = float(params["pitch"])
    s = float(params["s"])
    k = float(params["k"])
    length = float(params["length"])
    b1, b2, b3 = params["b1"], params.get("b2"), params.get("b3")
    if length <= 125:
        b = b1
    elif length <= 200:
        b = b1 + 6 if b2 is None else b2
    else:
        b = b1 + 19 if b3 is None else b3
    d2 = d - 0.6495 * pitch         # pitch diameter, the thread's stand-in
    head = _chamfered_hex(s, k, False, 0)
    shank = _revolve(_shank_profile(d, pitch, length, float(b), d2 / 2, k / 2))
    _add(document, "hex_bolt", _one_solid(head.fuse(shank)), params["name"])


def socket_head_cap_screw(params, document):
    """Hexagon socket head cap screw (ISO 4762): cylindrical head of diameter
    dk and height k with a small chamfer on its top edge, and a flat-bottomed
    hexagon socket of width across flats s and depth t."""
    d = float(params["d"])
    pitch = float(params["pitch"])
    dk = float(params["dk"])
    k = float(params["k"])
    s = float(params["s"])
    t = float(params["t"])
    length = float(params["length"])
    c = 0.06 * dk                   # head top chamfer
    shank = _shank_profile(d, pitch, length, length, d / 2, 0)
    profile = shank[:-1] + [(dk / 2, 0), (dk / 2, k - c), (dk / 2 - c, k),
                            (0, k)]
    socket = _hex_prism(s, t + 1)
    socket.translate(Vector(0, 0, k - t))
    shape = _one_solid(_revolve(profile).cut(socket))
    _add(document, "socket_head_cap_screw", shape, params["name"])


def hex_nut(params, document):
    """Hexagon nut (ISO 4032): chamfered on both faces, plain hole of
    diameter d."""
    d = float(params["d"])
    s = float(params["s"])
    m = float(params["m"])
    shape = _one_solid(_chamfered_hex(s, m, True, d / 2))
    _add(document, "hex_nut", shape, params["name"])


def plain_washer(params, document):
    """Plain washer (ISO 7089): annulus d1 / d2 of thickness h."""
    r1 = float(params["d1"]) / 2
    r2 = float(params["d2"]) / 2
    h = float(params["h"])
    shape = _one_solid(_revolve([(r1, 0), (r2, 0), (r2, h), (r1, h)]))
    _add(document, "plain_washer", shape, params["name"])
