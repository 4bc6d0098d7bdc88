// Start-up: the hash router, the navigation's signed-in state and the cart count.
import { apiUrl, isAdmin, session } from "./api.js";
import * as cart from "./cart.js";
import { h, render } from "./dom.js";
import { catalogPage } from "./pages/catalog.js";
import { productPage } from "./pages/product.js";
import { cartPage } from "./pages/cart.js";
import { accountPage, confirmPage, registerPage, signInPage } from "./pages/account.js";
import { checkoutPage } from "./pages/checkout.js";
import { checkoutStepsPage } from "./pages/checkout-steps.js";
import { ordersPage } from "./pages/orders.js";
import { adminProductPage, adminProductsPage } from "./pages/admin-products.js";
import { adminOrderPage, adminOrdersPage } from "./pages/admin-orders.js";
import { adminSettingsPage } from "./pages/admin-settings.js";
import { adminDashboardPage } from "./pages/admin-dashboard.js";

// Page addresses are hash routes (#/product/<id>), so they never collide with the API's paths.
const routes = [
  [/^\/$/, catalogPage],
  [/^\/product\/([^/]+)$/, productPage],
  [/^\/cart$/, cartPage],
  [/^\/signin$/, signInPage],
  [/^\/register$/, registerPage],
  [/^\/confirm$/, confirmPage],
  [/^\/account$/, accountPage, "user"],
  [/^\/checkout$/, checkoutStepsPage, "user"],
  [/^\/checkout\/([^/]+)$/, checkoutPage, "user"],
  [/^\/orders$/, ordersPage, "user"],
  [/^\/admin\/products$/, adminProductsPage, "admin"],
  [/^\/admin\/products\/([^/]+)$/, adminProductPage, "admin"],
  [/^\/admin\/orders$/, adminOrdersPage, "admin"],
  [/^\/admin\/orders\/([^/]+)$/, adminOrderPage, "admin"],
  [/^\/admin\/settings$/, adminSettingsPage, "admin"],
  [/^\/admin\/dashboard$/, adminDashboardPage, "admin"],
];

/** The current route: path and query of the part after `#`. */
export function location() {
  const raw = window.location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?");
  return { path, params: new URLSearchParams(query), raw };
}

export function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

let generation = 0;

/** Starts a new page: anything still loading for the previous one will not draw over it. */
export function newPage() {
  return ++generation;
}

/** The page now showing (compare with what newPage() returned). */
export function currentPage() {
  return generation;
}

async function route(reason) {
  const { path, params, raw } = location();
  const current = newPage();
  for (const [pattern, page, needs] of routes) {
    const match = pattern.exec(path);
    if (!match) continue;
    if (needs && !session()) return signInPage({ params: new URLSearchParams({ next: raw }), reason });
    if (needs === "admin" && !isAdmin()) {
      return render("Not allowed", h("h1", {}, "Not allowed"), h("p", {}, "This page is for the store's administrators."));
    }
    try {
      await page({ args: match.slice(1).map(decodeURIComponent), params, isCurrent: () => current === generation });
    } catch (error) {
      // A refused session already shows the sign-in form.
      if (current !== generation || (error.status === 401 && !session())) return;
      render("Something went wrong", h("h1", {}, "Something went wrong"), h("p", { role: "alert" }, error.message || String(error)),
        h("p", {}, h("a", { href: "#/" }, "Back to the catalog")));
    }
    return;
  }
  render("Not found", h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Back to the catalog")));
}

function updateNav() {
  const signedIn = !!session();
  const admin = isAdmin();
  for (const link of document.querySelectorAll("[data-when]")) {
    const when = link.dataset.when;
    link.parentElement.hidden = !(when === "signed-in" ? signedIn : when === "admin" ? admin : !signedIn);
  }
  const n = cart.count();
  document.getElementById("nav-cart").textContent = n ? `Cart (${n})` : "Cart";
}

// Only "#/..." is a page address; "#main" (the skip link) and other fragments are not.
window.addEventListener("hashchange", () => { if (location().raw.startsWith("/")) route(); });
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  const main = document.getElementById("main");
  main.focus();
  main.scrollIntoView();
});
window.addEventListener("shop:session", updateNav);
window.addEventListener("shop:cart", updateNav);
window.addEventListener("storage", updateNav);
window.addEventListener("shop:signin-needed", (event) => {
  const { raw } = location();
  if (raw.startsWith("/signin")) return;
  newPage();
  signInPage({ params: new URLSearchParams({ next: raw }), reason: event.detail.reason });
});
document.getElementById("api-doc").href = apiUrl("/openapi.json");
updateNav();
route();
