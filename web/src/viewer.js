// The 3D player's picture: three skeletons (you, the trainer matched to you, the
// corrected ghost) drawn with three.js, side by side or overlaid, turned with the mouse
// or a finger (OrbitControls). It draws only when something changed.
import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";

export const FIGURES = [
  { key: "user", name: "You", colour: "#1f5fbf" },
  { key: "trainer", name: "Trainer (matched to you)", colour: "#6b6b6b" },
  { key: "ghost", name: "Corrected", colour: "#1a8a4a" },
];
const SPACING_M = 1.0; // between figures side by side
const BONE_RADIUS_M = 0.022;
const JOINT_RADIUS_M = 0.035;
const BACKGROUND = "#f6f7f9";

/** The API's camera-space poses (x right, y down, z away) in three.js's axes (y up,
 * z towards the viewer): a flat Float32Array per figure, [frame][joint][xyz]. */
function toScene(frames) {
  const out = new Float32Array(frames.length * frames[0].length * 3);
  let i = 0;
  for (const pose of frames) {
    for (const [x, y, z] of pose) {
      out[i++] = x;
      out[i++] = -y;
      out[i++] = -z;
    }
  }
  return out;
}

class Skeleton {
  constructor(scene, motion, colour, bones) {
    this.positions = toScene(motion);
    this.joints = motion[0].length;
    this.bones = bones;
    this.offset = new THREE.Vector3();
    const material = new THREE.MeshStandardMaterial({ color: colour, roughness: 0.6, transparent: true });
    this.boneMesh = new THREE.InstancedMesh(new THREE.CylinderGeometry(BONE_RADIUS_M, BONE_RADIUS_M, 1, 10), material, bones.length);
    this.jointMesh = new THREE.InstancedMesh(new THREE.SphereGeometry(JOINT_RADIUS_M, 12, 8), material, this.joints);
    this.material = material;
    scene.add(this.boneMesh, this.jointMesh);
  }

  joint(frame, j, target) {
    const at = (frame * this.joints + j) * 3;
    return target.set(this.positions[at], this.positions[at + 1], this.positions[at + 2]).add(this.offset);
  }

  show(frame) {
    const a = new THREE.Vector3();
    const b = new THREE.Vector3();
    const matrix = new THREE.Matrix4();
    const turn = new THREE.Quaternion();
    const up = new THREE.Vector3(0, 1, 0);
    const one = new THREE.Vector3(1, 1, 1);
    for (let j = 0; j < this.joints; j++) {
      this.jointMesh.setMatrixAt(j, matrix.compose(this.joint(frame, j, a), turn.identity(), one));
    }
    this.bones.forEach(([parent, child], i) => {
      this.joint(frame, parent, a);
      this.joint(frame, child, b);
      const direction = b.clone().sub(a);
      const length = direction.length();
      turn.setFromUnitVectors(up, direction.normalize());
      const middle = a.add(b).multiplyScalar(0.5);
      this.boneMesh.setMatrixAt(i, matrix.compose(middle, turn, new THREE.Vector3(1, Math.max(length, 1e-4), 1)));
    });
    this.boneMesh.instanceMatrix.needsUpdate = true;
    this.jointMesh.instanceMatrix.needsUpdate = true;
  }

  set visible(value) {
    this.boneMesh.visible = value;
    this.jointMesh.visible = value;
  }

  get visible() {
    return this.boneMesh.visible;
  }

  dispose() {
    for (const mesh of [this.boneMesh, this.jointMesh]) mesh.geometry.dispose();
    this.material.dispose();
  }
}

const KEY_TURN_DEG = 15; // one arrow key press
const KEY_ZOOM = 1.15; // one + or - press

export class SkeletonViewer {
  /** Draws ``motion`` (the API's MotionPublic) into ``container``. */
  constructor(container, motion, label) {
    this.frames = motion.user.length;
    this.frame = 0;
    this.layout = "side";
    // preserveDrawingBuffer: the picture can be read back (a screenshot, the browser test).
    this.renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
    const canvas = this.renderer.domElement;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", label);
    canvas.id = "player-canvas";
    // Focusable, so the view turns from the keyboard too (see onKey).
    canvas.tabIndex = 0;
    canvas.addEventListener("keydown", (event) => this.onKey(event));
    container.append(canvas);
    this.container = container;

    this.scene = new THREE.Scene();
    this.scene.background = new THREE.Color(BACKGROUND);
    this.scene.add(new THREE.HemisphereLight("#ffffff", "#8a8f99", 2.2));
    const sun = new THREE.DirectionalLight("#ffffff", 1.5);
    sun.position.set(1, 3, 2);
    this.scene.add(sun);

    this.skeletons = Object.fromEntries(
      FIGURES.map((f) => [f.key, new Skeleton(this.scene, motion[f.key], f.colour, motion.bones)]),
    );
    const heights = this.skeletons.user.positions.filter((_, i) => i % 3 === 1);
    this.floor = heights.reduce((low, y) => Math.min(low, y), Infinity);
    const grid = new THREE.GridHelper(6, 24, "#b8bec8", "#dde1e7");
    grid.position.y = this.floor;
    this.scene.add(grid);

    this.camera = new THREE.PerspectiveCamera(35, 1, 0.05, 50);
    this.controls = new OrbitControls(this.camera, canvas);
    this.controls.addEventListener("change", () => this.render());
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(container);
    this.arrange();
    this.resetView();
  }

  /** "side" (figures next to each other) or "overlay" (on top of each other). */
  setLayout(layout) {
    this.layout = layout;
    this.arrange();
    this.resetView();
  }

  setVisible(key, visible) {
    this.skeletons[key].visible = visible;
    this.arrange();
    this.render();
  }

  arrange() {
    const shown = FIGURES.filter((f) => this.skeletons[f.key].visible);
    shown.forEach((f, i) => {
      const skeleton = this.skeletons[f.key];
      const x = this.layout === "side" ? (i - (shown.length - 1) / 2) * SPACING_M : 0;
      skeleton.offset.set(x, 0, 0);
      // Overlaid, the matched and corrected figures are see-through over yours.
      skeleton.material.opacity = this.layout === "overlay" && f.key !== "user" ? 0.45 : 1;
      skeleton.material.depthWrite = skeleton.material.opacity === 1;
    });
    this.showFrame(this.frame);
  }

  /** Frame the figures: the camera far enough back that they fit the canvas's width. */
  resetView() {
    const width = this.layout === "side" ? 3 * SPACING_M : 1.2;
    const aspect = this.camera.aspect;
    const half = THREE.MathUtils.degToRad(this.camera.fov / 2);
    const distance = Math.max(1.2 / Math.tan(half), width / 2 / (Math.tan(half) * aspect)) * 1.1;
    const middle = this.floor + 0.9;
    this.controls.target.set(0, middle, 0);
    this.camera.position.set(0, middle + 0.3, distance);
    this.controls.update();
    this.render();
  }

  /**
   * Arrow keys turn the view around the figures (left/right about the vertical, up/down
   * over them), + and - move it closer or further: what dragging and pinching do.
   */
  onKey(event) {
    const step = THREE.MathUtils.degToRad(KEY_TURN_DEG);
    const turns = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    const zooms = { "+": 1 / KEY_ZOOM, "=": 1 / KEY_ZOOM, "-": KEY_ZOOM };
    if (!(event.key in turns) && !(event.key in zooms)) return;
    event.preventDefault();
    const offset = this.camera.position.clone().sub(this.controls.target);
    const spherical = new THREE.Spherical().setFromVector3(offset);
    if (event.key in turns) {
      const [azimuth, polar] = turns[event.key];
      spherical.theta += azimuth;
      spherical.phi = THREE.MathUtils.clamp(spherical.phi + polar, 0.05, Math.PI - 0.05);
    } else {
      spherical.radius *= zooms[event.key];
    }
    this.camera.position.copy(this.controls.target).add(new THREE.Vector3().setFromSpherical(spherical));
    this.controls.update();
    this.render();
  }

  /** The camera's turn about the vertical, in degrees (0: from the front). */
  azimuthDeg() {
    const offset = this.camera.position.clone().sub(this.controls.target);
    return THREE.MathUtils.radToDeg(Math.atan2(offset.x, offset.z));
  }

  showFrame(frame) {
    this.frame = Math.min(this.frames - 1, Math.max(0, frame));
    for (const skeleton of Object.values(this.skeletons)) skeleton.show(this.frame);
    this.render();
  }

  resize() {
    const width = this.container.clientWidth;
    const height = this.container.clientHeight;
    if (!width || !height) return;
    this.renderer.setSize(width, height, false);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.resetView();
  }

  render() {
    this.renderer.render(this.scene, this.camera);
    // Where the view is turned (what a screen reader or a test can read back).
    this.renderer.domElement.dataset.azimuthDeg = this.azimuthDeg().toFixed(1);
  }

  dispose() {
    this.resizer.disconnect();
    this.controls.dispose();
    for (const skeleton of Object.values(this.skeletons)) skeleton.dispose();
    this.renderer.dispose();
  }
}
