// The session view: the 3D player (you, the trainer matched to you, the corrected
// ghost), the error timeline synchronised with it, the cues, the scores, the progress
// chart over the user's sessions of this routine, and the printable report.
import { api } from "../api.js";
import { progressChart } from "../chart.js";
import { errorBox, h, say, seconds, show, words } from "../dom.js";
import { Player } from "../player.js";
import { errorTimeline } from "../timeline.js";
import { syncedVideo } from "../video-sync.js";
import { FIGURES, SkeletonViewer } from "../viewer.js";

function scores(session) {
  const report = session.report;
  return h(
    "section",
    { class: "card", "aria-labelledby": "scores-title" },
    h("h2", { id: "scores-title" }, "Scores"),
    h("p", { class: "score", id: "overall-score" }, `${Math.round(report.score)}`, h("small", {}, " / 100")),
    h("p", { class: "meta" }, `${report.reps} repetitions · tempo ${Number(report.tempo.mean ?? 1).toFixed(2)}× the trainer's · strictness ${report.strictness}`),
    h(
      "table",
      { class: "segments" },
      h("caption", {}, "Per body segment (out of 100)"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Segment"), h("th", { scope: "col" }, "Score"))),
      h(
        "tbody",
        {},
        Object.entries(report.segments).map(([segment, value]) =>
          h("tr", {}, h("th", { scope: "row" }, words(segment)), h("td", {}, String(Math.round(value)))),
        ),
      ),
    ),
  );
}

function cues(errors, seek) {
  const byCue = new Map();
  for (const error of errors) byCue.set(error.cue, [...(byCue.get(error.cue) ?? []), error]);
  const items = [...byCue].map(([cue, events]) =>
    h(
      "li",
      {},
      h("strong", {}, cue),
      " ",
      events.map((e) =>
        h(
          "button",
          { type: "button", class: "chip", onclick: () => seek(e.start_s), "aria-label": `${cue}: show ${seconds(e.start_s)} to ${seconds(e.end_s)}` },
          `${e.start_s.toFixed(1)}–${e.end_s.toFixed(1)} s`,
        ),
      ),
    ),
  );
  return h(
    "section",
    { class: "card", "aria-labelledby": "cues-title" },
    h("h2", { id: "cues-title" }, "What to work on"),
    items.length ? h("ul", { class: "cues", id: "cues" }, items) : h("p", {}, "No form errors found. Great work!"),
  );
}

function notes(report) {
  if (!report.notes.length) return null;
  return h(
    "section",
    { class: "card", "aria-labelledby": "notes-title" },
    h("h2", { id: "notes-title" }, "What could not be judged"),
    h("ul", {}, report.notes.map((n) => h("li", {}, n.message))),
  );
}

function playerControls(player, viewer, motion) {
  const play = h("button", { type: "button", id: "play", "aria-label": "Play" }, "▶ Play");
  const scrubber = h("input", {
    id: "scrubber",
    type: "range",
    min: 0,
    max: motion.duration_s,
    step: 1 / motion.fps,
    value: 0,
  });
  const clock = h("output", { id: "clock", for: "scrubber" }, "");
  play.addEventListener("click", () => player.toggle());
  scrubber.addEventListener("input", () => {
    const time = Number(scrubber.value); // read first: pausing redraws the scrubber
    player.pause();
    player.seek(time);
  });
  const layout = (value, text, checked) =>
    h(
      "label",
      { class: "check" },
      h("input", { type: "radio", name: "layout", value, checked, onchange: () => viewer.setLayout(value) }),
      text,
    );
  const toggles = FIGURES.map((f) =>
    h(
      "label",
      { class: "check" },
      h("input", { type: "checkbox", checked: true, id: `show-${f.key}`, onchange: (e) => viewer.setVisible(f.key, e.target.checked) }),
      h("span", { class: `swatch swatch-${f.key}`, "aria-hidden": "true" }),
      f.name,
    ),
  );
  player.onChange((time, playing) => {
    scrubber.value = String(time);
    scrubber.setAttribute("aria-valuetext", `${seconds(time)} of ${seconds(motion.duration_s)}`);
    clock.textContent = `${seconds(time)} / ${seconds(motion.duration_s)}`;
    play.textContent = playing ? "❚❚ Pause" : "▶ Play";
    play.setAttribute("aria-label", playing ? "Pause" : "Play");
  });
  return h(
    "div",
    { class: "controls" },
    h("div", { class: "transport" }, play, h("label", { for: "scrubber", class: "visually-hidden" }, "Time in the session (seconds)"), scrubber, clock),
    h("fieldset", {}, h("legend", {}, "Figures"), toggles),
    h(
      "fieldset",
      {},
      h("legend", {}, "Layout"),
      layout("side", "Side by side", true),
      layout("overlay", "Overlaid", false),
      h("button", { type: "button", class: "secondary", onclick: () => viewer.resetView() }, "Reset view"),
    ),
  );
}

function printable(sessionId) {
  const problem = h("div", {});
  const open = async () => {
    try {
      const link = await api(`/sessions/${sessionId}/report-link`, { method: "POST" });
      window.open(link.url, "_blank", "noopener");
    } catch (error) {
      problem.replaceChildren(errorBox(error));
    }
  };
  return h("p", {}, h("button", { type: "button", class: "secondary", onclick: open }, "Printable report"), problem);
}

export async function sessionScreen(main, [sessionId]) {
  const session = await api(`/sessions/${sessionId}`);
  const title = h("h1", {}, `${session.routine_name}: ${new Date(session.created_at).toLocaleString()}`);
  let motion;
  try {
    motion = await api(`/sessions/${sessionId}/motion`);
  } catch (error) {
    // The trainer deleted the routine: the scores and cues are still the user's.
    show(main, title, errorBox(error), scores(session), cues(session.report.errors, () => {}), notes(session.report));
    return undefined;
  }
  const errors = session.report.errors;
  const player = new Player(motion.duration_s, motion.fps);
  const stage = h("div", { class: "stage", id: "player" });
  const label = `3D player: you (blue), the trainer matched to you (grey) and the corrected you (green), ${seconds(motion.duration_s)}, ${errors.length} errors marked on the timeline below.`;
  const seek = (time) => {
    player.pause();
    player.seek(time);
    say(`At ${seconds(time)}.`);
  };
  const timeline = errorTimeline(errors, motion.duration_s, seek);
  const video = session.video_kept ? syncedVideo(session.id, player) : null;
  const progress = h("section", { class: "card", "aria-labelledby": "progress-title" }, h("h2", { id: "progress-title" }, "Your progress on this routine"));

  show(main, 
    title,
    h(
      "section",
      { class: "card player", "aria-labelledby": "player-title" },
      h("h2", { id: "player-title" }, session.video_kept ? "Your motion in 3D and your video" : "Your motion in 3D"),
      h("div", { class: "player-pair" }, h("div", {}, stage, h("p", { class: "hint" }, "Drag to turn the view, pinch or scroll to zoom; or focus it and use the arrow keys, + and -.")), video?.element),
    ),
    h("section", { class: "card", "aria-labelledby": "timeline-title" }, h("h2", { id: "timeline-title" }, "Errors over time"), timeline.element),
    cues(errors, seek),
    scores(session),
    notes(session.report),
    progress,
    printable(session.id),
  );
  const viewer = new SkeletonViewer(stage, motion, label);
  stage.after(playerControls(player, viewer, motion));
  player.onChange((time) => {
    viewer.showFrame(player.frameIndex(motion.user.length));
    timeline.update(time);
  });
  player.seek(0);
  stage.dataset.fps = String(motion.fps);

  api(`/routines/${session.routine_id}/progress`)
    .then((points) => progress.append(progressChart(points, session.id)))
    .catch((error) => progress.append(errorBox(error)));

  return () => {
    video?.stop();
    player.stop();
    viewer.dispose();
  };
}
