// The catalog: a grid of products with a category filter and "load more" following `nextCursor`.
import { api } from "../api.js";
import * as cart from "../cart.js";
import { h, render, say, statusArea } from "../dom.js";
import { priceText, productImage, stockText, variantsOf } from "../views/product.js";

const CATEGORIES = "shop.categories";

function knownCategories(items) {
  let known = [];
  try { known = JSON.parse(sessionStorage.getItem(CATEGORIES)) || []; } catch { known = []; }
  for (const item of items) if (!known.includes(item.category)) known.push(item.category);
  known.sort();
  sessionStorage.setItem(CATEGORIES, JSON.stringify(known));
  return known;
}

function card(product, status) {
  const soldOut = product.quantity <= 0;
  const variants = variantsOf(product);
  const href = `#/product/${encodeURIComponent(product.id)}`;
  return h("li", { class: "card", dataset: { productId: product.id } },
    h("a", { href, class: "card-link" },
      productImage(product, "thumb", true),
      h("h2", { class: "card-title" }, product.name)),
    h("p", { class: "price" }, priceText(product)),
    h("p", { class: soldOut ? "stock out" : "stock" }, variants.length > 1 && !soldOut ? "In stock" : stockText(product)),
    // A product in several versions is chosen on its page.
    variants.length > 1 && !soldOut ? h("a", { href, class: "button", "aria-label": `Choose options: ${product.name}` }, "Choose options")
      : h("button", {
        type: "button", disabled: soldOut, "aria-label": `${soldOut ? "Sold out" : "Add to cart"}: ${product.name}`,
        onclick: () => {
          const inCart = cart.add(product, variants[0], 1);
          say(status, `${product.name} is in your cart (${inCart}).`);
        },
      }, soldOut ? "Sold out" : "Add to cart"));
}

export async function catalogPage({ params, isCurrent }) {
  const category = params.get("category") || "";
  const query = new URLSearchParams({ limit: "12" });
  if (category) query.set("category", category);
  const first = await api("GET", `/products?${query}`);
  if (!isCurrent()) return;

  const status = statusArea();
  const grid = h("ul", { class: "grid", "aria-label": "Products" });
  const more = h("button", { type: "button", class: "secondary" }, "Load more");
  let cursor = first.nextCursor;
  const select = h("select", { id: "category", name: "category" });
  // Categories come from the products seen (there is no category listing): each page adds its own.
  const showCategories = (items) => {
    const categories = knownCategories(category ? [] : items);
    if (category && !categories.includes(category)) categories.push(category);
    select.replaceChildren(h("option", { value: "" }, "All categories"),
      ...categories.map((c) => h("option", { value: c, selected: c === category }, c)));
  };
  const show = (items) => {
    grid.append(...items.map((p) => card(p, status)));
    showCategories(items);
  };
  show(first.items);
  more.hidden = !cursor;
  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      const next = await api("GET", `/products?${query}&cursor=${encodeURIComponent(cursor)}`);
      show(next.items);
      cursor = next.nextCursor;
      more.hidden = !cursor;
      say(status, `${next.items.length} more products shown.`);
    } catch (error) {
      say(status, error.message, "error");
    } finally {
      more.disabled = false;
    }
  });

  select.addEventListener("change", () => {
    window.location.hash = select.value ? `#/?category=${encodeURIComponent(select.value)}` : "#/";
  });

  render(category ? `Catalog: ${category}` : "Catalog",
    h("h1", {}, category ? `Catalog: ${category}` : "Catalog"),
    h("div", { class: "filters" }, h("label", { for: "category" }, "Category"), select),
    status,
    first.items.length ? grid : h("p", {}, "No products here yet."),
    h("div", { class: "more" }, more));
}
