// One product: picture, description, price, stock, and "add to cart" up to the stock shown.
import { api } from "../api.js";
import * as cart from "../cart.js";
import { field, h, render, say, statusArea } from "../dom.js";
import { money } from "../format.js";
import { productImage, stockText } from "./catalog.js";

export async function productPage({ args: [id], isCurrent }) {
  const product = await api("GET", `/products/${encodeURIComponent(id)}`);
  if (!isCurrent()) return;
  const status = statusArea();
  const soldOut = product.quantity <= 0;
  const inCartNow = () => cart.lines().find((l) => l.productId === product.id)?.quantity || 0;
  const inCart = inCartNow();
  const quantity = field("Quantity", "quantity", {
    type: "number", min: 1, max: Math.max(1, product.quantity - inCart), value: 1, inputmode: "numeric", disabled: soldOut,
  });
  const form = h("form", { class: "add-form", novalidate: true }, quantity,
    h("button", { type: "submit", disabled: soldOut }, soldOut ? "Sold out" : "Add to cart"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const wanted = Number(form.elements.quantity.value);
    if (!Number.isInteger(wanted) || wanted < 1) {
      say(status, "Enter a whole number of at least 1.", "error");
      return;
    }
    const before = inCartNow();
    const now = cart.add(product, wanted);
    const capped = now < before + wanted;
    say(status, h("p", {}, capped ? `Only ${product.quantity} in stock: your cart has ${now}. ` : `Added. Your cart has ${now}. `,
      h("a", { href: "#/cart" }, "Go to the cart")), capped ? "error" : "info");
  });
  render(product.name,
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Catalog"), " › ",
      h("a", { href: `#/?category=${encodeURIComponent(product.category)}` }, product.category)),
    h("article", { class: "product" },
      productImage(product, "hero"),
      h("div", { class: "product-info" },
        h("h1", {}, product.name),
        h("p", { class: "price" }, money(product.price, product.currency)),
        h("p", { class: soldOut ? "stock out" : "stock" }, stockText(product)),
        h("p", { class: "description" }, product.description),
        form, status)));
}
