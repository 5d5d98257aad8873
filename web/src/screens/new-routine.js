// A trainer makes a routine from a video (a job: keypoints found on the server) or from
// a keypoint JSON file (lifted at once), published now or later.
import { api } from "../api.js";
import { errorBox, h, say, show, words } from "../dom.js";
import { isKeypointFile, readKeypoints, recordingField, uploadWithProgress } from "../recording.js";

const MOVEMENTS = ["squat", "lunge", "push_up", "jumping_jack", "arm_raise", "dance", "other"];

export function newRoutineScreen(main) {
  const name = h("input", { id: "routine-name", name: "name", required: true, maxLength: 120 });
  const movement = h(
    "select",
    { id: "routine-movement", name: "movement" },
    MOVEMENTS.map((m) => h("option", { value: m }, words(m))),
  );
  const published = h("input", { id: "routine-published", type: "checkbox", checked: true });
  const sent = h("progress", { max: 1, value: 0, hidden: true, "aria-label": "Upload" });
  const problem = h("div", {});
  const submit = h("button", { type: "submit", id: "create-routine" }, "Create routine");
  const recording = recordingField("routine-file", "Your recording");
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "new-routine-title" },
    h("h1", { id: "new-routine-title" }, "New routine"),
    h("label", { for: "routine-name" }, "Name"),
    name,
    h("label", { for: "routine-movement" }, "Movement"),
    movement,
    recording.elements,
    h("div", { class: "check" }, published, h("label", { for: "routine-published" }, "Publish it (every user can try it)")),
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
      if (isKeypointFile(file)) {
        const keypoints = await readKeypoints(file, "keypoints");
        const body = { name: name.value, movement: movement.value, keypoints, published: published.checked };
        await api("/routines", { method: "POST", json: body });
        say(`${name.value} is saved.`);
        location.hash = "#/routines";
      } else {
        const data = new FormData();
        data.set("name", name.value);
        data.set("movement", movement.value);
        data.set("published", published.checked ? "true" : "false");
        data.set("video", file);
        const job = await uploadWithProgress("/routines/video", data, sent);
        location.hash = `#/jobs/${job.id}`;
      }
    } catch (error) {
      problem.replaceChildren(errorBox(error));
      submit.disabled = false;
    }
  });
  show(main, form);
  return () => recording.stop();
}
