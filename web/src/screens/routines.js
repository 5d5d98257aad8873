// The catalogue: published routines and a trainer's own; a trainer publishes from here.
import { api } from "../api.js";
import { errorBox, h, say, seconds, show, words } from "../dom.js";

const MAKERS = new Set(["trainer", "admin"]);

function routineCard(routine, maker, refresh) {
  const problem = h("div", {});
  const publish = async () => {
    try {
      await api(`/routines/${routine.id}`, { method: "PATCH", json: { published: true } });
      say(`${routine.name} is published.`);
      refresh();
    } catch (error) {
      problem.replaceChildren(errorBox(error));
    }
  };
  return h(
    "li",
    { class: "card routine", "data-routine-id": routine.id },
    h("h2", {}, routine.name),
    h(
      "p",
      { class: "meta" },
      `${words(routine.movement)} · ${routine.reps} reps · ${seconds(routine.frames / routine.fps)} · `,
      routine.published ? "published" : "private (only you see it)",
    ),
    h(
      "div",
      { class: "actions" },
      h("a", { class: "button", href: `#/routines/${routine.id}/try`, "aria-label": `Try it: ${routine.name}` }, "Try it"),
      maker && !routine.published
        ? h("button", { type: "button", class: "secondary", onclick: publish, "aria-label": `Publish: ${routine.name}` }, "Publish")
        : null,
    ),
    problem,
  );
}

export async function routinesScreen(main, _params, context) {
  const maker = MAKERS.has(context.me.role);
  const refresh = () => routinesScreen(main, _params, context);
  const routines = await api("/routines");
  show(main, 
    h("h1", {}, "Routines"),
    maker
      ? h("p", {}, h("a", { class: "button", href: "#/routines/new", id: "new-routine" }, "New routine"))
      : null,
    routines.length
      ? h("ul", { class: "cards", id: "routines" }, routines.map((r) => routineCard(r, maker, refresh)))
      : h("p", {}, "No routine is published yet."),
  );
}
