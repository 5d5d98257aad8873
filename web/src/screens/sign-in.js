// Sign in, or create an account (every new account is a user; trainers are granted).
import { api, setToken } from "../api.js";
import { errorBox, h, say, show } from "../dom.js";

export function signInScreen(main, _params, context) {
  const email = h("input", { id: "email", type: "email", name: "email", autocomplete: "username", required: true, maxLength: 254 });
  const password = h("input", {
    id: "password",
    type: "password",
    name: "password",
    autocomplete: "current-password",
    required: true,
    minLength: 8,
    maxLength: 200,
  });
  const problem = h("div", {});
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in"),
    h("label", { for: "email" }, "Email"),
    email,
    h("label", { for: "password" }, "Password (8 characters or more)"),
    password,
    problem,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", id: "sign-in" }, "Sign in"),
      h("button", { type: "button", id: "register", class: "secondary", onclick: () => submit(true) }, "Create account"),
    ),
  );

  async function submit(register) {
    if (!form.reportValidity()) return;
    problem.replaceChildren();
    try {
      if (register) {
        await api("/auth/register", { method: "POST", json: { email: email.value, password: password.value } });
        say("Account created.");
      }
      const login = new URLSearchParams({ username: email.value, password: password.value });
      const token = await api("/auth/login", { method: "POST", form: login });
      setToken(token.access_token);
      say("Signed in.");
      await context.signedIn();
    } catch (error) {
      problem.replaceChildren(errorBox(error));
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(false);
  });
  show(main, form);
  email.focus();
}
