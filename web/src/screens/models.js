// The served models: kind, version, where they come from and their evaluation figures.
import { api } from "../api.js";
import { h, show, words } from "../dom.js";

function figure(value) {
  return Number.isInteger(value) ? String(value) : Number(value).toPrecision(4);
}

function modelCard(model) {
  const facts = [
    ["Version", model.version],
    ["Source", model.registered_version ? `${model.source}, registry version ${model.registered_version}` : model.source],
    ["Alias", model.alias],
    ["Frame rate", model.fps ? `${model.fps} fps` : null],
    ["Receptive field", model.receptive_field ? `${model.receptive_field} frames` : null],
    ["Causal (live)", model.causal === null || model.causal === undefined ? null : model.causal ? "yes" : "no"],
  ].filter(([, value]) => value);
  const metrics = Object.entries(model.metrics);
  return h(
    "li",
    { class: "card" },
    h("h2", {}, `${words(model.kind)}: ${model.label}`),
    h("dl", { class: "facts" }, facts.map(([name, value]) => [h("dt", {}, name), h("dd", {}, value)])),
    metrics.length
      ? h(
          "table",
          {},
          h("caption", {}, "Quality figures (from its evaluation)"),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Figure"), h("th", { scope: "col" }, "Value"))),
          h("tbody", {}, metrics.map(([name, value]) => h("tr", {}, h("th", { scope: "row" }, words(name)), h("td", {}, figure(value))))),
        )
      : h("p", {}, "No figures recorded."),
  );
}

export async function modelsScreen(main) {
  const models = await api("/models");
  show(main, h("h1", {}, "Models"), h("ul", { class: "cards", id: "models" }, models.map(modelCard)));
}
