// Checkout in steps: the delivery address (a saved one, or a new one that can be saved), the shipping
// method, then a review of the store's quote (subtotal, shipping, tax, total) and the order, which the
// payment page (checkout.js) then takes.
import { ApiError, api } from "../api.js";
import { addressBlock, addressFields, readAddress } from "../views/address.js";
import * as cart from "../cart.js";
import { busy, focusOn, h, render, say, showError, statusArea } from "../dom.js";
import { days, money } from "../format.js";
import { orderSummary } from "../views/order.js";

const P = "shippingAddress.";

/** The cart line an answer's details name (a line from before variants is the product's default variant). */
const lineOf = (d) => cart.lines().find((l) => l.productId === d?.productId && (!d.variantId || (l.variantId || l.productId) === d.variantId));

/** The out-of-stock answer in words, with a button that sets each short line to what is left and shows the cart. */
function outOfStock(error, status, showCart) {
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

/** Shows the answer to placing (or quoting) an order when it is about the cart; answers whether it was. */
function orderProblem(error, status, showCart) {
  if (error.code === "out_of_stock") outOfStock(error, status, showCart);
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

export async function checkoutStepsPage({ isCurrent, navigate }) {
  const lines = cart.orderLines();
  if (!lines.length) return navigate("#/cart");
  const [book, settings] = await Promise.all([api("GET", "/account/addresses", { auth: true }), api("GET", "/settings")]);
  if (!isCurrent()) return;
  const freeOver = new Map(settings.shippingZones.flatMap((z) => z.methods).map((m) => [m.id, m.freeOver]));
  const status = statusArea();
  const step = h("section", { class: "step", "aria-labelledby": "step-heading" });
  // What the shopper chose so far: {address, addressId, quote, methodId}.
  let chosen = {};
  const quote = (body) => api("POST", "/orders/quote", { body: { lines, shippingAddress: chosen.address, ...body } });
  const show = (title, notice, ...children) => {
    step.replaceChildren(h("h2", { id: "step-heading" }, title), ...children);
    say(status, notice || "");
    focusOn(step.firstChild);
  };
  const fail = (error, form) => {
    if (!(error instanceof ApiError)) throw error;
    if (error.code === "shipping_unavailable") error.details = [{ field: `${P}country`, problem: `we do not ship to ${error.details?.country} yet` }];
    if (!orderProblem(error, status, (notice) => navigate("#/cart", { replace: true, notice }))) showError(status, error, form);
  };
  const back = (label, to) => h("button", { type: "button", class: "secondary", onclick: to }, label);
  const submit = (form, action) => {
    const button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(button, () => action().catch((error) => fail(error, form)));
    });
    return form;
  };

  const addressStep = () => {
    const fields = addressFields(P, chosen.addressId ? {} : chosen.address);
    const save = h("label", { class: "check" }, h("input", { type: "checkbox", name: "save" }), " Save to my addresses");
    const own = h("div", {}, fields, save);
    const form = h("form", { class: "stack", novalidate: true });
    if (book.items.length) {
      const picked = chosen.address ? chosen.addressId || "" : book.items[0].id;
      const pick = h("fieldset", {}, h("legend", {}, "Deliver to"),
        [...book.items, { id: "" }].map((a) => h("label", { class: "choice" },
          h("input", { type: "radio", name: "addressId", value: a.id, checked: a.id === picked }),
          a.id ? addressBlock(a) : "A new address")));
      pick.addEventListener("change", () => { own.hidden = !!form.elements.addressId.value; });
      own.hidden = !!picked;
      form.append(pick);
    }
    form.append(own, h("button", { type: "submit", class: "primary" }, "Continue to shipping"));
    show("Step 1 of 3: Delivery address", null, form);
    submit(form, async () => {
      const id = form.elements.addressId?.value || null;
      const { id: _, ...saved } = book.items.find((a) => a.id === id) || {};
      chosen = { address: id ? saved : readAddress(form, P), addressId: id };
      const answer = await quote();
      let notice = null;
      if (!id && form.elements.save.checked) {
        try {
          const created = await api("POST", "/account/addresses", { body: chosen.address, auth: true });
          book.items.push(created);
          chosen.addressId = created.id;
          notice = "The address is saved to your addresses.";
        } catch (error) {
          notice = `The address was not saved (${error.message}); you can still use it for this order.`;
        }
      }
      methodStep(answer, notice);
    });
  };

  const methodStep = (answer, notice) => {
    const { currency } = answer;
    const selected = chosen.methodId && answer.shippingMethods.some((m) => m.id === chosen.methodId) ? chosen.methodId : answer.shippingMethodId;
    const form = h("form", { class: "stack", novalidate: true },
      h("fieldset", {}, h("legend", {}, "Shipping method"), answer.shippingMethods.map((m) => h("label", { class: "choice" },
        h("input", { type: "radio", name: "shippingMethodId", value: m.id, checked: m.id === selected }),
        h("span", {}, `${m.name}: ${m.price ? money(m.price, currency) : "Free"}, ${days(m)}`,
          freeOver.get(m.id) != null ? h("span", { class: "hint" }, ` (free over ${money(freeOver.get(m.id), currency)})`) : null)))),
      h("div", { class: "actions" }, back("Change the address", addressStep), h("button", { type: "submit", class: "primary" }, "Continue to review")));
    show("Step 2 of 3: Shipping method", notice, h("p", {}, "Delivering to ", addressBlock(chosen.address)), form);
    submit(form, async () => {
      chosen.methodId = form.elements.shippingMethodId.value;
      reviewStep(await quote({ shippingMethodId: chosen.methodId }));
    });
  };

  const reviewStep = (answer) => {
    const method = answer.shippingMethods.find((m) => m.id === answer.shippingMethodId);
    const place = h("button", { type: "submit", class: "primary" }, "Place order");
    const form = h("form", { novalidate: true },
      h("div", { class: "actions" }, back("Change the shipping method", () => methodStep(answer)), place));
    show("Step 3 of 3: Review and place the order", null,
      h("dl", { class: "facts" }, h("dt", {}, "Deliver to"), h("dd", {}, addressBlock(chosen.address)),
        h("dt", {}, "Delivery"), h("dd", {}, `${method.name}, ${days(method)}`)),
      orderSummary(answer), form);
    submit(form, async () => {
      const body = { lines, shippingMethodId: answer.shippingMethodId,
        ...(chosen.addressId ? { addressId: chosen.addressId } : { shippingAddress: chosen.address }) };
      // The same key for the same order: a double click or a retry after a lost answer makes one order.
      const key = cart.checkoutKey(JSON.stringify(body));
      say(status, "Placing the order…");
      const order = await api("POST", "/orders", { body, headers: { "Idempotency-Key": key }, auth: true });
      cart.clear();
      navigate(`#/checkout/${encodeURIComponent(order.id)}`);
    });
  };

  render("Checkout", h("h1", {}, "Checkout"), h("p", {}, h("a", { href: "#/cart" }, "Back to the cart")), status, step);
  addressStep();
  focusOn(document.querySelector("main h1"));
}
