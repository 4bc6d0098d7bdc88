// The hash router. It imports no page: main.js hands it the routes, and it hands each page
// { args, params, isCurrent, navigate, newPage }.
import { isAdmin, session } from "./api.js";
import { h, render } from "./dom.js";

let routes, signInPage;
let generation = 0;
const back = () => h("p", {}, h("a", { href: "#/" }, "Back to the catalog"));

/** The current route: path and query of the part after `#`. */
function location() {
  const raw = window.location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?");
  return { path, params: new URLSearchParams(query), raw };
}

/** Starts a new page; answers its isCurrent(): once another page starts, what is still loading does not draw over it. */
function newPage() {
  const current = ++generation;
  return () => current === generation;
}

/** Shows the page at `hash`; with `replace`, in this page's place in the history, handing it `props` (a notice). */
export function navigate(hash, { replace, ...props } = {}) {
  if (replace) history.replaceState(null, "", hash);
  if (window.location.hash === hash) route(props);
  else window.location.hash = hash;
}

async function route(props) {
  const { path, params, raw } = location();
  const isCurrent = newPage();
  const context = { ...props, params, isCurrent, navigate, newPage };
  for (const [pattern, page, needs] of routes) {
    const match = pattern.exec(path);
    if (!match) continue;
    if (needs && !session()) return signInPage({ ...context, params: new URLSearchParams({ next: raw }) });
    if (needs === "admin" && !isAdmin()) {
      return render("Not allowed", h("h1", {}, "Not allowed"), h("p", {}, "This page is for the store's administrators."));
    }
    try {
      await page({ ...context, args: match.slice(1).map(decodeURIComponent) });
    } catch (error) {
      // A refused session already shows the sign-in form.
      if (!isCurrent() || (error.status === 401 && !session())) return;
      render("Something went wrong", h("h1", {}, "Something went wrong"), h("p", { role: "alert" }, error.message || String(error)),
        back());
    }
    return;
  }
  render("Not found", h("h1", {}, "Page not found"), back());
}

/** `table`: [pattern, page, needs ("user" or "admin")]; `signIn`: the page shown where a session is needed. */
export function startRouter(table, signIn) {
  routes = table;
  signInPage = signIn;
  // Only "#/..." is a page address; "#main" (the skip link) and other fragments are not.
  window.addEventListener("hashchange", () => { if (location().raw.startsWith("/")) route(); });
  window.addEventListener("shop:signin-needed", (event) => {
    const { raw } = location();
    if (raw.startsWith("/signin")) return;
    signInPage({ params: new URLSearchParams({ next: raw }), reason: event.detail.reason, isCurrent: newPage(), navigate });
  });
  route();
}
