// viewer.js -- the 3D preview: a part's glb (glTF binary) shown with
// three.js from Debian's libjs-three (served under web/three/), Z up as in
// CAD, a millimetre grid under it, orbit/zoom/pan with the mouse.  Drawn
// on demand (after a change), not in a loop.

import * as THREE from "./three/build/three.module.js";
import { GLTFLoader } from "./three/examples/jsm/loaders/GLTFLoader.js";
import { OrbitControls } from
    "./three/examples/jsm/controls/OrbitControls.js";

// A round step (1, 2 or 5 times a power of ten) near x.
function niceStep(x) {
	const p = Math.pow(10, Math.floor(Math.log10(x)));
	const m = x / p;
	return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

// Normals a mesh can be lit by: engines may write STL facets with zero
// normals, which the converter carries into the glb.
function fixNormals(geometry) {
	const n = geometry.getAttribute("normal");
	if (n) {
		for (let i = 0; i < n.count; i++) {
			if (n.getX(i) !== 0 || n.getY(i) !== 0 || n.getZ(i) !== 0)
				return;
		}
	}
	geometry.computeVertexNormals();
}

export class Viewer {
	constructor(canvas) {
		this.canvas = canvas;
		// preserveDrawingBuffer: what is shown can be read back
		// (canvas.toDataURL), by a user saving the picture and by
		// the tests
		this.renderer = new THREE.WebGLRenderer({
			canvas, antialias: true, preserveDrawingBuffer: true,
		});
		this.renderer.setPixelRatio(window.devicePixelRatio || 1);
		this.renderer.setClearColor(0xf4f5f7, 1);
		this.scene = new THREE.Scene();
		this.camera = new THREE.PerspectiveCamera(35, 1, 0.01, 1e7);
		this.camera.up.set(0, 0, 1);
		this.scene.add(new THREE.HemisphereLight(0xffffff, 0x8890a0,
		    1.1));
		this.light = new THREE.DirectionalLight(0xffffff, 0.9);
		this.camera.add(this.light);
		this.light.position.set(1, 2, 3);
		this.scene.add(this.camera);
		// Phong: its shader compiles quickly, also where WebGL is
		// drawn in software
		this.material = new THREE.MeshPhongMaterial({
			color: 0x7d9cc8, specular: 0x333333, shininess: 40,
			side: THREE.DoubleSide,
		});
		this.controls = new OrbitControls(this.camera, canvas);
		this.controls.screenSpacePanning = true;
		this.controls.addEventListener("change", () => this.draw());
		this.model = null;
		this.grid = null;
		this.fitted = null;	// the bounding sphere the view was fit to
		this.loader = new GLTFLoader();
		// a double click frames the part again
		canvas.addEventListener("dblclick", () => this.refit());
		new ResizeObserver(() => this.resize()).observe(canvas);
		this.resize();
	}

	resize() {
		const w = this.canvas.clientWidth, h = this.canvas.clientHeight;
		if (w === 0 || h === 0)
			return;
		this.renderer.setSize(w, h, false);
		this.camera.aspect = w / h;
		this.camera.updateProjectionMatrix();
		this.draw();
	}

	draw() {
		if (this.pending)
			return;
		this.pending = true;
		requestAnimationFrame(() => {
			this.pending = false;
			this.renderer.render(this.scene, this.camera);
		});
	}

	// Draw now, and resolve when the frame is on the canvas.
	drawNow() {
		this.renderer.render(this.scene, this.camera);
		return new Promise((ok) => requestAnimationFrame(() => ok()));
	}

	parse(buffer) {
		return new Promise((ok, fail) => {
			this.loader.parse(buffer, "", ok, (e) => fail(
			    new Error("the glb cannot be read: " +
			    (e && e.message ? e.message : e))));
		});
	}

	// Show a part from its glb bytes.  The view is fit to it when
	// `refit` (another class) or when it no longer fits the view; a
	// part of the same class otherwise keeps the camera and the grid,
	// so that a change of a parameter shows as a change of size.
	async show(buffer, refit) {
		const gltf = await this.parse(buffer);
		const model = gltf.scene;
		model.traverse((o) => {
			if (o.isMesh) {
				fixNormals(o.geometry);
				o.material = this.material;
			}
		});
		if (this.model) {
			this.scene.remove(this.model);
			this.model.traverse((o) => {
				if (o.isMesh)
					o.geometry.dispose();
			});
		}
		this.model = model;
		this.scene.add(model);
		const box = new THREE.Box3().setFromObject(model);
		if (box.isEmpty())
			throw new Error("the part has no triangles");
		const sphere = box.getBoundingSphere(new THREE.Sphere());
		const f = this.fitted;
		if (refit || !f || sphere.center.distanceTo(f.center) +
		    sphere.radius > f.radius * 1.05)
			this.fit(box, sphere);
		await this.drawNow();
		return { size: box.getSize(new THREE.Vector3()).toArray() };
	}

	fit(box, sphere) {
		const r = Math.max(sphere.radius, 1e-3);
		const fov = this.camera.fov * Math.PI / 180;
		const aspect = Math.min(this.camera.aspect || 1, 1);
		const dist = r / Math.sin(fov * aspect / 2) * 1.1;
		const dir = new THREE.Vector3(1, -1.4, 0.9).normalize();
		this.camera.position.copy(sphere.center).addScaledVector(dir,
		    dist);
		this.camera.near = dist / 100;
		this.camera.far = dist * 100;
		this.camera.updateProjectionMatrix();
		this.controls.target.copy(sphere.center);
		this.controls.update();
		this.fitted = sphere.clone();
		if (this.grid)
			this.scene.remove(this.grid);
		const step = niceStep(r / 4);
		const n = 2 * Math.ceil(2 * r / step);
		this.grid = new THREE.GridHelper(n * step, n, 0xb0b6bf,
		    0xd5d9de);
		this.grid.rotation.x = Math.PI / 2;
		// lines at whole steps of the part's own coordinates
		this.grid.position.set(Math.round(sphere.center.x / step) *
		    step, Math.round(sphere.center.y / step) * step, box.min.z);
		this.scene.add(this.grid);
		this.gridStep = step;
	}

	refit() {
		if (!this.model)
			return;
		const box = new THREE.Box3().setFromObject(this.model);
		this.fit(box, box.getBoundingSphere(new THREE.Sphere()));
		this.draw();
	}

	clear() {
		if (this.model)
			this.scene.remove(this.model);
		this.model = null;
		this.draw();
	}
}
