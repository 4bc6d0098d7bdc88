// The cart, kept in localStorage so it survives a reload: a line per variant (productId + variantId). Quantities are
// limited to the stock the shopper was shown; the server has the last word when the order is placed.
const KEY = "shop.cart";

function load() {
  try {
    const value = JSON.parse(localStorage.getItem(KEY));
    if (value && Array.isArray(value.lines)) return value;
  } catch { /* a damaged cart starts empty */ }
  return { lines: [], checkoutKey: null };
}

function save(cart, linesChanged = true) {
  // A new cart content is a new order: the idempotency key of the old content must not be reused.
  if (linesChanged) cart.checkoutKey = null;
  localStorage.setItem(KEY, JSON.stringify(cart));
  window.dispatchEvent(new CustomEvent("shop:cart"));
}

export function lines() {
  return load().lines;
}

export function count() {
  return lines().reduce((sum, line) => sum + line.quantity, 0);
}

/** A line's variant: lines from before variants have none, and mean the product's default variant (its id is the product's). */
const same = (line, productId, variantId) => line.productId === productId && (line.variantId || line.productId) === (variantId || productId);

/** A line's (or variant's) option values as text: "M / Navy"; "" for a default variant. */
export function optionText(options) {
  return Object.values(options || {}).join(" / ");
}

/** A line's name with its option values, as the store names an order line: "Field Jacket — M / Navy". */
export function title(line) {
  const options = optionText(line.options);
  return options ? `${line.name} — ${options}` : line.name;
}

/** Adds `quantity` of a product's variant (as shown: name, price, currency, stock), capped at its stock. */
export function add(product, variant, quantity = 1) {
  const cart = load();
  const line = cart.lines.find((l) => same(l, product.id, variant.id));
  const wanted = (line ? line.quantity : 0) + quantity;
  const fields = { variantId: variant.id, name: product.name, options: variant.options, price: variant.price, currency: product.currency,
    stock: variant.quantity, imageUrl: variant.imageUrl || product.imageUrl };
  if (line) Object.assign(line, fields, { quantity: Math.min(wanted, variant.quantity) });
  else cart.lines.push({ productId: product.id, ...fields, quantity: Math.min(wanted, variant.quantity) });
  cart.lines = cart.lines.filter((l) => l.quantity > 0);
  save(cart);
  return cart.lines.find((l) => same(l, product.id, variant.id))?.quantity || 0;
}

/** How many of a variant the cart has. */
export function quantityOf(productId, variantId) {
  return lines().find((l) => same(l, productId, variantId))?.quantity || 0;
}

/** Sets a line's quantity (0 removes it); `stock` updates the stock shown, as after an out-of-stock answer. */
export function setQuantity(productId, variantId, quantity, stock) {
  const cart = load();
  const line = cart.lines.find((l) => same(l, productId, variantId));
  if (!line) return;
  if (stock !== undefined) line.stock = stock;
  line.quantity = Math.max(0, Math.min(quantity, line.stock));
  cart.lines = cart.lines.filter((l) => l.quantity > 0);
  save(cart);
}

/** The cart as an order's lines (a line from before variants names none: the product's default). */
export function orderLines() {
  return lines().map((l) => ({ productId: l.productId, ...(l.variantId ? { variantId: l.variantId } : {}), quantity: l.quantity }));
}

/** 128 random bits as hex. (crypto.randomUUID exists only on secure origins, and a phone on the LAN is not one.) */
function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function clear() {
  save({ lines: [], checkoutKey: null });
}

/**
 * The Idempotency-Key of this cart's order: the same across retries and double clicks until the cart or
 * `fingerprint` (the rest of the order: address, method) changes.
 */
export function checkoutKey(fingerprint = "") {
  const cart = load();
  if (!cart.checkoutKey || cart.checkoutFor !== fingerprint) {
    cart.checkoutKey = randomKey();
    cart.checkoutFor = fingerprint;
    save(cart, false);
  }
  return cart.checkoutKey;
}
