// Admin: the merchant's dashboard (GET /admin/stats): per currency the revenue and orders of a period, revenue per day
// as an inline SVG chart (presentation attributes only: the Content-Security-Policy allows no inline style), the best
// sellers, refunds; and the products running out, each linking to its admin page.
import { api } from "../api.js";
import { field, h, render } from "../dom.js";
import { money } from "../format.js";

function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  el.append(...children);
  return el;
}

/** Revenue per day: a bar a day, each with its date and amount as its title. */
function chart(c) {
  const W = 600, H = 160, days = c.days, max = Math.max(1, ...days.map((d) => d.revenue)), w = W / days.length;
  const label = (x, text, anchor) => svg("text", { x, y: H + 16, "font-size": 12, fill: "currentColor", "text-anchor": anchor }, text);
  return svg("svg", { viewBox: `0 0 ${W} ${H + 20}`, role: "img", "aria-label":
      `Revenue per day in ${c.currency}, ${days[0].date} to ${days.at(-1).date}; the highest day ${money(max, c.currency)}`, class: "chart" },
    svg("line", { x1: 0, y1: H, x2: W, y2: H, stroke: "currentColor" }),
    ...days.map((d, i) => {
      const height = Math.round((d.revenue / max) * (H - 8));
      return svg("rect", { x: (i * w + w * 0.1).toFixed(1), y: H - height, width: (w * 0.8).toFixed(1), height, fill: "#1d5b3f" },
        svg("title", {}, `${d.date}: ${money(d.revenue, c.currency)}`));
    }),
    label(0, days[0].date, "start"), label(W, days.at(-1).date, "end"));
}

function currency(c) {
  const o = c.orders;
  return h("section", { "aria-labelledby": `stats-${c.currency}` }, h("h2", { id: `stats-${c.currency}` }, c.currency),
    h("dl", { class: "figures" },
      h("dt", {}, "Revenue"), h("dd", {}, money(c.revenue, c.currency)),
      h("dt", {}, "Refunds"), h("dd", {}, money(c.refunds, c.currency)),
      h("dt", {}, "Orders"), h("dd", {}, `${o.placed} placed, ${o.paid} paid, ${o.fulfilled} fulfilled, ${o.cancelled} cancelled`)),
    chart(c),
    h("table", {}, h("caption", {}, "Best sellers"),
      h("thead", {}, h("tr", {}, ["Product", "Units", "Revenue"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, c.topProducts.map((p) => h("tr", {}, h("td", {}, p.name), h("td", {}, String(p.units)), h("td", {}, money(p.revenue, c.currency)))))));
}

export async function adminDashboardPage({ params, isCurrent }) {
  const query = new URLSearchParams([...params].filter(([k, v]) => ["from", "to"].includes(k) && v));
  const stats = await api("GET", `/admin/stats${query.size ? `?${query}` : ""}`, { auth: true });
  if (!isCurrent()) return;
  const form = h("form", { class: "filters", "aria-label": "Period" },
    field("From", "from", { type: "date", value: stats.from }), field("To", "to", { type: "date", value: stats.to }),
    h("button", { type: "submit", class: "secondary" }, "Show"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    window.location.hash = `#/admin/dashboard?${new URLSearchParams({ from: form.elements.from.value, to: form.elements.to.value })}`;
  });
  render("Admin: dashboard", h("h1", {}, "Dashboard"), form,
    stats.currencies.length ? stats.currencies.map(currency) : h("p", {}, "No orders in this period."),
    h("section", { "aria-labelledby": "low-stock" }, h("h2", { id: "low-stock" }, `Fewer than ${stats.lowStockBelow} left`),
      stats.lowStock.length
        ? h("ul", { class: "low-stock" }, stats.lowStock.map((p) =>
          h("li", {}, h("a", { href: `#/admin/products/${encodeURIComponent(p.productId)}` }, p.name), `: ${p.quantity} left`)))
        : h("p", {}, "Nothing is running out.")));
}
