// A product as the catalog, its page and the admin show it.
import { apiAddress } from "../api.js";
import { h } from "../dom.js";
import { money } from "../format.js";

/**
 * The product's picture, or a placeholder box when it has none. `decorative` when the product's name is
 * next to it (a catalog card), so screen readers do not hear the name twice.
 */
export function productImage(product, className = "thumb", decorative = false) {
  if (product.imageUrl) return h("img", { class: className, src: apiAddress(product.imageUrl), alt: decorative ? "" : product.name, loading: "lazy" });
  // The words come from the stylesheet, so they are not part of a link's text.
  return decorative ? h("div", { class: `${className} placeholder`, "aria-hidden": "true" })
    : h("div", { class: `${className} placeholder`, role: "img", "aria-label": `${product.name}: no picture yet` });
}

export function stockText(product) {
  if (product.quantity <= 0) return "Out of stock";
  return product.quantity <= 5 ? `Only ${product.quantity} left` : `${product.quantity} in stock`;
}

/** A product's variants: its default alone for a product without options (or from a store before variants). */
export function variantsOf(product) {
  return product.variants?.length ? product.variants
    : [{ id: product.id, options: {}, price: product.price, quantity: product.quantity, imageUrl: null }];
}

/** The price, or "from" the lowest where the variants' prices differ. */
export function priceText(product) {
  const price = money(product.price, product.currency);
  return variantsOf(product).some((v) => v.price !== product.price) ? `from ${price}` : price;
}
