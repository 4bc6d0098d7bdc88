// Small DOM helpers: building elements without innerHTML (no HTML injection from data), and showing
// the API's errors where the user is looking.

/** h("p", {class: "x", onclick: fn}, "text", child, [more]) builds an element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/**
 * Replaces the page content with `children`, sets the title, and moves focus to the first heading
 * (so keyboard and screen-reader users start at the new content).
 */
export function render(title, ...children) {
  const main = document.getElementById("main");
  main.replaceChildren(...children.flat().filter(Boolean));
  document.title = title ? `${title} · ServerlessShop` : "ServerlessShop";
  const heading = main.querySelector("h1");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: false });
  }
}

/** A labelled form field. `input` attributes go to the <input> (or `as: "textarea" | "select"`). */
export function field(label, name, input = {}, options = []) {
  const id = `f-${name}-${Math.random().toString(36).slice(2, 8)}`;
  const { as = "input", hint, ...attrs } = input;
  const control = h(as, { id, name, ...attrs }, ...options);
  const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field", dataset: { field: name } }, h("label", { for: id }, label), control, hintEl,
    h("p", { class: "field-error", id: `${id}-error`, hidden: true }));
}

/**
 * An area for a page's messages. It holds two live regions that stay in the page (a region added or
 * re-roled at the moment of speaking is often not announced): a polite one for information and an
 * alert for errors.
 */
export function statusArea() {
  return h("div", { class: "status" }, h("div", { role: "status" }), h("div", { role: "alert" }));
}

/** Shows `message` (a string or an element) in `area`, as an error or as information. */
export function say(area, message, kind = "info") {
  const [polite, alert] = area.children;
  polite.replaceChildren();
  alert.replaceChildren();
  area.className = message ? `status ${kind}` : "status";
  if (message) (kind === "error" ? alert : polite).append(message instanceof Node ? message : h("p", {}, message));
}

/** Clears the per-field errors of a form. */
export function clearErrors(form) {
  for (const p of form.querySelectorAll(".field-error")) { p.hidden = true; p.textContent = ""; }
  for (const c of form.querySelectorAll("[aria-invalid]")) {
    c.removeAttribute("aria-invalid");
    const described = (c.getAttribute("aria-describedby") || "").split(" ").filter((id) => !id.endsWith("-error"));
    if (described.length) c.setAttribute("aria-describedby", described.join(" ")); else c.removeAttribute("aria-describedby");
  }
}

/**
 * Shows an API error: its message in `area`, and each `details` entry that names a field of `form`
 * next to that field. Anything else (a network failure) is shown as its message.
 */
export function showError(area, error, form) {
  if (form) clearErrors(form);
  say(area, error.message || String(error), "error");
  if (!form || !Array.isArray(error.details)) return;
  let first = null;
  for (const detail of error.details) {
    if (!detail || !detail.field) continue;
    // A problem with one item of a list field (`countries[2]`) is shown at the list's field.
    const box = [detail.field, detail.field.replace(/\[\d+\]$/, "")]
      .map((name) => form.querySelector(`.field[data-field="${CSS.escape(name)}"]`)).find(Boolean);
    if (!box) continue;
    const control = box.querySelector("input, select, textarea");
    const message = box.querySelector(".field-error");
    message.textContent = `${box.querySelector("label").textContent}: ${detail.problem}`;
    message.hidden = false;
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-describedby", [control.getAttribute("aria-describedby"), message.id].filter(Boolean).join(" "));
    first ??= control;
  }
  // The first field to fix gets the focus; its error is read with it.
  first?.focus();
}

/** Moves focus to `element` (made focusable by script if it is not), e.g. after the control that had it went away. */
export function focusOn(element) {
  if (!element) return;
  if (!element.matches("a[href], button, input, select, textarea, [tabindex]")) element.tabIndex = -1;
  element.focus();
}

/** Runs `action` with `button` disabled (so a double click does nothing twice). */
export async function busy(button, action) {
  if (button.disabled) return undefined;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await action();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** A region that scrolls sideways on narrow screens (a wide table), reachable and named for keyboard users. */
export function scrollable(label, ...children) {
  return h("div", { class: "table-wrap", role: "region", "aria-label": label, tabindex: 0 }, ...children);
}
