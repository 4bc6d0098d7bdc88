// Admin: every order, filtered by status; fulfil paid orders, cancel open ones (a paid one is refunded).
import { api } from "../api.js";
import { busy, focusOn, h, render, say, statusArea } from "../dom.js";
import { money, orderStatus } from "../format.js";
import { orderCard, pagedOrders } from "./orders.js";

const STATUSES = ["PENDING_PAYMENT", "PAID", "FULFILLED", "CANCELLED"];

export async function adminOrdersPage({ params, isCurrent }) {
  const filter = STATUSES.includes(params.get("status")) ? params.get("status") : "";
  const status = statusArea();
  const list = h("ul", { class: "orders", "aria-label": "Orders" });
  const more = h("button", { type: "button", class: "secondary" }, "Load more");

  const act = (order, verb, label) => h("button", {
    type: "button", class: verb === "fulfil" ? "primary" : "secondary",
    onclick: (event) => busy(event.currentTarget, async () => {
      try {
        const updated = await api("POST", `/orders/${encodeURIComponent(order.id)}/${verb}`, { auth: true });
        const replacement = card(updated);
        list.querySelector(`[data-order-id="${CSS.escape(order.id)}"]`).replaceWith(replacement);
        focusOn(replacement.querySelector("h2"));
        const refund = updated.payment?.refundedAmount > 0 ? `; ${money(updated.payment.refundedAmount, updated.currency)} refunded` : "";
        say(status, `Order ${order.id.slice(-8)} is ${orderStatus(updated.status).toLowerCase()}${refund}.`);
      } catch (error) {
        say(status, error.message, "error");
      }
    }),
  }, label);
  const card = (order) => {
    const actions = [];
    if (order.status === "PAID") actions.push(act(order, "fulfil", "Fulfil"));
    if (order.status === "PAID") actions.push(act(order, "cancel", "Cancel and refund"));
    if (order.status === "PENDING_PAYMENT") actions.push(act(order, "cancel", "Cancel"));
    const item = orderCard(order, actions);
    item.querySelector("dl").prepend(h("dt", {}, "Customer"), h("dd", {}, order.userId));
    return item;
  };
  const query = new URLSearchParams({ all: "true", limit: "20" });
  if (filter) query.set("status", filter);
  const count = await pagedOrders(query.toString(), list, more, status, card);
  if (!isCurrent()) return;

  const select = h("select", { id: "order-status", name: "status" },
    h("option", { value: "" }, "All statuses"), STATUSES.map((s) => h("option", { value: s, selected: s === filter }, orderStatus(s))));
  select.addEventListener("change", () => {
    window.location.hash = select.value ? `#/admin/orders?status=${select.value}` : "#/admin/orders";
  });
  render("Admin: orders", h("h1", {}, "Orders"),
    h("div", { class: "filters" }, h("label", { for: "order-status" }, "Status"), select),
    status, count ? list : h("p", {}, "No orders."), more);
}
