// Paying an order: the order's own totals from the server, then the card. With the simulated gateway
// the card goes to its confirm route (3-D Secure through its authenticate step); with Stripe, through
// Stripe.js's Payment Element. Either way the order becomes PAID when the gateway's webhook arrives,
// so the page polls the order until it does.
import { config } from "../../config.js";
import { ApiError, api } from "../api.js";
import { busy, field, focusOn, h, render, say, showError, statusArea } from "../dom.js";
import { money } from "../format.js";
import { declineText, orderSummary, shippingFacts } from "../views/order.js";

export async function checkoutPage({ args: [orderId], isCurrent }) {
  const order = await api("GET", `/orders/${encodeURIComponent(orderId)}`, { auth: true });
  if (!isCurrent()) return;
  const status = statusArea();
  const heading = h("h1", {}, "Pay for your order");
  if (order.status !== "PENDING_PAYMENT") {
    render("Order", h("h1", {}, "Your order"), orderSummary(order), status);
    say(status, order.status === "CANCELLED" ? "This order was cancelled." : "This order is paid. Thank you!");
    return;
  }
  const pay = h("section", { class: "pay", "aria-labelledby": "pay-heading" }, h("h2", { id: "pay-heading" }, `Pay ${money(order.total, order.currency)}`));
  const paid = () => waitForPaid(orderId, status, pay, isCurrent);
  const gateway = await api("GET", "/payment/config");
  // The order's open payment comes back if there is one, so a reload continues it rather than starting another;
  // its status is the gateway's own, so a payment that went through shows as such before its webhook arrives.
  const payment = await api("POST", "/payment", { body: { orderId }, auth: true });
  if (!isCurrent()) return;
  render("Pay", heading, h("dl", { class: "facts" }, shippingFacts(order)), orderSummary(order), pay, status);
  // Charged already (the page was reloaded before the webhook came): never offer the card form again.
  if (order.payment?.status === "succeeded" || payment.status === "succeeded" || payment.status === "processing") {
    pay.append(h("p", { class: "received" }, "Payment received, confirming…"));
    return paid();
  }
  if (gateway.provider === "stripe") return stripeForm(pay, status, gateway, payment, paid);
  const form = simulatorForm(pay, status, payment, paid);
  if (payment.status === "requires_action") threeDSecure(pay, status, payment, paid, form);
}

function simulatorForm(pay, status, payment, paid) {
  const year = new Date().getFullYear() + 3;
  const form = h("form", { class: "card-form", novalidate: true },
    h("p", { class: "hint" }, "Test mode: 4242 4242 4242 4242 pays, 4000 0000 0000 0002 is declined, 4000 0025 0000 3155 asks for 3-D Secure."),
    field("Card number", "card.number", { autocomplete: "cc-number", inputmode: "numeric", required: true }),
    h("div", { class: "row" },
      field("Expiry month", "card.expMonth", { type: "number", min: 1, max: 12, value: 12, inputmode: "numeric", required: true }),
      field("Expiry year", "card.expYear", { type: "number", min: 2000, max: 2100, value: year, inputmode: "numeric", required: true }),
      field("CVC", "card.cvc", { autocomplete: "cc-csc", inputmode: "numeric", required: true })),
    h("button", { type: "submit", class: "primary" }, "Pay now"));
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(button, async () => {
      const value = (name) => form.elements[name].value.trim();
      const card = { number: value("card.number").replace(/[\s-]/g, ""), expMonth: Number(value("card.expMonth")),
        expYear: Number(value("card.expYear")), cvc: value("card.cvc") };
      say(status, "Paying…");
      try {
        const result = await api("POST", "/payment/simulator/confirm", { body: { paymentId: payment.paymentId, card }, auth: true });
        if (result.status === "requires_action") return threeDSecure(pay, status, payment, paid, form);
        return await paid();
      } catch (error) {
        if (error instanceof ApiError && error.code === "card_declined") {
          return say(status, declineText(error.details?.declineCode, error.message), "error");
        }
        showError(status, error, form);
      }
    });
  });
  pay.append(form);
  return form;
}

function threeDSecure(pay, status, payment, paid, form) {
  form.hidden = true;
  const box = h("div", { class: "challenge", role: "group", "aria-labelledby": "challenge-heading" },
    h("h3", { id: "challenge-heading" }, "Confirm with your bank"),
    h("p", {}, "Your bank asks you to approve this payment (3-D Secure, simulated)."));
  const answer = (outcome) => async (event) => {
    await busy(event.currentTarget, async () => {
      try {
        const result = await api("POST", "/payment/simulator/authenticate", { body: { paymentId: payment.paymentId, outcome }, auth: true });
        box.remove();
        if (result.status === "succeeded") return await paid();
        form.hidden = false;
        say(status, declineText(result.failureCode, result.failureMessage), "error");
        focusOn(form.querySelector("input"));
      } catch (error) {
        say(status, error.message, "error");
      }
    });
  };
  box.append(h("div", { class: "actions" },
    h("button", { type: "button", class: "primary", onclick: answer("approve") }, "Approve payment"),
    h("button", { type: "button", class: "secondary", onclick: answer("fail") }, "Fail authentication")));
  pay.append(box);
  say(status, "Your bank needs you to confirm the payment.");
  box.querySelector("button").focus();
}

/** Loads Stripe.js once, from the configured address (the one script not served by the store). */
function loadStripe() {
  if (window.Stripe) return Promise.resolve(window.Stripe);
  return new Promise((resolve, reject) => {
    const script = h("script", { src: config.stripeJsUrl });
    script.addEventListener("load", () => (window.Stripe ? resolve(window.Stripe) : reject(new Error("Stripe.js did not load."))));
    script.addEventListener("error", () => reject(new Error("The card form (Stripe.js) could not be loaded. Try again later.")));
    document.head.append(script);
  });
}

async function stripeForm(pay, status, gateway, payment, paid) {
  const Stripe = await loadStripe();
  const stripe = Stripe(gateway.publishableKey);
  const elements = stripe.elements({ clientSecret: payment.clientSecret });
  const mount = h("div", { class: "stripe-element", id: "payment-element" });
  const form = h("form", { class: "card-form" }, mount, h("button", { type: "submit", class: "primary" }, "Pay now"));
  pay.append(form);
  elements.create("payment").mount(mount);
  const button = form.querySelector("button");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(button, async () => {
      say(status, "Paying…");
      try {
        const result = await stripe.confirmPayment({ elements, redirect: "if_required", confirmParams: { return_url: window.location.href } });
        if (result.error) return say(status, declineText(result.error.decline_code || result.error.code, result.error.message), "error");
        await paid();
      } catch (error) {
        say(status, error.message || "The payment could not be sent. Try again.", "error");
      }
    });
  });
}

/**
 * Polls the order until the webhook has marked it PAID (up to a minute). The card is charged by now, so a
 * failed poll (offline for a moment, a 503) is retried rather than reported as a failure; leaving the page stops it.
 */
async function waitForPaid(orderId, status, pay, isCurrent) {
  say(status, "Payment accepted. Waiting for the store to confirm it…");
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && isCurrent()) {
    let order = null;
    try {
      order = await api("GET", `/orders/${encodeURIComponent(orderId)}`, { auth: true });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
    }
    if (order?.status === "PAID" || order?.status === "FULFILLED") {
      pay.replaceChildren(h("h2", { id: "paid-heading" }, "Paid"), h("p", { class: "paid" }, "Your order is PAID. Thank you!"),
        h("p", {}, h("a", { href: "#/orders" }, "See your orders")));
      say(status, "Your order is paid.");
      focusOn(pay.querySelector("#paid-heading"));
      return;
    }
    if (order?.status === "CANCELLED") {
      say(status, "The order was cancelled before the payment arrived; any charge is refunded.", "error");
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
  if (isCurrent()) say(status, "The payment is taking longer than usual to confirm. Check My orders in a minute.", "error");
}
