// The cart. Totals shown here are estimates from the catalog as it was seen; checkout (checkout-steps.js)
// has the store's quote, and the order the server returns has the real ones.
import { session } from "../api.js";
import * as cart from "../cart.js";
import { h, render, say, scrollable, statusArea } from "../dom.js";
import { money } from "../format.js";

function estimate(lines) {
  const byCurrency = new Map();
  for (const line of lines) byCurrency.set(line.currency, (byCurrency.get(line.currency) || 0) + line.price * line.quantity);
  return [...byCurrency].map(([currency, total]) => money(total, currency)).join(" + ");
}

export function cartPage({ notice, focusId }) {
  const lines = cart.lines();
  const status = statusArea();
  if (!lines.length) {
    render("Cart", h("h1", {}, "Your cart"), status, h("p", {}, "Your cart is empty. ", h("a", { href: "#/" }, "Browse the catalog")));
    if (notice) say(status, notice);
    return;
  }
  const rows = lines.map((line, i) => {
    const inputId = `qty-${i}`;
    const name = cart.title(line);
    const input = h("input", { id: inputId, type: "number", min: 1, max: line.stock, value: line.quantity, inputmode: "numeric", class: "qty" });
    input.addEventListener("change", () => {
      const wanted = Number(input.value);
      if (!Number.isInteger(wanted) || wanted < 1) {
        input.value = line.quantity;
        say(status, "Enter a whole number of at least 1, or remove the line.", "error");
        return;
      }
      cart.setQuantity(line.productId, line.variantId, wanted);
      cartPage({ notice: wanted > line.stock ? `Only ${line.stock} of ${name} are in stock.` : `${name}: quantity updated.`, focusId: inputId });
    });
    const options = cart.optionText(line.options);
    return h("tr", { dataset: { productId: line.productId, variantId: line.variantId || line.productId } },
      h("th", { scope: "row" }, h("a", { href: `#/product/${encodeURIComponent(line.productId)}${options ? `?variant=${encodeURIComponent(line.variantId)}` : ""}` }, line.name),
        options && h("span", { class: "hint options" }, h("br"), options)),
      h("td", {}, money(line.price, line.currency)),
      h("td", {}, h("label", { for: inputId, class: "visually-hidden" }, `Quantity of ${name}`), input,
        h("span", { class: "hint" }, ` of ${line.stock}`)),
      h("td", {}, money(line.price * line.quantity, line.currency)),
      h("td", {}, h("button", {
        type: "button", class: "link", "aria-label": `Remove ${name}`,
        onclick: () => { cart.setQuantity(line.productId, line.variantId, 0); cartPage({ notice: `${name} removed.` }); },
      }, "Remove")));
  });
  render("Cart",
    h("h1", {}, "Your cart"),
    scrollable("Products in your cart", h("table", { class: "lines" },
      h("caption", { class: "visually-hidden" }, "Products in your cart"),
      h("thead", {}, h("tr", {}, ["Product", "Price", "Quantity", "Subtotal", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows))),
    h("p", { class: "total" }, `Estimated total: ${estimate(lines)}`),
    h("p", { class: "hint" }, "Shipping and tax are added at checkout, once the store knows where the order goes."),
    status,
    session() ? h("a", { class: "button primary", href: "#/checkout" }, "Check out") : h("p", {}, h("a", { href: `#/signin?next=${encodeURIComponent("/cart")}` }, "Sign in to place the order")));
  if (notice) say(status, notice);
  // After a change in the table, the keyboard stays where it was.
  if (focusId) document.getElementById(focusId)?.focus();
}
