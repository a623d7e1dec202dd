// api.js -- the native API of `partsctl serve` as the page uses it: GET
// /files/<path> (directories as JSON, parts as bytes, problem+json errors)
// and the path grammar of the tree (directory levels and stems).

// The server's root: this module is served at <root>/web/api.js, so the
// page keeps working behind a proxy that mounts the server under a prefix.
export const ROOT = new URL("../", import.meta.url);

// An error of the API: `detail` is the reason partsfs gives (an invalid
// parameter value, a failed job), `status` the HTTP status (0: no answer).
export class ApiError extends Error {
	constructor(status, detail, title) {
		super(detail || title || `HTTP ${status}`);
		this.status = status;
		this.detail = detail || title || `HTTP ${status}`;
	}
}

// One segment of a tree path as it goes into a URL: percent-encoded for
// the URL (so that the server's decoding gives the segment back exactly),
// but "=", ",", ":" and "@" stay readable, as RFC 3986 allows in a path.
function urlSegment(s) {
	return encodeURIComponent(s).replace(/%(3D|2C|3A|40)/g,
	    (m, h) => String.fromCharCode(parseInt(h, 16)));
}

// The URL of a tree path ("bolts/hex_screw/M8/length=20.step").
export function filesUrl(path) {
	const segs = path.split("/").filter((s) => s !== "").map(urlSegment);
	const dir = path.endsWith("/") && segs.length > 0 ? "/" : "";
	return new URL("files/" + segs.join("/") + dir, ROOT).href;
}

async function problem(r) {
	let detail = "", title = r.statusText;
	try {
		const j = await r.json();
		detail = j.detail || "";
		title = j.title || title;
	} catch (e) {
		// not JSON: the status line has to do
	}
	return new ApiError(r.status, detail, title);
}

async function get(path, opts = {}) {
	let r;
	try {
		r = await fetch(filesUrl(path), {
			signal: opts.signal,
			headers: { Accept: opts.accept || "application/json" },
		});
	} catch (e) {
		if (e.name === "AbortError")
			throw e;
		throw new ApiError(0, "the server does not answer (" +
		    e.message + ")");
	}
	if (!r.ok)
		throw await problem(r);
	return r;
}

// A directory's listing: {path, entries: [{name, type, ...}]}.
export async function list(path, opts) {
	return (await get(path.replace(/\/*$/, "/"), opts)).json();
}

// A .json file of the tree (<coll>.json, <class>.json, <part>.json).
export async function json(path, opts) {
	return (await get(path, opts)).json();
}

// A part's bytes, waiting for its job as long as it takes.
export async function bytes(path, opts) {
	return (await get(path, { ...opts, accept: "*/*" })).arrayBuffer();
}

// A link's target as a tree path (a list of names): the server gives it
// from the root ("bolts/hex_screw"); a target the way the mount's
// readlink gives it ("../bolts/hex_screw") is taken from the link's
// directory `dir`.
export function linkTarget(dir, target) {
	const out = /^\.\.?(\/|$)/.test(target) ?
	    dir.split("/").filter((s) => s !== "") : [];
	for (const s of target.split("/")) {
		if (s === "..") {
			if (out.length > 0)
				out.pop();
		} else if (s !== "" && s !== ".")
			out.push(s);
	}
	return out;
}

// --- the path grammar (see partsfs(1), THE TREE) ---------------------------

function pct(s, special) {
	let out = "";
	for (const ch of s) {
		const c = ch.codePointAt(0);
		if (c < 0x20 || c === 0x7f || special.includes(ch))
			out += "%" + c.toString(16).toUpperCase().padStart(2, "0");
		else
			out += ch;
	}
	return out;
}

// A choice as a directory name.
export function encodeDir(s) {
	if (s === "." || s === "..")
		return s.replace(/\./g, "%2E");
	return pct(s, "%/");
}

// A value inside a stem ("name=value,...").
export function encodeValue(s) {
	return pct(s, "%,=/");
}

// Percent-decoding as the tree does it (UTF-8 bytes).
export function decode(s) {
	try {
		return decodeURIComponent(s);
	} catch (e) {
		return s;
	}
}

// The formats of the tree, by extension.
export const FORMATS = new Set(["step", "stp", "stl", "glb", "3mf", "off",
    "amf", "csg", "png", "json"]);

export const DISCRETE = new Set(["Table Index", "Bool"]);

// The free parameters of a class description, in `free` order, each
// {name, type, def, choices, description, discrete}.
export function freeParams(cls) {
	const p = cls.parameters;
	return p.free.map((name) => {
		const type = p.types[name] || "String";
		const def = p.defaults[name];
		return {
			name, type,
			def: def === undefined ? null : def,
			choices: type === "Bool" ? ["false", "true"] :
			    (p.choices[name] || []),
			description: (p.description || {})[name] || "",
			discrete: DISCRETE.has(type),
			numeric: /^(Length|Number|Angle)/.test(type),
		};
	});
}

// Text of a value as a name in the tree (numbers as JavaScript prints
// them: the shortest form that reads back the same, as partsfs writes).
export function valueText(v) {
	if (v === null || v === undefined)
		return "";
	return String(v);
}

// A number as partsfs names it, in its shortest form ("20.0" and "2e1"
// are "20"); text that is not a plain number is left to partsfs to judge.
export function canonNumber(text) {
	if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text))
		return text;
	const s = String(Number(text));
	return /^-?\d+(\.\d+)?$/.test(s) ? s : text;
}

// The tree path of a part without its extension, from a class (coll,
// id) and values (name -> text; "" means the default): the discrete
// values as directories, the others in the stem, in `free` order.  A
// stem names every value the form has (so that the path says what it
// is); it is "default" when there is none.
export function partPath(cls, params, values) {
	const dirs = [], pairs = [];
	for (const p of params) {
		let v = values[p.name];
		if (v === undefined || v === "")
			v = valueText(p.def);
		if (p.discrete)
			dirs.push(encodeDir(v));
		else if (p.numeric)
			pairs.push(p.name + "=" + encodeValue(canonNumber(v)));
		else if (v !== "")
			pairs.push(p.name + "=" + encodeValue(v));
	}
	return [cls.collection, cls.id, ...dirs,
	    pairs.length ? pairs.join(",") : "default"].join("/");
}

// The values a part path (as partPath writes it, extension optional)
// gives, name -> text, from its segments after the class: a directory
// level per discrete parameter, then the stem; a path may stop early (a
// directory: the rest take their defaults).  Unknown pieces are kept, so
// that partsfs is asked about them and its reason shown.
export function parsePartPath(params, segs) {
	const values = {};
	const discrete = params.filter((p) => p.discrete);
	let i = 0;
	for (; i < discrete.length && i < segs.length; i++) {
		const v = decode(segs[i]);
		if (i === segs.length - 1 && !discrete[i].choices.includes(v) &&
		    /^default(\.|$)|=/.test(segs[i]))
			break;		// the stem, early
		values[discrete[i].name] = v;
	}
	let stem = segs[i];
	if (stem === undefined)
		return values;
	const ext = /\.([a-z0-9]+)$/.exec(stem);
	if (ext && FORMATS.has(ext[1]))
		stem = stem.slice(0, ext.index);
	if (stem !== "default" && stem !== "") {
		for (const pair of stem.split(",")) {
			const eq = pair.indexOf("=");
			if (eq > 0)
				values[pair.slice(0, eq)] = decode(pair.slice(eq + 1));
		}
	}
	return values;
}
