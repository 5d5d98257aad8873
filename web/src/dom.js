// Building the page from data without innerHTML: text is always text, never markup.

const SVG_NS = "http://www.w3.org/2000/svg";

function fill(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.setAttribute("class", value);
    else if (name in element && !name.includes("-") && element.namespaceURI !== SVG_NS) {
      element[name] = value; // properties: value, checked, disabled, htmlFor...
    } else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** An HTML element: h("button", {class: "x", onclick: f}, "text", child...). */
export function h(tag, attributes, ...children) {
  return fill(document.createElement(tag), attributes, children);
}

/** Replace ``parent``'s content with ``children`` (nested lists flattened, null and
 * false left out, strings as text). */
export function show(parent, ...children) {
  parent.replaceChildren();
  return fill(parent, {}, children);
}

/** An SVG element, attributes set as given. */
export function svg(tag, attributes, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attributes, children);
}

/** Announce ``text`` to screen readers and show it in the status line. */
export function say(text) {
  document.getElementById("status").textContent = text;
}

/** A message box for a failed call: the API's message, naming the field it blames. */
export function errorBox(error) {
  const field = error.field ? ` (${error.field})` : "";
  return h("p", { class: "error", role: "alert" }, `${error.message}${field}`);
}

/** "squat", "left_leg" -> "squat", "left leg". */
export function words(name) {
  return String(name).replaceAll("_", " ");
}

/** Seconds as "12.3 s". */
export function seconds(value) {
  return `${Number(value).toFixed(1)} s`;
}
