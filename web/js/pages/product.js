// One product: picture, description, price, stock, and "add to cart" up to the stock shown. A product with options
// has a picker per option (radio buttons, or a select for many values); the price, stock and picture are those of
// the chosen variant, and the address names it (#/product/<id>?variant=<variantId>) so that a link opens it chosen.
import { api } from "../api.js";
import * as cart from "../cart.js";
import { field, h, render, say, statusArea } from "../dom.js";
import { money } from "../format.js";
import { priceText, productImage, stockText, variantsOf } from "../views/product.js";

export async function productPage({ args: [id], params, isCurrent }) {
  const product = await api("GET", `/products/${encodeURIComponent(id)}`);
  if (!isCurrent()) return;
  const status = statusArea();
  const options = product.options || [];
  const variants = variantsOf(product);
  // The values chosen, by option name: those of the variant in the address, and any option with one value.
  const chosen = { ...variants.find((v) => v.id === params.get("variant"))?.options };
  for (const o of options) if (o.values.length === 1) chosen[o.name] = o.values[0];
  const variant = () => variants.find((v) => options.every((o) => v.options[o.name] === chosen[o.name]));
  // A value's state given the other choices: "" (can be chosen), "sold out", or "unavailable" (no such variant).
  const state = (option, value) => {
    const fits = variants.filter((v) => v.options[option.name] === value
      && options.every((o) => o === option || chosen[o.name] === undefined || v.options[o.name] === chosen[o.name]));
    return !fits.length ? "unavailable" : fits.some((v) => v.quantity > 0) ? "" : "sold out";
  };

  const price = h("p", { class: "price" });
  const stock = h("p", { class: "stock" });
  let picture = h("div");
  const pickers = h("div", { class: "pickers" });
  const quantity = field("Quantity", "quantity", { type: "number", min: 1, value: 1, inputmode: "numeric" });
  const button = h("button", { type: "submit" });
  const form = h("form", { class: "add-form", novalidate: true }, pickers, quantity, button);
  const choose = (name, value) => {
    if (value) chosen[name] = value; else delete chosen[name];
    show();
  };

  const picker = (option, i) => {
    const states = option.values.map((value) => [value, state(option, value)]);
    const note = (s) => (s ? ` (${s})` : "");
    if (option.values.length > 6) {
      const select = h("select", { id: `option-${i}`, name: `option-${i}` }, h("option", { value: "" }, `Choose a ${option.name.toLowerCase()}`),
        states.map(([value, s]) => h("option", { value, disabled: !!s, selected: chosen[option.name] === value }, value + note(s))));
      select.addEventListener("change", () => choose(option.name, select.value));
      return h("div", { class: "field", dataset: { option: option.name } }, h("label", { for: select.id }, option.name), select);
    }
    return h("fieldset", { class: "picker", dataset: { option: option.name } }, h("legend", {}, option.name),
      states.map(([value, s]) => h("label", { class: s ? "chip out" : "chip" },
        h("input", { type: "radio", name: `option-${i}`, value, disabled: !!s, checked: chosen[option.name] === value,
          onchange: () => choose(option.name, value) }),
        h("span", {}, value, s && h("span", { class: "note" }, note(s))))));
  };

  const show = () => {
    const v = variant();
    const text = cart.optionText(v?.options);
    history.replaceState(null, "", `#/product/${encodeURIComponent(product.id)}${v && text ? `?variant=${encodeURIComponent(v.id)}` : ""}`);
    // Redrawn with the choices; the keyboard stays on the control it was on.
    const focused = document.activeElement?.name;
    const focusedValue = document.activeElement?.value;
    pickers.replaceChildren(...options.map(picker));
    if (focused?.startsWith("option-")) {
      [...pickers.querySelectorAll(`[name="${focused}"]`)].find((c) => c.tagName === "SELECT" || c.value === focusedValue)?.focus();
    }
    const next = productImage({ ...product, name: text ? `${product.name}, ${text}` : product.name, imageUrl: v?.imageUrl || product.imageUrl }, "hero");
    picture.replaceWith(next);
    picture = next;
    const soldOut = v ? v.quantity <= 0 : product.quantity <= 0;
    price.textContent = v ? money(v.price, product.currency) : priceText(product);
    const missing = options.filter((o) => chosen[o.name] === undefined).map((o) => o.name.toLowerCase());
    stock.textContent = v || soldOut ? stockText(v || product) : missing.length ? `Choose a ${missing.join(" and ")}` : "Unavailable";
    stock.className = soldOut ? "stock out" : "stock";
    const input = form.elements.quantity;
    input.max = Math.max(1, (v?.quantity || 0) - cart.quantityOf(product.id, v?.id));
    input.disabled = button.disabled = !v || soldOut;
    button.textContent = soldOut ? "Sold out" : "Add to cart";
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = variant();
    const wanted = Number(form.elements.quantity.value);
    if (!v) return;
    if (!Number.isInteger(wanted) || wanted < 1) {
      say(status, "Enter a whole number of at least 1.", "error");
      return;
    }
    const before = cart.quantityOf(product.id, v.id);
    const now = cart.add(product, v, wanted);
    const capped = now < before + wanted;
    show();

    say(status, h("p", {}, capped ? `Only ${v.quantity} in stock: your cart has ${now}. ` : `Added. Your cart has ${now}. `,
      h("a", { href: "#/cart" }, "Go to the cart")), capped ? "error" : "info");
  });
  render(product.name,
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Catalog"), " › ",
      h("a", { href: `#/?category=${encodeURIComponent(product.category)}` }, product.category)),
    h("article", { class: "product" },
      picture,
      h("div", { class: "product-info" },
        h("h1", {}, product.name),
        // Read out when a choice changes them.
        h("div", { "aria-live": "polite" }, price, stock),

        h("p", { class: "description" }, product.description),
        form, status)));
  show();
}
