// Admin: every order, filtered by status; fulfil paid orders (with the carrier and tracking, all optional),
// cancel open ones (a paid one is refunded); an order's own page with a printable packing slip and its timeline
// (GET /orders/{id}/events: what happened, and the emails and webhook each event sent).
import { api } from "../api.js";
import { addressBlock } from "../views/address.js";
import { busy, field, focusOn, h, render, say, showError, statusArea } from "../dom.js";
import { dateTime, money, orderStatus } from "../format.js";
import { orderCard, pagedOrders } from "../views/order.js";

const STATUSES = ["PENDING_PAYMENT", "PAID", "FULFILLED", "CANCELLED"];

/** The admin's card for `order` (replaced in place after an action), with its actions and a link to its page. */
function adminCard(order, status, linked = true) {
  const done = (updated) => {
    const replacement = adminCard(updated, status, linked);
    document.querySelector(`[data-order-id="${CSS.escape(order.id)}"]`).replaceWith(replacement);
    focusOn(replacement.querySelector("h2"));
    const refund = updated.payment?.refundedAmount > 0 ? `; ${money(updated.payment.refundedAmount, updated.currency)} refunded` : "";
    say(status, `Order ${order.id.slice(-8)} is ${orderStatus(updated.status).toLowerCase()}${refund}.`);
  };
  const cancel = (label) => h("button", {
    type: "button", class: "secondary",
    onclick: (event) => busy(event.currentTarget, async () => {
      try {
        done(await api("POST", `/orders/${encodeURIComponent(order.id)}/cancel`, { auth: true }));
      } catch (error) {
        say(status, error.message, "error");
      }
    }),
  }, label);
  // Fulfil asks for the parcel's carrier and tracking first (each optional).
  const fulfil = h("button", { type: "button", class: "primary", onclick: () => {
    const form = h("form", { class: "stack", novalidate: true, "aria-label": "Ship the order" },
      field("Carrier (optional)", "carrier", { maxlength: 50 }),
      field("Tracking number (optional)", "trackingNumber", { maxlength: 100 }),
      field("Tracking link (optional)", "trackingUrl", { type: "url", maxlength: 500, hint: "An https:// address" }),
      h("button", { type: "submit", class: "primary" }, "Mark as fulfilled"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(form.querySelector("button"), async () => {
        const body = {};
        for (const name of ["carrier", "trackingNumber", "trackingUrl"]) {
          const value = form.elements[name].value.trim();
          if (value) body[name] = value;
        }
        try {
          done(await api("POST", `/orders/${encodeURIComponent(order.id)}/fulfil`, { body, auth: true }));
        } catch (error) {
          showError(status, error, form);
        }
      });
    });
    fulfil.replaceWith(form);
    focusOn(form.querySelector("input"));
  } }, "Fulfil");
  const actions = [];
  if (order.status === "PAID") actions.push(fulfil, cancel("Cancel and refund"));
  if (order.status === "PENDING_PAYMENT") actions.push(cancel("Cancel"));
  if (linked) actions.push(h("a", { href: `#/admin/orders/${encodeURIComponent(order.id)}` }, `Order ${order.id.slice(-8)}: details and packing slip`));
  const item = orderCard(order, actions);
  item.querySelector("dl").prepend(h("dt", {}, "Customer"), h("dd", {}, order.userId));
  return item;
}

export async function adminOrdersPage({ params, isCurrent }) {
  const filter = STATUSES.includes(params.get("status")) ? params.get("status") : "";
  const status = statusArea();
  const list = h("ul", { class: "orders", "aria-label": "Orders" });
  const more = h("button", { type: "button", class: "secondary" }, "Load more");
  const query = new URLSearchParams({ all: "true", limit: "20" });
  if (filter) query.set("status", filter);
  const count = await pagedOrders(query.toString(), list, more, status, (order) => adminCard(order, status));
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

const EVENTS = { "order.placed": "Placed", "order.paid": "Paid", "order.fulfilled": "Shipped", "order.cancelled": "Cancelled", "order.refunded": "Refunded" };

/** A delivery's state: "sent", "pending (3 tries: 421 busy)". */
const sent = (d) => d.status + (d.attempts > 1 || d.lastError ? ` (${d.attempts} tries${d.lastError ? `: ${d.lastError}` : ""})` : "");

/** The order's events, oldest first, each with its emails and webhook. */
function timeline(events) {
  return h("section", { "aria-labelledby": "timeline-heading" }, h("h2", { id: "timeline-heading" }, "Timeline"),
    h("ol", { class: "timeline" }, events.map((e) => h("li", {},
      h("strong", {}, EVENTS[e.type] || e.type), ` ${dateTime(e.occurredAt)}`,
      e.data.cancelledBy ? ` by ${e.data.cancelledBy}` : "", e.data.refund ? `: ${money(e.data.refund.amount, e.data.refund.currency)}` : "",
      h("ul", {}, e.emails.map((m) => h("li", {}, `Email ${m.template} to ${m.to}: ${sent(m)}`)),
        e.webhook && h("li", {}, `Webhook: ${sent(e.webhook)}`))))));
}

/** One order: the card with its actions, its timeline, and the packing slip (the only thing printed, by shop.css's print rules). */
export async function adminOrderPage({ args: [id], isCurrent }) {
  const path = `/orders/${encodeURIComponent(id)}`;
  const [order, events] = await Promise.all([api("GET", path, { auth: true }), api("GET", `${path}/events`, { auth: true })]);
  if (!isCurrent()) return;
  const status = statusArea();
  const m = order.shippingMethod;
  const slip = h("section", { class: "slip", "aria-labelledby": "slip-heading" },
    h("h2", { id: "slip-heading" }, `Packing slip: order ${order.id}`),
    h("h3", {}, "Ship to"), order.shippingAddress ? addressBlock(order.shippingAddress) : h("p", {}, "No address (an order from before shipping)."),
    m && h("p", {}, `Method: ${m.name}`),
    h("table", {}, h("caption", { class: "visually-hidden" }, "Products to pack"),
      h("thead", {}, h("tr", {}, ["Product", "SKU", "Quantity"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, order.lines.map((l) => h("tr", {}, h("td", {}, l.name), h("td", { class: "sku" }, l.sku || "—"), h("td", {}, String(l.quantity)))))));

  render(`Admin: order ${order.id.slice(-8)}`, h("h1", {}, `Order ${order.id.slice(-8)}`),
    h("p", {}, h("a", { href: "#/admin/orders" }, "All orders")), status,
    h("ul", { class: "orders", "aria-label": "Order" }, adminCard(order, status, false)), timeline(events.items),
    h("p", {}, h("button", { type: "button", onclick: () => window.print() }, "Print the packing slip")), slip);
}
