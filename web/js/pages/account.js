// Register, confirm (the Cognito code step), sign in, sign out, and the shopper's own details and address book.
import { api, signIn, signOut } from "../api.js";
import { addressBlock, addressFields, readAddress } from "../views/address.js";
import { busy, clearErrors, field, focusOn, h, render, say, showError, statusArea } from "../dom.js";

function safeNext(params) {
  const next = params.get("next") || "/";
  // Only a page of this site: "#/..." routes, never another address.
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

// What the sign-in page may say when another page sends the shopper there (a code, never free text from the address).
const NOTICES = {
  "signed-out": "You are signed out.",
  "signed-out-here": "You are signed out on this device. The store could not end your session itself just now; it ends when it expires.",
  confirmed: "Your account is confirmed. Sign in.",
};

export function signInPage({ params, reason, navigate }) {
  const status = statusArea();
  const form = h("form", { class: "stack", novalidate: true },
    field("Email", "email", { type: "email", autocomplete: "username", required: true, value: params.get("email") || "" }),
    field("Password", "password", { type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit", class: "primary" }, "Sign in"));
  const button = form.querySelector("button");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(button, async () => {
      try {
        await signIn(form.elements.email.value.trim(), form.elements.password.value);
        navigate(`#${safeNext(params)}`);
      } catch (error) {
        if (error.code === "user_not_confirmed") {
          return say(status, h("p", {}, `${error.message} `,
            h("a", { href: `#/confirm?email=${encodeURIComponent(form.elements.email.value.trim())}` }, "Enter your confirmation code")), "error");
        }
        showError(status, error, form);
      }
    });
  });
  render("Sign in", h("h1", {}, "Sign in"), status, form,
    h("p", {}, "New here? ", h("a", { href: `#/register?next=${encodeURIComponent(safeNext(params))}` }, "Create an account")));
  if (reason) say(status, reason, "error");
  else if (NOTICES[params.get("notice")]) say(status, NOTICES[params.get("notice")]);
}

export function registerPage({ params, navigate }) {
  const status = statusArea();
  const form = h("form", { class: "stack", novalidate: true },
    field("Name", "name", { autocomplete: "name", required: true }),
    field("Email", "email", { type: "email", autocomplete: "email", required: true }),
    field("Password", "password", {
      type: "password", autocomplete: "new-password", required: true,
      hint: "At least 8 characters, with two kinds among lower case, upper case, digits and symbols.",
    }),
    h("button", { type: "submit", class: "primary" }, "Create account"));
  const button = form.querySelector("button");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(button, async () => {
      const email = form.elements.email.value.trim();
      const password = form.elements.password.value;
      try {
        const result = await api("POST", "/auth/register", { body: { name: form.elements.name.value.trim(), email, password } });
        if (result?.confirmationRequired) {
          return navigate(`#/confirm?email=${encodeURIComponent(email)}`);
        }
        await signIn(email, password);
        navigate(`#${safeNext(params)}`);
      } catch (error) {
        // A weak password is about the password field, though the API names no field for it.
        if (error.code === "weak_password") error.details = [{ field: "password", problem: error.message }];
        showError(status, error, form);
      }
    });
  });
  render("Create an account", h("h1", {}, "Create an account"), status, form,
    h("p", {}, "Already have one? ", h("a", { href: "#/signin" }, "Sign in")));
}

export function confirmPage({ params, navigate }) {
  const status = statusArea();
  const form = h("form", { class: "stack", novalidate: true },
    field("Email", "email", { type: "email", autocomplete: "username", required: true, value: params.get("email") || "" }),
    field("Confirmation code", "code", { autocomplete: "one-time-code", inputmode: "numeric", required: true }),
    h("button", { type: "submit", class: "primary" }, "Confirm"));
  const button = form.querySelector("button");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(button, async () => {
      const email = form.elements.email.value.trim();
      try {
        await api("POST", "/auth/confirm", { body: { email, code: form.elements.code.value.trim() } });
        navigate(`#/signin?email=${encodeURIComponent(email)}&notice=confirmed`);
      } catch (error) {
        showError(status, error, form);
      }
    });
  });
  render("Confirm your account", h("h1", {}, "Confirm your account"),
    h("p", {}, "We sent a code to your email address. Enter it here."), status, form);
}

export async function accountPage({ isCurrent, navigate }) {
  const [me, book] = await Promise.all([api("GET", "/auth/me", { auth: true }), api("GET", "/account/addresses", { auth: true })]);
  if (!isCurrent()) return;
  const status = statusArea();
  const out = h("button", { type: "button", class: "secondary" }, "Sign out");
  out.addEventListener("click", () => busy(out, async () => {
    navigate(`#/signin?notice=${(await signOut()) ? "signed-out" : "signed-out-here"}`);
  }));
  render("Account", h("h1", {}, "Your account"),
    h("dl", { class: "facts" },
      h("dt", {}, "Name"), h("dd", { id: "account-name" }, me.name),
      h("dt", {}, "Email"), h("dd", { id: "account-email" }, me.email),
      h("dt", {}, "Role"), h("dd", {}, me.groups.includes("admin") ? "Administrator" : "Shopper")),
    status, out, addressBook(book.items));
}

/** The address book: each address with Edit and Delete, and a form that adds one or saves the one being edited. */
function addressBook(items) {
  const status = statusArea();
  const list = h("ul", { class: "addresses", "aria-label": "Your addresses" });
  const heading = h("h2", { id: "addresses-heading" }, "Your addresses");
  let editing = null;
  const form = h("form", { class: "stack", novalidate: true });
  const draw = (address = {}) => {
    clearErrors(form);
    form.replaceChildren(h("h3", {}, editing ? "Edit the address" : "Add an address"), addressFields("", address),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, editing ? "Save address" : "Add address"),
        editing && h("button", { type: "button", class: "secondary", onclick: () => { editing = null; draw(); focusOn(heading); } }, "Cancel")));
  };
  const item = (a) => h("li", { class: "address", dataset: { addressId: a.id } }, addressBlock(a), h("div", { class: "actions" },
    h("button", { type: "button", class: "secondary", "aria-label": `Edit ${a.name}, ${a.line1}`, onclick: () => {
      editing = a.id;
      draw(a);
      focusOn(form.querySelector("input"));
    } }, "Edit"),
    h("button", { type: "button", class: "danger", "aria-label": `Delete ${a.name}, ${a.line1}`, onclick: (e) => busy(e.currentTarget, async () => {
      try {
        await api("DELETE", `/account/addresses/${encodeURIComponent(a.id)}`, { auth: true });
        list.querySelector(`[data-address-id="${CSS.escape(a.id)}"]`).remove();
        say(status, "The address is deleted.");
        focusOn(heading);
      } catch (error) {
        say(status, error.message, "error");
      }
    }) }, "Delete")));
  list.append(...items.map(item));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form.querySelector("button[type=submit]"), async () => {
      try {
        const path = editing ? `/account/addresses/${encodeURIComponent(editing)}` : "/account/addresses";
        const saved = await api(editing ? "PUT" : "POST", path, { body: readAddress(form, ""), auth: true });
        const old = editing && list.querySelector(`[data-address-id="${CSS.escape(editing)}"]`);
        const shown = item(saved);
        if (old) old.replaceWith(shown); else list.append(shown);
        say(status, editing ? "The address is saved." : "The address is added.");
        editing = null;
        draw();
        focusOn(shown);
      } catch (error) {
        showError(status, error, form);
      }
    });
  });
  draw();
  return h("section", { "aria-labelledby": "addresses-heading" }, heading, status, list, form);
}
