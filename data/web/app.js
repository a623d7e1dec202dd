// app.js -- the page: the library's collections and classes (with their
// names, standards and drawings), search, a form that picks a part with
// partsfs's own validation messages, the 3D preview (viewer.js, loaded
// when a part is first shown), downloads and the part's path in the mount.
// The route is the hash: #/ (the library), #/<coll>, #/<coll>/<class>
// and #/<coll>/<class>/<dirs>/<stem> (a part), #/?q=<text> (a search).

import * as api from "./api.js";

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k === "class")
			e.className = v;
		else if (k in e && typeof v !== "string")
			e[k] = v;
		else
			e.setAttribute(k, v === true ? "" : v);
	}
	for (const c of children.flat()) {
		if (c !== null && c !== undefined && c !== false)
			e.append(c);
	}
	return e;
}

// --- the library ------------------------------------------------------------

const lib = {
	colls: [],		// [{id, name, description, classes: [id]}]
	classes: new Map(),	// "coll/class" -> class description
	pending: new Map(),	// "coll/class" -> Promise of it
	drawings: new Map(),	// "coll/class" -> drawing file name
	listed: new Map(),	// coll -> Promise of its listing
	aliases: new Map(),	// "coll/class" -> [names and standards]
};

function classKey(coll, cls) {
	return coll + "/" + cls;
}

function niceName(key) {
	const c = lib.classes.get(key);
	const n = c && c.names && c.names[0] && c.names[0].name;
	if (n && n.nice)
		return n.nice;
	const s = c && c.standards && c.standards[0];
	if (s && s.standard && s.standard.nice)
		return s.standard.nice;
	return key.split("/")[1];
}

function standardsOf(key) {
	const c = lib.classes.get(key);
	return c ? c.standards.filter((s) => s.standard)
	    .map((s) => s.standard.nice) : [];
}

function loadClass(coll, cls) {
	const key = classKey(coll, cls);
	if (!lib.pending.has(key)) {
		const p = api.json(key + ".json").then((c) => {
			lib.classes.set(key, c);
			return c;
		});
		p.catch(() => lib.pending.delete(key));
		lib.pending.set(key, p);
	}
	return lib.pending.get(key);
}

// The drawings of a collection: its listing has <class>.png|svg entries.
function loadDrawings(coll) {
	if (!lib.listed.has(coll)) {
		lib.listed.set(coll, api.list(coll).then((l) => {
			for (const e of l.entries) {
				const m = /^(.*)\.(png|svg)$/.exec(e.name);
				if (m && e.type !== "directory")
					lib.drawings.set(classKey(coll, m[1]),
					    e.name);
			}
		}).catch(() => {}));
	}
	return lib.listed.get(coll);
}

async function loadLibrary() {
	const root = await api.list("");
	const ids = root.entries.filter((e) => e.type === "directory" &&
	    !e.name.startsWith(".") && e.name !== "by-name" &&
	    e.name !== "by-standard").map((e) => e.name);
	const links = ["by-name", "by-standard"].filter((d) =>
	    root.entries.some((e) => e.name === d));
	const [colls] = await Promise.all([
		Promise.all(ids.map((id) => api.json(id + ".json").catch(
		    () => ({ id, name: id, classes: [] })))),
		...links.map((d) => api.list(d).then((l) => {
			for (const e of l.entries) {
				if (e.type !== "link" || !e.target)
					continue;
				const t = api.linkTarget(d, e.target);
				if (t.length !== 2)
					continue;
				const key = t.join("/");
				if (!lib.aliases.has(key))
					lib.aliases.set(key, []);
				lib.aliases.get(key).push(
				    e.name.replace(/_/g, " "));
			}
		}).catch(() => {})),
	]);
	lib.colls = colls;
}

// Every class description, a few at a time, after the page is up: the
// names in the tree and the search get better as they arrive.
async function loadAllClasses() {
	const todo = [];
	for (const c of lib.colls)
		for (const id of c.classes)
			todo.push([c.id, id]);
	const worker = async () => {
		while (todo.length) {
			const [coll, cls] = todo.shift();
			try {
				await loadClass(coll, cls);
				const a = document.querySelector(
				    `#tree a[data-key="${CSS.escape(
				    classKey(coll, cls))}"]`);
				if (a)
					a.textContent = niceName(
					    classKey(coll, cls));
			} catch (e) {
				// the class page says why, when visited
			}
		}
	};
	// three at a time: a browser opens six connections to a server,
	// and the part the user looks at must not wait behind these
	await Promise.all([1, 2, 3].map(worker));
	// the views that list classes, now with their names
	const r = route();
	if (r.query !== undefined)
		showSearch(r.query);
	else if (r.segs.length === 0)
		showHome();
}

function renderTree() {
	const nav = $("tree");
	nav.replaceChildren(...lib.colls.map((c) => el("details",
	    { open: lib.colls.length <= 3, "data-coll": c.id },
	    el("summary", {}, el("a", { href: "#/" + c.id },
		c.name || c.id)),
	    el("ul", {}, c.classes.map((id) => el("li", {},
		el("a", { href: `#/${c.id}/${id}`,
		    "data-key": classKey(c.id, id) },
		    niceName(classKey(c.id, id)))))))));
	let n = 0;
	for (const c of lib.colls)
		n += c.classes.length;
	$("library-info").textContent = `${lib.colls.length} collection` +
	    `${lib.colls.length === 1 ? "" : "s"}, ${n} class` +
	    `${n === 1 ? "" : "es"}`;
}

function classCard(coll, id) {
	const key = classKey(coll, id);
	const stds = standardsOf(key);
	return el("li", {}, el("a", { href: `#/${coll}/${id}` },
	    el("strong", {}, niceName(key)),
	    stds.length ? el("span", { class: "chips" },
		stds.map((s) => el("span", { class: "chip" }, s))) : null,
	    el("code", { class: "muted" }, key)));
}

// --- views -----------------------------------------------------------------

const SECTIONS = ["home", "results", "collection", "class"];

function showSection(name) {
	for (const s of SECTIONS)
		$(s).hidden = s !== name;
}

function route() {
	const raw = location.hash.replace(/^#\/?/, "");
	const q = raw.indexOf("?");
	if (q >= 0) {
		const params = new URLSearchParams(raw.slice(q + 1));
		return { segs: [], query: params.get("q") || "" };
	}
	// the hash is the tree path through encodeURI (see setPath)
	let h = raw;
	try {
		h = decodeURI(raw);
	} catch (e) {
		// left as it is
	}
	return { segs: h.split("/").filter((s) => s !== "") };
}

function setPath(path) {
	history.replaceState(null, "", "#/" + encodeURI(path));
}

function showHome() {
	showSection("home");
	document.title = "partsfs";
	$("collections").replaceChildren(...lib.colls.map((c) =>
	    el("article", { class: "collection" },
		el("h2", {}, el("a", { href: "#/" + c.id }, c.name || c.id)),
		c.description ? el("p", {}, c.description) : null,
		el("ul", { class: "cards" },
		    c.classes.map((id) => classCard(c.id, id))))));
}

function searchText(key) {
	const c = lib.classes.get(key);
	const parts = [key, niceName(key), ...(lib.aliases.get(key) || [])];
	if (c) {
		for (const n of c.names) {
			if (n.name)
				parts.push(n.name.nice);
			if (n.description)
				parts.push(n.description);
		}
		for (const s of c.standards) {
			if (s.standard)
				parts.push(s.standard.nice, s.standard.safe);
			if (s.description)
				parts.push(s.description);
		}
		const ch = c.parameters.choices || {};
		for (const v of Object.values(ch))
			parts.push(v.join(" "));
	}
	return parts.join(" ").toLowerCase();
}

// Classes matching every word of the query; those whose name or standard
// has it come first.
function search(q) {
	const words = q.toLowerCase().split(/\s+/).filter((w) => w);
	const hits = [];
	for (const c of lib.colls) {
		for (const id of c.classes) {
			const key = classKey(c.id, id);
			const text = searchText(key);
			if (!words.every((w) => text.includes(w) ||
			    text.includes(w.replace(/\s/g, ""))))
				continue;
			const head = (niceName(key) + " " +
			    standardsOf(key).join(" ")).toLowerCase();
			const score = words.filter((w) => head.includes(w))
			    .length;
			hits.push({ coll: c.id, id, score });
		}
	}
	hits.sort((a, b) => b.score - a.score);
	return hits;
}

function showSearch(q) {
	if ($("search").value !== q && document.activeElement !== $("search"))
		$("search").value = q;
	showSection("results");
	document.title = `${q} – partsfs`;
	const hits = q.trim() ? search(q) : [];
	$("results-count").textContent = q.trim() ?
	    `${hits.length} class${hits.length === 1 ? "" : "es"} match ` +
	    `“${q}”` : "Type in the search box.";
	$("results-list").replaceChildren(...hits.map((h) =>
	    classCard(h.coll, h.id)));
}

async function showCollection(id) {
	const c = lib.colls.find((x) => x.id === id);
	if (!c)
		return fatal(`There is no collection “${id}” in this library.`);
	showSection("collection");
	document.title = `${c.name || c.id} – partsfs`;
	$("coll-title").textContent = c.name || c.id;
	$("coll-description").textContent = c.description || "";
	$("coll-meta").textContent = [c.id, c.license,
	    (c.authors || []).join(", ")].filter((x) => x).join(" · ");
	const render = () => $("coll-classes").replaceChildren(
	    ...c.classes.map((cls) => {
		const li = classCard(c.id, cls);
		const d = lib.drawings.get(classKey(c.id, cls));
		if (d)
			li.firstChild.prepend(el("img", { class: "thumb",
			    src: api.filesUrl(`${c.id}/${d}`), alt: "",
			    loading: "lazy" }));
		return li;
	    }));
	render();
	await Promise.all([loadDrawings(id), ...c.classes.map((cls) =>
	    loadClass(id, cls).catch(() => null))]);
	if (route().segs.join("/") === id)
		render();
}

function fatal(text) {
	showSection(null);
	$("fatal").textContent = text;
	$("fatal").hidden = false;
}

// --- a class and its part ---------------------------------------------------

const view = {
	key: null,		// the class shown
	cls: null,
	params: [],
	seq: 0,			// the latest update; older answers are dropped
	abort: null,
	viewer: null,		// a Promise of the Viewer
	shownKey: null,		// the class of the part in the viewer
	commons: new Map(),	// leaf dir -> Promise of {param: [values]}
};

function labelFor(p) {
	const unit = /\((.*)\)/.exec(p.type);
	return el("label", { for: "param-" + p.name },
	    p.name, unit ? el("span", { class: "muted" }, ` (${unit[1]})`) :
	    null);
}

function field(p, value) {
	let input;
	if (p.discrete) {
		input = el("select", { id: "param-" + p.name, name: p.name },
		    p.choices.map((c) => el("option", { value: c,
			selected: c === value }, c)));
		if (!p.choices.includes(value))
			input.append(el("option", { value, selected: true },
			    value));
	} else if (p.type === "String") {
		input = el("input", { id: "param-" + p.name, name: p.name,
		    type: "text", value, placeholder: api.valueText(p.def),
		    spellcheck: "false" });
	} else {
		// a number as partsfs reads it: the text goes into the path
		// as typed, and partsfs says what is wrong with it
		input = el("input", { id: "param-" + p.name, name: p.name,
		    type: "number", step: "any", value,
		    placeholder: api.valueText(p.def),
		    list: "common-" + p.name });
	}
	return el("div", { class: "field", "data-param": p.name },
	    labelFor(p), input,
	    p.discrete ? null : el("datalist", { id: "common-" + p.name }),
	    p.description ? el("small", { class: "muted" }, p.description) :
	    null,
	    el("small", { class: "field-problem", hidden: true }));
}

async function showClass(coll, id, rest) {
	const key = classKey(coll, id);
	showSection("class");
	let cls;
	try {
		cls = await loadClass(coll, id);
	} catch (e) {
		return fatal(e.detail || e.message);
	}
	if (route().segs.slice(0, 2).join("/") !== key)
		return;		// the user moved on
	const fresh = view.key !== key;
	view.key = key;
	view.cls = cls;
	view.params = api.freeParams(cls);
	document.title = `${niceName(key)} – partsfs`;
	const c = lib.colls.find((x) => x.id === coll);
	$("class-coll").textContent = c ? c.name || c.id : coll;
	$("class-coll").href = "#/" + coll;
	$("class-title").textContent = niceName(key);
	$("class-standards").replaceChildren(...cls.standards.filter(
	    (s) => s.standard).map((s) => el("span", {
		class: "chip" + (s.status === "withdrawn" ? " withdrawn" : ""),
		title: [s.description, s.status,
		    s.replaces ? "replaces " + s.replaces : ""]
		    .filter((x) => x).join(" · ") }, s.standard.nice)),
	    ...cls.names.slice(1).filter((n) => n.name).map((n) =>
		el("span", { class: "chip name" }, n.name.nice)));
	const n0 = cls.names[0];
	$("class-description").textContent = (n0 && n0.description) ||
	    (cls.standards[0] && cls.standards[0].description) || "";
	$("class-notes").hidden = !cls.notes;
	$("class-notes").querySelector("p").textContent = cls.notes || "";
	if (fresh) {
		// no part of another class on show while this one's is made
		delete $("preview").dataset.shown;
		if (view.viewer)
			view.viewer.then((v) => v.clear(), () => {});
		$("drawing").hidden = true;
		loadDrawings(coll).then(() => {
			const d = lib.drawings.get(key);
			if (d && view.key === key) {
				$("drawing").src = api.filesUrl(
				    `${coll}/${d}`);
				$("drawing").alt = `drawing of ${niceName(key)}`;
				$("drawing").hidden = false;
			}
		});
	}
	const values = api.parsePartPath(view.params, rest);
	const form = $("params");
	form.replaceChildren(...view.params.map((p) => field(p,
	    values[p.name] !== undefined ? values[p.name] :
	    api.valueText(p.def))));
	if (view.params.length === 0)
		form.append(el("p", { class: "muted" },
		    "This class has no free parameters: there is one part."));
	const formats = cls.formats.filter((f) => f !== "json");
	const keep = $("format").value;
	$("format").replaceChildren(...formats.concat(["json"]).map((f) =>
	    el("option", { value: f }, f)));
	$("format").value = formats.includes(keep) ? keep :
	    formats.includes("step") ? "step" : formats[0] || "json";
	view.lastPath = null;
	update(false);
	if (cls.formats.includes("glb"))
		viewer();	// three.js on its way while the part is made
}

function formValues() {
	const values = {};
	for (const p of view.params) {
		const input = $("param-" + p.name);
		values[p.name] = input ? input.value.trim() : "";
	}
	return values;
}

function setProblem(text, param) {
	for (const f of document.querySelectorAll("#params .field")) {
		const mine = text && f.dataset.param === param;
		f.classList.toggle("invalid", !!mine);
		const s = f.querySelector(".field-problem");
		s.hidden = !mine;
		s.textContent = mine ? text : "";
	}
	// a reason about no one field shows under the form
	const general = text && !document.querySelector(
	    `#params .field[data-param="${CSS.escape(param || "")}"]`);
	$("problem").hidden = !general;
	$("problem").textContent = general ? text : "";
}

// Which parameter partsfs's reason is about ("length=-5: ...", "'M7' is
// not a choice of size ...", "parameter 'x' ...").
function problemParam(detail) {
	for (const p of view.params) {
		const n = p.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
		if (new RegExp(`(^|[\\s'"])${n}(=|'|"|\\s|:|$)`).test(detail))
			return p.name;
	}
	return null;
}

function previewStatus(state, text) {
	const s = $("preview-status");
	s.dataset.state = state;
	s.textContent = text || "";
	$("viewer").dataset.state = state;
}

function viewer() {
	if (!view.viewer) {
		view.viewer = import("./viewer.js").then((m) =>
		    new m.Viewer($("preview")), (e) => {
			throw new Error("No 3D preview: three.js cannot be " +
			    "loaded from the server (the Debian package " +
			    "libjs-three there): " + e.message);
		    });
		view.viewer.catch(() => { view.viewer = null; });
	}
	return view.viewer;
}

// Common values of the number fields for the chosen directory: the stems
// its listing names.
function commons(dir) {
	if (!view.commons.has(dir)) {
		view.commons.set(dir, api.list(dir).then((l) => {
			const out = {};
			for (const e of l.entries) {
				if (!e.name.endsWith(".json") ||
				    e.name === "default.json")
					continue;
				const v = api.parsePartPath([],
				    [e.name.slice(0, -5)]);
				for (const [k, x] of Object.entries(v))
					(out[k] = out[k] || new Set()).add(x);
			}
			return out;
		}).catch(() => ({})));
	}
	return view.commons.get(dir);
}

async function fillCommons(path) {
	const dir = path.split("/").slice(0, -1).join("/");
	const c = await commons(dir);
	for (const p of view.params) {
		const dl = $("common-" + p.name);
		if (!dl)
			continue;
		const vals = [...(c[p.name] || [])].sort((a, b) => a - b);
		dl.replaceChildren(...vals.map((v) => el("option",
		    { value: v })));
	}
}

function mountPath(path) {
	const mp = $("mountpoint").value.trim().replace(/\/+$/, "");
	return (mp ? mp + "/" : "") + path + "." + $("format").value;
}

function renderPart(path, part) {
	$("part").hidden = false;
	$("part").dataset.path = path;
	$("part-label").textContent = part.label ? part.label.nice : path;
	$("mount-path").value = mountPath(path);
	const name = part.label && part.label.safe ? part.label.safe :
	    path.split("/").pop();
	$("downloads").replaceChildren(el("span", { class: "muted" },
	    "Download"), ...part.formats.map((f) => el("a", {
		href: api.filesUrl(path + "." + f), download: name + "." + f,
		"data-format": f, class: "button" }, f)));
	const desc = view.cls.parameters.description || {};
	$("part-params").tBodies[0].replaceChildren(...Object.entries(
	    part.params).map(([k, v]) => el("tr",
	    { class: k in part.free ? "free" : null },
	    el("th", {}, k), el("td", {}, v === null ? "–" : String(v)),
	    el("td", { class: "muted" }, desc[k] || ""))));
	const gen = part.provenance && part.provenance.generator;
	$("part-meta").textContent = [
	    part.standard ? part.standard.nice : null,
	    part.license ? "license " + part.license : null,
	    gen ? "made by " + gen.executor : null,
	].filter((x) => x).join(" · ");
}

// The form changed (or a class was shown): ask partsfs for the part's
// description, which says at once whether the values are valid, then
// show the part.
async function update(userEdit) {
	const values = formValues();
	const path = api.partPath(view.cls, view.params, values);
	if (userEdit && path === view.lastPath)
		return;		// "change" after "input": nothing new
	const seq = ++view.seq;
	if (view.abort)
		view.abort.abort();
	const abort = view.abort = new AbortController();
	view.lastPath = null;
	for (const p of view.params) {
		const input = $("param-" + p.name);
		if (input && input.validity && input.validity.badInput) {
			setProblem(`${p.name}: not a number`, p.name);
			$("part").hidden = true;
			previewStatus("invalid", "No part for these values.");
			return;
		}
	}
	view.lastPath = path;
	if (userEdit)
		setPath(path);
	let part;
	try {
		part = await api.json(path + ".json", { signal: abort.signal });
	} catch (e) {
		if (e.name === "AbortError" || seq !== view.seq)
			return;
		setProblem(e.detail || e.message, problemParam(
		    e.detail || ""));
		$("part").hidden = true;
		previewStatus("invalid", "No part for these values.");
		return;
	}
	if (seq !== view.seq)
		return;
	setProblem(null);
	renderPart(path, part);
	fillCommons(path);
	if (!part.formats.includes("glb")) {
		previewStatus("none", "No 3D preview: this class has no " +
		    "glb format.");
		return;
	}
	const t0 = performance.now();
	previewStatus("loading", "Making the part…");
	// a part not made yet waits for its engine: say for how long
	const tick = setInterval(() => {
		if (seq === view.seq && $("preview-status").dataset.state ===
		    "loading")
			$("preview-status").textContent = "Making the part… " +
			    Math.round((performance.now() - t0) / 1000) + " s";
	}, 1000);
	abort.signal.addEventListener("abort", () => clearInterval(tick));
	try {
		const [v, buf] = await Promise.all([
		    viewer().then((x) => {
			performance.mark("partsfs:viewer");
			return x;
		    }),
		    api.bytes(path + ".glb", { signal: abort.signal })
			.then((x) => {
			performance.mark("partsfs:glb");
			return x;
		    })]);
		if (seq !== view.seq)
			return;
		const refit = view.shownKey !== view.key;
		const info = await v.show(buf, refit);
		if (seq !== view.seq)
			return;
		view.shownKey = view.key;
		$("preview").dataset.shown = path;
		$("preview").dataset.shownAt = Math.round(performance.now());
		const dims = info.size.map((x) => +x.toFixed(2)).join(" × ");
		previewStatus("ready", `${dims} mm · ` +
		    `${Math.round(performance.now() - t0)} ms`);
	} catch (e) {
		if (e.name === "AbortError" || seq !== view.seq)
			return;
		previewStatus("error", e.detail || e.message);
	} finally {
		clearInterval(tick);
	}
}

// --- wiring -----------------------------------------------------------------

let debounce = null;

function wire() {
	$("params").addEventListener("input", (ev) => {
		clearTimeout(debounce);
		const now = ev.target.tagName === "SELECT";
		debounce = setTimeout(() => update(true), now ? 0 : 350);
	});
	$("params").addEventListener("change", () => {
		clearTimeout(debounce);
		update(true);
	});
	$("params").addEventListener("submit", (ev) => {
		ev.preventDefault();
		clearTimeout(debounce);
		update(true);
	});
	$("format").addEventListener("change", () => {
		if ($("part").dataset.path)
			$("mount-path").value = mountPath($("part").dataset.path);
	});
	const mp = localStorage.getItem("partsfs.mountpoint");
	if (mp !== null)
		$("mountpoint").value = mp;
	$("mountpoint").addEventListener("input", () => {
		localStorage.setItem("partsfs.mountpoint", $("mountpoint").value);
		if ($("part").dataset.path)
			$("mount-path").value = mountPath($("part").dataset.path);
	});
	$("copy").addEventListener("click", async () => {
		const text = $("mount-path").value;
		let ok = false;
		try {
			await navigator.clipboard.writeText(text);
			ok = true;
		} catch (e) {
			// no clipboard API (plain http to another host)
			$("mount-path").select();
			ok = document.execCommand("copy");
		}
		$("copied").textContent = ok ? "copied" :
		    "select the path and copy it";
		setTimeout(() => { $("copied").textContent = ""; }, 2000);
	});
	$("search").addEventListener("input", () => {
		const q = $("search").value;
		history.replaceState(null, "", q ? "#/?q=" +
		    encodeURIComponent(q) : "#/");
		if (q)
			showSearch(q);
		else
			showHome();
	});
	$("search").addEventListener("keydown", (ev) => {
		if (ev.key !== "Enter")
			return;
		const first = $("results-list").querySelector("a");
		if (first)
			location.hash = first.getAttribute("href");
	});
	window.addEventListener("hashchange", render);
}

function render() {
	$("fatal").hidden = true;
	const r = route();
	for (const d of document.querySelectorAll("#tree details"))
		if (d.dataset.coll === r.segs[0])
			d.open = true;
	for (const a of document.querySelectorAll("#tree a"))
		a.classList.toggle("current", a.getAttribute("href") ===
		    "#/" + r.segs.slice(0, 2).join("/"));
	if (r.query !== undefined)
		return showSearch(r.query);
	if (r.segs.length === 0)
		return showHome();
	if (r.segs.length === 1)
		return showCollection(r.segs[0]);
	return showClass(r.segs[0], r.segs[1], r.segs.slice(2));
}

async function main() {
	wire();
	try {
		await loadLibrary();
	} catch (e) {
		$("tree").replaceChildren();
		return fatal("The library cannot be read: " +
		    (e.detail || e.message));
	}
	renderTree();
	await render();
	// milliseconds from the start of the navigation to a page the
	// user can use (the library listed, the route's view shown)
	document.body.dataset.ready = Math.round(performance.now());
	loadAllClasses();
}

main();
