// My orders: status, lines, totals, the payment's state (a refund shown as such), pay and cancel.
import { api } from "../api.js";
import { busy, focusOn, h, render, say, statusArea } from "../dom.js";
import { money } from "../format.js";
import { orderCard, pagedOrders } from "../views/order.js";

export async function ordersPage({ isCurrent }) {
  const status = statusArea();
  const list = h("ul", { class: "orders", "aria-label": "Your orders" });
  const more = h("button", { type: "button", class: "secondary" }, "Load more");

  const cancelButton = (order) => h("button", {
    type: "button", class: "secondary", onclick: (event) => busy(event.currentTarget, async () => {
      try {
        const cancelled = await api("POST", `/orders/${encodeURIComponent(order.id)}/cancel`, { auth: true });
        const replacement = card(cancelled);
        list.querySelector(`[data-order-id="${CSS.escape(order.id)}"]`).replaceWith(replacement);
        focusOn(replacement.querySelector("h2"));
        say(status, cancelled.payment?.refundedAmount > 0
          ? `Order ${order.id.slice(-8)} is cancelled; ${money(cancelled.payment.refundedAmount, cancelled.currency)} is refunded.`
          : `Order ${order.id.slice(-8)} is cancelled.`);
      } catch (error) {
        say(status, error.message, "error");
      }
    }),
  }, "Cancel order");
  const card = (order) => {
    const actions = [];
    // Not once the card went through: the order becomes PAID when the gateway's webhook arrives.
    if (order.status === "PENDING_PAYMENT" && order.payment?.status !== "succeeded") {
      actions.push(h("a", { class: "button", href: `#/checkout/${encodeURIComponent(order.id)}` }, "Pay"));
    }
    if (order.status === "PENDING_PAYMENT" || order.status === "PAID") actions.push(cancelButton(order));
    return orderCard(order, actions);
  };
  const count = await pagedOrders("limit=10", list, more, status, card);
  if (!isCurrent()) return;
  render("My orders", h("h1", {}, "My orders"), status, count ? list : h("p", {}, "You have no orders yet. ", h("a", { href: "#/" }, "Browse the catalog")), more);
}
