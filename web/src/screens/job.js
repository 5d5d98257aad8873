// A background job followed to its end: a progress bar, its stage, cancel; once done
// the screen moves on to what it made.
import { api } from "../api.js";
import { errorBox, h, say, show, words } from "../dom.js";

const POLL_MS = 1000;

export function jobScreen(main, [jobId]) {
  const bar = h("progress", { id: "job-progress", max: 1, value: 0, "aria-labelledby": "job-stage" });
  const stage = h("p", { id: "job-stage" }, "Waiting for the job to start…");
  const problem = h("div", {});
  let timer = null;
  let stopped = false;
  const cancel = h(
    "button",
    {
      type: "button",
      class: "secondary",
      onclick: async () => {
        try {
          await api(`/jobs/${jobId}/cancel`, { method: "POST" });
        } catch (error) {
          problem.replaceChildren(errorBox(error));
        }
      },
    },
    "Cancel",
  );

  async function poll() {
    let job;
    try {
      job = await api(`/jobs/${jobId}`);
    } catch (error) {
      problem.replaceChildren(errorBox(error));
      return;
    }
    if (stopped) return;
    bar.value = job.progress;
    stage.textContent = `${words(job.status)}: ${words(job.stage || "waiting")} (${Math.round(job.progress * 100)}%)`;
    if (job.status === "done") {
      say("Done.");
      location.hash = job.session_id ? `#/sessions/${job.session_id}` : "#/routines";
    } else if (job.status === "failed" || job.status === "cancelled") {
      cancel.disabled = true;
      problem.replaceChildren(h("p", { class: "error", role: "alert" }, job.error || `The job was ${job.status}.`));
    } else {
      timer = setTimeout(poll, POLL_MS);
    }
  }

  show(main, h("h1", {}, "Working on it"), stage, bar, problem, h("div", { class: "actions" }, cancel));
  poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
