// The app's entry: hash routes to screens, the navigation bar, the signed-in account.
import "./app.css";
import { api, setToken, signedIn } from "./api.js";
import { errorBox, h, show } from "./dom.js";
import { jobScreen } from "./screens/job.js";
import { modelsScreen } from "./screens/models.js";
import { newRoutineScreen } from "./screens/new-routine.js";
import { routinesScreen } from "./screens/routines.js";
import { sessionScreen } from "./screens/session.js";
import { sessionsScreen } from "./screens/sessions.js";
import { signInScreen } from "./screens/sign-in.js";
import { tryScreen } from "./screens/try.js";

// [pattern, screen, needs an account]; each screen renders into <main> and may return a
// function that stops what it started (a player's animation, a job's polling).
const ROUTES = [
  [/^#\/sign-in$/, signInScreen, false],
  [/^#\/models$/, modelsScreen, false],
  [/^#\/routines$/, routinesScreen, true],
  [/^#\/routines\/new$/, newRoutineScreen, true],
  [/^#\/routines\/(\d+)\/try$/, tryScreen, true],
  [/^#\/jobs\/(\d+)$/, jobScreen, true],
  [/^#\/sessions$/, sessionsScreen, true],
  [/^#\/sessions\/(\d+)$/, sessionScreen, true],
];

const context = { me: null };
let stopScreen = null;

async function account() {
  if (context.me === null && signedIn()) {
    try {
      context.me = await api("/me");
    } catch {
      setToken(null);
    }
  }
  return context.me;
}

function navigation(me) {
  const signOut = () => {
    setToken(null);
    context.me = null;
    location.hash = "#/sign-in";
  };
  const links = me
    ? [
        h("a", { href: "#/routines" }, "Routines"),
        h("a", { href: "#/sessions" }, "My sessions"),
        h("a", { href: "#/models" }, "Models"),
        h("button", { type: "button", class: "link", onclick: signOut }, "Sign out"),
        h("span", { class: "who" }, `${me.email} (${me.role})`),
      ]
    : [h("a", { href: "#/sign-in" }, "Sign in"), h("a", { href: "#/models" }, "Models")];
  document.getElementById("nav").replaceChildren(...links);
}

async function route() {
  stopScreen?.();
  stopScreen = null;
  const main = document.getElementById("main");
  const me = await account();
  const hash = location.hash || (me ? "#/routines" : "#/sign-in");
  const route = ROUTES.find(([pattern]) => pattern.test(hash));
  if (!route) {
    location.hash = me ? "#/routines" : "#/sign-in";
    return;
  }
  const [pattern, screen, needsAccount] = route;
  if (needsAccount && !me) {
    location.hash = "#/sign-in";
    return;
  }
  navigation(me);
  main.replaceChildren();
  try {
    const stop = await screen(main, hash.match(pattern).slice(1), context);
    if (typeof stop === "function") stopScreen = stop;
  } catch (error) {
    show(main, h("h1", {}, "Something went wrong"), errorBox(error));
  }
  main.focus({ preventScroll: true }); // a screen reader starts reading the new screen
}

/** Called by the sign-in screen once a token is kept. */
context.signedIn = async () => {
  context.me = null;
  await account();
  location.hash = "#/routines";
};

window.addEventListener("hashchange", route);
route();
