// The user's sessions, newest first.
import { api } from "../api.js";
import { h, show } from "../dom.js";

export async function sessionsScreen(main) {
  const page = await api("/sessions?limit=100");
  show(main, 
    h("h1", {}, "My sessions"),
    page.items.length
      ? h(
          "ul",
          { class: "cards" },
          page.items.map((s) =>
            h(
              "li",
              { class: "card" },
              h("h2", {}, h("a", { href: `#/sessions/${s.id}` }, `${s.routine_name}, ${new Date(s.created_at).toLocaleString()}`)),
              h("p", { class: "meta" }, `Score ${Math.round(s.score)}/100 · ${s.report.reps} reps · ${s.report.errors.length} cues`),
            ),
          ),
        )
      : h("p", {}, "No session yet: pick a routine and try it."),
  );
}
