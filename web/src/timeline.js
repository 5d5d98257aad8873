// The errors on the session's timeline: one row per error, its bar spanning when it
// happened, named in words; a bar is a button (click, Enter or Space seeks the player
// to its start) and the one under the playhead is highlighted while playing.
import { h, seconds, words } from "./dom.js";

function percent(time, duration) {
  return `${(100 * Math.min(duration, Math.max(0, time))) / duration}%`;
}

/** The timeline of ``errors`` (the report's) over ``duration`` seconds; ``seek(time)``
 * is called with an error's start. Returns {element, update(time)}. */
export function errorTimeline(errors, duration, seek) {
  const playhead = h("div", { class: "playhead", "aria-hidden": "true" });
  const rows = errors.map((error, index) => {
    const bar = h(
      "button",
      {
        type: "button",
        class: `bar segment-${error.segment}`,
        id: `error-${index}`,
        "data-start": error.start_s,
        "data-end": error.end_s,
        "aria-label": `${words(error.kind)} (${words(error.segment)}) from ${seconds(error.start_s)} to ${seconds(error.end_s)}: ${error.cue}. Show it.`,
        title: error.cue,
        onclick: () => seek(error.start_s),
      },
      h("span", { class: "bar-text" }, seconds(error.start_s)),
    );
    bar.style.left = percent(error.start_s, duration);
    bar.style.width = `max(2.75rem, ${percent(error.end_s - error.start_s, duration)})`;
    return h(
      "li",
      { class: "timeline-row" },
      h("span", { class: "row-label" }, `${words(error.kind)} · ${words(error.segment)}`),
      h("div", { class: "track" }, bar),
    );
  });
  const ticks = [0, duration / 2, duration].map((t) => {
    const tick = h("span", { class: "tick" }, seconds(t));
    tick.style.left = percent(t, duration);
    return tick;
  });
  const element = h(
    "div",
    { class: "timeline" },
    rows.length
      ? h("ol", { class: "timeline-rows", "aria-label": "Errors over time" }, rows)
      : h("p", {}, "No form errors: nothing to show on the timeline."),
    h("div", { class: "axis", "aria-hidden": "true" }, ticks, h("span", { class: "axis-unit" }, "time (s)")),
    rows.length ? playhead : null, // over no rows it would only cross the sentence
  );
  const bars = rows.map((row) => row.querySelector(".bar"));

  function update(time) {
    playhead.style.left = percent(time, duration);
    errors.forEach((error, i) => {
      const active = time >= error.start_s && time <= error.end_s;
      bars[i].classList.toggle("active", active);
      bars[i].setAttribute("aria-current", active ? "true" : "false");
    });
  }
  update(0);
  return { element, update };
}
