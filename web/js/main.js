// Start-up: the routes (router.js follows them), the navigation's signed-in state and the cart count.
import { apiUrl, isAdmin, session } from "./api.js";
import * as cart from "./cart.js";
import { startRouter } from "./router.js";
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

document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  const main = document.getElementById("main");
  main.focus();
  main.scrollIntoView();
});
window.addEventListener("shop:session", updateNav);
window.addEventListener("shop:cart", updateNav);
window.addEventListener("storage", updateNav);
document.getElementById("api-doc").href = apiUrl("/openapi.json");
updateNav();
startRouter(routes, signInPage);
