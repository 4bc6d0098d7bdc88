// The cart. Totals shown here are estimates from the catalog as it was seen; checkout (checkout-steps.js)
// has the store's quote, and the order the server returns has the real ones.
import { session } from "../api.js";
import * as cart from "../cart.js";
import { h, render, say, scrollable, statusArea } from "../dom.js";
import { money } from "../format.js";
import { newPage } from "../main.js";

function estimate(lines) {
  const byCurrency = new Map();
  for (const line of lines) byCurrency.set(line.currency, (byCurrency.get(line.currency) || 0) + line.price * line.quantity);
  return [...byCurrency].map(([currency, total]) => money(total, currency)).join(" + ");
}

/** The cart line an answer's details name (a line from before variants is the product's default variant). */
const lineOf = (d) => cart.lines().find((l) => l.productId === d?.productId && (!d.variantId || (l.variantId || l.productId) === d.variantId));

/** The out-of-stock answer in words, with a button that sets each short line to what is left and shows the cart. */
function outOfStock(error, status) {
  const details = Array.isArray(error.details) ? error.details : [];
  const items = details.map((d) => h("li", {},
    `${lineOf(d) ? cart.title(lineOf(d)) : d.productId}: you asked for ${d.requested}, ${d.available === 0 ? "none are" : `only ${d.available}`} left.`));
  const fix = h("button", {
    type: "button", onclick: () => {
      for (const d of details) cart.setQuantity(d.productId, d.variantId, d.available, d.available);
      showCart("Your cart now has what is in stock. Check it and place the order again.");
    },
  }, "Update my cart to what is left");
  say(status, h("div", {}, h("p", {}, "Some products do not have enough stock:"), h("ul", { class: "short" }, items), fix), "error");
}

/** The cart page with `notice`, from another page (checkout). */
function showCart(notice) {
  history.replaceState(null, "", "#/cart");
  newPage();
  cartPage({ notice });
}

/** Shows the answer to placing (or quoting) an order when it is about the cart; answers whether it was. */
export function orderProblem(error, status) {
  if (error.code === "out_of_stock") outOfStock(error, status);
  else if (/^(product|variant)_not_found$/.test(error.code) || /^lines\[\d+\]\.variantId$/.test(error.details?.[0]?.field)) {
    // A product or variant no longer sold, or a line from before variants of a product that now has several.
    const line = lineOf(error.details) || cart.lines()[error.details?.[0]?.field?.match(/\d+/)[0]];
    const name = line ? cart.title(line) : "A product";
    const choose = error.code === "validation_failed";
    say(status, h("div", {}, h("p", {}, choose ? `${name} now comes in several versions: remove it and choose one on its page.` : `${name} is no longer sold.`), h("button", {

      type: "button", onclick: () => { cart.setQuantity(line?.productId, line?.variantId, 0); showCart(`${name} was removed from your cart.`); },
    }, `Remove ${name}`)), "error");
  } else if (error.code === "too_many_open_orders") {
    say(status, h("p", {}, `${error.message} `, h("a", { href: "#/orders" }, "Pay or cancel them in My orders")), "error");
  } else return false;
  return true;
}

export function cartPage({ notice, focusId } = {}) {
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
