// A user tries a routine: a video or keypoint file, scored in the background.
import { api } from "../api.js";
import { errorBox, h, seconds, show, words } from "../dom.js";
import { isKeypointFile, readKeypoints, recordingField, uploadWithProgress } from "../recording.js";

export async function tryScreen(main, [routineId]) {
  const routine = await api(`/routines/${routineId}`);
  const sent = h("progress", { max: 1, value: 0, hidden: true, "aria-label": "Upload" });
  const problem = h("div", {});
  const submit = h("button", { type: "submit", id: "send-recording" }, "Send for feedback");
  const recording = recordingField("session-file", "Your recording");
  const keep = h("input", { id: "keep-video", type: "checkbox" });
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "try-title" },
    h("h1", { id: "try-title" }, `Try ${routine.name}`),
    h("p", { class: "meta" }, `${words(routine.movement)} · ${routine.reps} reps · ${seconds(routine.frames / routine.fps)}`),
    recording.elements,
    h(
      "div",
      { class: "check" },
      keep,
      h("label", { for: "keep-video" }, "Keep my video (to watch it beside the 3D player; otherwise it is deleted once scored)"),
    ),
    sent,
    problem,
    h("div", { class: "actions" }, submit),
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = recording.file();
    if (!file) return;
    problem.replaceChildren();
    submit.disabled = true;
    try {
      let job;
      if (isKeypointFile(file)) {
        const keypoints = await readKeypoints(file, "keypoints");
        job = await api("/session-jobs", { method: "POST", json: { routine_id: routine.id, keypoints } });
      } else {
        const data = new FormData();
        data.set("routine_id", String(routine.id));
        data.set("keep_video", keep.checked ? "true" : "false");
        data.set("video", file);
        job = await uploadWithProgress("/videos", data, sent);
      }
      location.hash = `#/jobs/${job.id}`;
    } catch (error) {
      problem.replaceChildren(errorBox(error));
      submit.disabled = false;
    }
  });
  show(main, form);
  return () => recording.stop();
}
