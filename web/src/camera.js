// Recording with the webcam in the page: getUserMedia + MediaRecorder (WebM), a live
// preview, start and stop with a timer; the recording then goes up like a chosen file.
import { h, seconds } from "./dom.js";

// Stopped well before the API's video limits (COACH_VIDEO_MAX_BYTES, 256 MiB, and
// COACH_VIDEO_MAX_PIXELS, 3 minutes of 1080p at 30 fps): 170 s at 2.5 Mbit/s of 720p is
// about 53 MB, and the byte cap stops even an encoder that ignores the bit rate.
export const MAX_SECONDS = 170;
export const MAX_BYTES = 240 * 1024 * 1024;
const BITS_PER_SECOND = 2_500_000;
const TYPE = "video/webm";

/** Whether this browser can record the camera to WebM (and the page may ask for it). */
export function cameraSupported() {
  return (
    window.isSecureContext &&
    Boolean(navigator.mediaDevices?.getUserMedia) &&
    typeof MediaRecorder !== "undefined" &&
    MediaRecorder.isTypeSupported(TYPE)
  );
}

/** The "Record with the camera" panel for the form field ``id``: ``onRecorded(file)``
 * gets the WebM as a File, or null when a new recording starts. Returns {element, stop}
 * (``stop`` turns the camera off: when the screen is left). */
export function cameraRecorder(id, onRecorded) {
  const preview = h("video", { id: `${id}-preview`, muted: true, playsInline: true, autoplay: true, "aria-label": "Camera preview (live)" });
  preview.hidden = true;
  const clock = h("output", { id: `${id}-clock`, "aria-live": "off" }, "");
  const state = h("p", { class: "hint", id: `${id}-state`, role: "status" }, `Up to ${seconds(MAX_SECONDS)}, video only (no sound).`);
  const open = h("button", { type: "button", class: "secondary", id: `${id}-open` }, "Record with the camera");
  const start = h("button", { type: "button", id: `${id}-start`, disabled: true }, "● Start recording");
  const stopButton = h("button", { type: "button", class: "secondary", id: `${id}-stop`, disabled: true }, "■ Stop");
  let stream = null;
  let recorder = null;
  let timer = null;

  function cameraOff() {
    for (const track of stream?.getTracks() ?? []) track.stop();
    stream = null;
    preview.srcObject = null;
    preview.hidden = true;
    start.disabled = true;
  }

  open.addEventListener("click", async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 1280, max: 1920 }, height: { ideal: 720, max: 1080 }, frameRate: { ideal: 30, max: 30 } },
        audio: false,
      });
    } catch (error) {
      state.textContent = `The camera cannot be used: ${error.message || error.name}.`;
      return;
    }
    preview.srcObject = stream;
    preview.hidden = false;
    start.disabled = false;
    state.textContent = "The camera is on. Step back so your whole body is in view, then start.";
  });

  start.addEventListener("click", () => {
    const parts = [];
    let bytes = 0;
    const began = performance.now();
    recorder = new MediaRecorder(stream, { mimeType: TYPE, videoBitsPerSecond: BITS_PER_SECOND });
    recorder.addEventListener("dataavailable", (event) => {
      parts.push(event.data);
      bytes += event.data.size;
      if (bytes > MAX_BYTES && recorder.state === "recording") recorder.stop();
    });
    recorder.addEventListener("stop", () => {
      clearInterval(timer);
      const taken = (performance.now() - began) / 1000;
      // A plain type: the server takes media-type parameters, but the file's is enough.
      const file = new File(parts, "recording.webm", { type: TYPE });
      stopButton.disabled = true;
      start.disabled = stream === null;
      state.textContent = `Recorded ${seconds(taken)} (${(file.size / 1e6).toFixed(1)} MB): it is sent with the form.`;
      onRecorded(file);
    });
    onRecorded(null);
    recorder.start(1000); // a part each second: the byte cap is checked as it grows
    start.disabled = true;
    stopButton.disabled = false;
    state.textContent = "Recording…";
    timer = setInterval(() => {
      const taken = (performance.now() - began) / 1000;
      clock.textContent = `${seconds(taken)} of at most ${seconds(MAX_SECONDS)}`;
      if (taken >= MAX_SECONDS && recorder.state === "recording") recorder.stop();
    }, 250);
  });

  stopButton.addEventListener("click", () => {
    if (recorder?.state === "recording") recorder.stop();
  });

  const element = h(
    "fieldset",
    { class: "camera", id: `${id}-camera` },
    h("legend", {}, "Or record with the camera"),
    open,
    preview,
    h("div", { class: "actions" }, start, stopButton, clock),
    state,
  );
  return {
    element,
    stop() {
      clearInterval(timer);
      if (recorder?.state === "recording") recorder.stop();
      cameraOff();
    },
  };
}
