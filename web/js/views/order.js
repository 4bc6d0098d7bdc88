// An order as the shopper and the admin see it.
import { api } from "../api.js";
import { busy, h, say, scrollable } from "../dom.js";
import { dateTime, days, money, orderStatus } from "../format.js";
import { addressBlock } from "./address.js";

const declines = {
  generic_decline: "Your card was declined. Try another card.",
  insufficient_funds: "Your card has insufficient funds. Try another card.",
  test_mode_live_card: "This store is in test mode: real cards are refused. Use a test card such as 4242 4242 4242 4242.",
  payment_intent_authentication_failure: "The card's 3-D Secure check failed. Try again or use another card.",
};

export function declineText(code, fallback) {
  return declines[code] || fallback || `The payment failed (${code}).`;
}

/** The payment of an order in words. */
function paymentText(order) {
  const p = order.payment;
  if (!p) return order.status === "PENDING_PAYMENT" ? "Not paid yet" : "No payment";
  if (p.refundFailed) return `Refund failed; we are sending ${money(p.refundDue, order.currency)} again`;
  if (p.refundedAmount === 0 && p.status === "succeeded" && order.status === "CANCELLED") return "Refund pending";
  if (p.refundedAmount > 0) {
    return p.refundedAmount >= p.amount ? `Refunded ${money(p.refundedAmount, order.currency)}`
      : `Partly refunded: ${money(p.refundedAmount, order.currency)} of ${money(p.amount, order.currency)}`;
  }
  switch (p.status) {
    case "succeeded": return `Paid ${money(p.amount, order.currency)}`;
    case "requires_action": return "Waiting for 3-D Secure";
    case "canceled": return "Payment cancelled";
    case "requires_payment_method": return p.failureCode ? `Last attempt failed: ${declineText(p.failureCode)}` : "Waiting for a card";
    default: return `Payment ${p.status}`;
  }
}

/** An order's lines and total, as the server computed them. */
export function orderSummary(order) {
  return h("div", { class: "order-summary" },
    scrollable("Order lines", h("table", { class: "lines" },
      h("caption", { class: "visually-hidden" }, "Order lines"),
      h("thead", {}, h("tr", {}, ["Product", "Unit price", "Quantity", "Subtotal"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, order.lines.map((l) => h("tr", {},
        h("th", { scope: "row" }, l.name), h("td", {}, money(l.unitPrice, order.currency)), h("td", {}, String(l.quantity)),
        h("td", {}, money(l.lineTotal, order.currency))))),
      h("tfoot", {}, sums(order)))));
}

/** Subtotal, shipping and tax (when the order has them: older orders have a total only), then the total. */
function sums(order) {
  const rows = order.shippingMethod || order.shippingMethods
    ? [["Subtotal", order.subtotal, "subtotal"], ["Shipping", order.shippingTotal, "shipping"], ["Tax", order.taxTotal, "tax"]] : [];
  return [...rows, ["Total", order.total, "total"]].map(([name, amount, key]) =>
    h("tr", {}, h("th", { scope: "row", colspan: 3 }, name), h("td", { class: `order-${key}` }, money(amount, order.currency))));
}

/** Where and how an order ships, and its parcel once sent, as terms for a <dl>. */
export function shippingFacts(order) {
  const m = order.shippingMethod;
  const s = order.shipment;
  return [
    order.shippingAddress && [h("dt", {}, "Ship to"), h("dd", { class: "ship-to" }, addressBlock(order.shippingAddress))],
    m && [h("dt", {}, "Delivery"), h("dd", { class: "method" }, `${m.name}, ${days(m)}`)],
    s && [h("dt", {}, "Shipped"), h("dd", { class: "shipment" }, [s.carrier, s.trackingNumber].filter(Boolean).join(" "),
      s.trackingUrl ? [" ", h("a", { href: s.trackingUrl, rel: "noopener noreferrer" }, "Track the parcel")] : null,
      s.shippedAt ? ` (${dateTime(s.shippedAt)})` : null)],
  ];
}

/** One order as a card: what the shopper and the admin both see, plus `actions`. */
export function orderCard(order, actions = []) {
  return h("li", { class: "order", dataset: { orderId: order.id, status: order.status } },
    h("h2", {}, `Order ${order.id.slice(-8)}`),
    h("dl", { class: "facts" },
      h("dt", {}, "Placed"), h("dd", {}, dateTime(order.createdAt)),
      h("dt", {}, "Status"), h("dd", { class: "order-status" }, orderStatus(order.status)),
      h("dt", {}, "Payment"), h("dd", { class: "payment-state" }, paymentText(order)), shippingFacts(order)),
    orderSummary(order),
    actions.length ? h("div", { class: "actions" }, actions) : null);
}

/** Each listed order with its payment (the listing has none), fetched together. */
function withPayments(items) {
  return Promise.all(items.map((o) => api("GET", `/orders/${encodeURIComponent(o.id)}`, { auth: true }).catch(() => o)));
}

/**
 * A listing of orders in pages: `query` is the listing's query (without cursor); each order is drawn by
 * `card` into `list`, and `more` loads the next page. Answers the first page's number of orders.
 */
export async function pagedOrders(query, list, more, status, card) {
  let cursor = null;
  const load = async () => {
    const page = await api("GET", `/orders?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { auth: true });
    list.append(...(await withPayments(page.items)).map(card));
    cursor = page.nextCursor;
    more.hidden = !cursor;
    return page.items.length;
  };
  more.addEventListener("click", () => busy(more, () => load().catch((error) => say(status, error.message, "error"))));
  return load();
}
