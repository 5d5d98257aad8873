// The progress chart: the user's scores over their sessions of a routine, as SVG with
// both axes labelled in their units.
import { h, svg } from "./dom.js";

const WIDTH = 480;
const HEIGHT = 240;
const PAD = { left: 56, right: 16, top: 16, bottom: 52 };

function dateLabel(iso) {
  return new Date(iso).toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

/** ``points`` (the API's ProgressPoint list, oldest first) with ``currentId`` marked. */
export function progressChart(points, currentId) {
  if (points.length === 0) return h("p", {}, "No session of this routine yet.");
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const x = (i) => PAD.left + (points.length === 1 ? plotWidth / 2 : (i * plotWidth) / (points.length - 1));
  const y = (score) => PAD.top + plotHeight * (1 - score / 100);
  const first = Math.round(points[0].score);
  const last = Math.round(points[points.length - 1].score);
  const summary = `Your scores over ${points.length} session${points.length > 1 ? "s" : ""} of this routine, from ${first} to ${last} out of 100.`;
  const grid = [0, 25, 50, 75, 100].map((score) => [
    svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(score), y2: y(score), class: "grid" }),
    svg("text", { x: PAD.left - 8, y: y(score) + 4, "text-anchor": "end" }, String(score)),
  ]);
  const every = Math.ceil(points.length / 6); // at most ~6 date labels
  const dates = points.map((p, i) =>
    i % every === 0 || i === points.length - 1
      ? svg("text", { x: x(i), y: HEIGHT - PAD.bottom + 18, "text-anchor": "middle" }, dateLabel(p.created_at))
      : null,
  );
  const line = svg("polyline", { class: "line", points: points.map((p, i) => `${x(i)},${y(p.score)}`).join(" ") });
  const dots = points.map((p, i) =>
    svg(
      "circle",
      { cx: x(i), cy: y(p.score), r: p.session_id === currentId ? 7 : 4, class: p.session_id === currentId ? "dot current" : "dot" },
      svg("title", {}, `${dateLabel(p.created_at)}: ${Math.round(p.score)}/100, ${p.reps} reps, ${p.errors} cues`),
    ),
  );
  return svg(
    "svg",
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": summary, class: "chart", id: "progress-chart" },
    svg("title", {}, summary),
    grid,
    svg("line", { x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: HEIGHT - PAD.bottom, class: "axis-line" }),
    svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: HEIGHT - PAD.bottom, y2: HEIGHT - PAD.bottom, class: "axis-line" }),
    dates,
    line,
    dots,
    svg("text", { x: 14, y: PAD.top + plotHeight / 2, "text-anchor": "middle", transform: `rotate(-90 14 ${PAD.top + plotHeight / 2})` }, "score (0–100)"),
    svg("text", { x: PAD.left + plotWidth / 2, y: HEIGHT - 8, "text-anchor": "middle" }, "session date"),
  );
}
