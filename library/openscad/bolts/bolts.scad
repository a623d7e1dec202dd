// bolts.scad -- OpenSCAD base modules for the bundled "bolts" collection:
// hexagon head screws and bolts, socket head cap screws, nuts and washers.
//
// Geometry convention (the FreeCAD functions in ../../freecad/bolts/bolts.py
// build the same shapes; see ../../README.md):
//  - z is the axis of the part; all lengths are in mm.
//  - Screws and bolts: z = 0 is the bearing face under the head.  The head
//    occupies 0 <= z <= k, the shank runs from z = 0 down to z = -length.
//  - Nuts and washers sit on z = 0 and reach up to z = m (resp. h).
//  - Hexagons are regular with width across flats s and flats parallel to
//    the x axis: the y extent is exactly s, the x extent is the sharp-corner
//    width s / cos(30 deg).  The tabulated e (minimum width across corners)
//    is not used for the shape.
//  - Hexagon heads (top face) and nuts (both faces) get a 30 degree chamfer,
//    cut by a cone that meets the face on a circle of diameter 0.95 s; the
//    bounding box stays s by s / cos(30 deg) by k.
//  - Threads are NOT modelled.  A thread is a plain cylinder at the nominal
//    diameter d (for hex_bolt: at the pitch diameter d - 0.6495 pitch over
//    the thread length b, so that the partial thread shows), ending in a
//    45 degree chamfer down to the diameter d - 2 pitch at the tip.  Nut
//    holes are plain cylinders of diameter d.
//  - Every module makes one closed solid.
//
// Modules take positional arguments in the order listed in bolts.base.
// Values of None in the tables arrive as undef.

// Number of facets on round surfaces: a multiple of 4, so that the facetted
// circles keep the exact bounding box of the true ones.
bolts_fn = 64;

// Ratio of the chamfer circle on a hexagon face to the width across flats.
bolts_chamfer_ratio = 0.95;

// Regular hexagon prism, flats parallel to the x axis, from z = 0 to z = h.
module bolts_hex_prism(s, h) {
	linear_extrude(height = h)
		circle(r = s / sqrt(3), $fn = 6);
}

// Outline (r, z) of the round part of a screw shank from z = -length up to
// z = top: thread of radius rt over the last b mm, plain shank of radius
// d / 2 above it, tip chamfered at 45 degrees down to radius d / 2 - pitch.
function bolts_shank_profile(d, pitch, length, b, rt, top) =
	let (tip = d / 2 - pitch, c = rt - tip)
	b >= length || rt >= d / 2 ?
		[[0, -length], [tip, -length], [rt, -length + c],
		 [rt, top], [0, top]] :
		[[0, -length], [tip, -length], [rt, -length + c],
		 [rt, -length + b], [d / 2, -length + b], [d / 2, top], [0, top]];

module bolts_revolve(profile) {
	rotate_extrude($fn = bolts_fn)
		polygon(profile);
}

// Hexagon of width across flats s and height h with the 30 degree chamfer
// on the top face (and on the bottom face too when both is true), and a
// plain hole of radius ri (0 for none).
module bolts_chamfered_hex(s, h, both, ri) {
	rc = bolts_chamfer_ratio * s / 2;  // chamfer circle radius on the face
	grow = sqrt(3);                    // radial growth per mm of depth
	rmax = s / sqrt(3) + 1;            // any radius beyond the corners
	dz = (rmax - rc) / grow;           // depth at which a cone reaches rmax
	// outline of the chamfer cone(s), cut off at rmax
	outer = !both ?
		(h > dz ? [[rc, h], [rmax, h - dz], [rmax, 0]] :
		          [[rc, h], [rc + h * grow, 0]]) :
		(h > 2 * dz ? [[rc, h], [rmax, h - dz], [rmax, dz], [rc, 0]] :
		              [[rc, h], [rc + h / 2 * grow, h / 2], [rc, 0]]);
	intersection() {
		bolts_hex_prism(s, h);
		bolts_revolve(concat([[ri, h]], outer, [[ri, 0]]));
	}
}

// Hexagon head screw, fully threaded (ISO 4017).
module hex_screw(d, pitch, s, k, length) {
	union() {
		bolts_chamfered_hex(s, k, false, 0);
		bolts_revolve(bolts_shank_profile(d, pitch, length, length,
		                                  d / 2, k / 2));
	}
}

// Hexagon head bolt, partially threaded (ISO 4014).  b1, b2, b3 are the
// thread lengths for length <= 125, <= 200 and > 200; an undef one falls
// back on the rule of the standard (b1 + 6, b1 + 19).
module hex_bolt(d, pitch, s, k, b1, b2, b3, length) {
	b = length <= 125 ? b1 :
	    length <= 200 ? (is_undef(b2) ? b1 + 6 : b2) :
	    (is_undef(b3) ? b1 + 19 : b3);
	d2 = d - 0.6495 * pitch;  // pitch diameter, the thread's stand-in
	union() {
		bolts_chamfered_hex(s, k, false, 0);
		bolts_revolve(bolts_shank_profile(d, pitch, length, b,
		                                  d2 / 2, k / 2));
	}
}

// Hexagon socket head cap screw (ISO 4762): cylindrical head of diameter dk
// and height k with a small chamfer on its top edge, and a flat-bottomed
// hexagon socket of width across flats s and depth t.
module socket_head_cap_screw(d, pitch, dk, k, s, t, length) {
	c = 0.06 * dk;  // head top chamfer
	shank = bolts_shank_profile(d, pitch, length, length, d / 2, 0);
	// shank outline without its closing point on the axis, then the head
	profile = concat([for (i = [0 : len(shank) - 2]) shank[i]],
	                 [[dk / 2, 0], [dk / 2, k - c], [dk / 2 - c, k], [0, k]]);
	difference() {
		bolts_revolve(profile);
		translate([0, 0, k - t])
			bolts_hex_prism(s, t + 1);
	}
}

// Hexagon nut (ISO 4032): chamfered on both faces, plain hole of diameter d.
module hex_nut(d, pitch, s, m) {
	bolts_chamfered_hex(s, m, true, d / 2);
}

// Plain washer (ISO 7089): annulus d1 / d2 of thickness h.
module plain_washer(d1, d2, h) {
	bolts_revolve([[d1 / 2, 0], [d2 / 2, 0], [d2 / 2, h], [d1 / 2, h]]);
}
