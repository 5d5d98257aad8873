// What a person sends: a video file (the server finds the keypoints) or a keypoint
// sequence JSON file (as the phone app sends).
import { ApiError, upload } from "./api.js";
import { h } from "./dom.js";

// Keypoint files are read in the page: the API takes up to ~44 MB of keypoints.
const MAX_KEYPOINT_FILE_BYTES = 48 * 1024 * 1024;

/** A labelled file input for a video or a keypoint JSON file. */
export function recordingInput(id, label) {
  return [
    h("label", { for: id }, label),
    h("input", { id, name: "recording", type: "file", accept: "video/*,.json,application/json", required: true }),
    h("p", { class: "hint", id: `${id}-hint` }, "A video (MP4, MOV, WebM), or a keypoint sequence JSON file from the phone app."),
  ];
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
