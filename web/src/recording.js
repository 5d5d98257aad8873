// What a person sends: a video file (the server finds the keypoints) or a keypoint
// sequence JSON file (as the phone app sends).
import { ApiError, upload } from "./api.js";
import { cameraRecorder, cameraSupported } from "./camera.js";
import { h } from "./dom.js";

// Keypoint files are read in the page: the API takes up to ~44 MB of keypoints.
const MAX_KEYPOINT_FILE_BYTES = 48 * 1024 * 1024;

/** The recording field: a labelled file input for a video or a keypoint JSON file and,
 * where the browser can, "Record with the camera". Returns {elements, file(), stop()}:
 * ``file()`` is the last one chosen or recorded, ``stop()`` turns the camera off. */
export function recordingField(id, label) {
  let recorded = null;
  const input = h("input", { id, name: "recording", type: "file", accept: "video/*,.json,application/json", required: true });
  const camera = cameraSupported()
    ? cameraRecorder(id, (file) => {
        recorded = file;
        input.required = file === null; // a recording stands in for the chosen file
        if (file) input.value = "";
      })
    : null;
  input.addEventListener("change", () => {
    recorded = null;
    input.required = true;
  });
  return {
    elements: [
      h("label", { for: id }, label),
      input,
      h("p", { class: "hint", id: `${id}-hint` }, "A video (MP4, MOV, WebM), or a keypoint sequence JSON file from the phone app."),
      camera?.element,
    ],
    file: () => recorded ?? input.files[0],
    stop: () => camera?.stop(),
  };
}

export function isKeypointFile(file) {
  return file.name.toLowerCase().endsWith(".json") || file.type === "application/json";
}

/** The keypoint sequence in a JSON ``file``; an ApiError naming the file when it is not. */
export async function readKeypoints(file, field) {
  if (file.size > MAX_KEYPOINT_FILE_BYTES) {
    throw new ApiError(413, "too_large", "The keypoint file is too large.", field);
  }
  try {
    return JSON.parse(await file.text());
  } catch {
    throw new ApiError(422, "invalid_json", "The keypoint file is not JSON.", field);
  }
}

/** Upload a multipart ``form`` to ``path`` showing the share sent in ``bar``. */
export function uploadWithProgress(path, form, bar) {
  bar.hidden = false;
  return upload(path, form, (share) => {
    bar.value = share;
  });
}
