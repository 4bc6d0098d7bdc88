// The cart, kept in localStorage so it survives a reload. Quantities are limited to the stock the
// shopper was shown; the server has the last word when the order is placed.
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

/** Adds `quantity` of a product (as shown: name, price, currency, stock), capped at its stock. */
export function add(product, quantity = 1) {
  const cart = load();
  const line = cart.lines.find((l) => l.productId === product.id);
  const wanted = (line ? line.quantity : 0) + quantity;
  const fields = { name: product.name, price: product.price, currency: product.currency, stock: product.quantity, imageUrl: product.imageUrl };
  if (line) Object.assign(line, fields, { quantity: Math.min(wanted, product.quantity) });
  else cart.lines.push({ productId: product.id, ...fields, quantity: Math.min(wanted, product.quantity) });
  cart.lines = cart.lines.filter((l) => l.quantity > 0);
  save(cart);
  return cart.lines.find((l) => l.productId === product.id)?.quantity || 0;
}

/** Sets a line's quantity (0 removes it); `stock` updates the stock shown, as after an out-of-stock answer. */
export function setQuantity(productId, quantity, stock) {
  const cart = load();
  const line = cart.lines.find((l) => l.productId === productId);
  if (!line) return;
  if (stock !== undefined) line.stock = stock;
  line.quantity = Math.max(0, Math.min(quantity, line.stock));
  cart.lines = cart.lines.filter((l) => l.quantity > 0);
  save(cart);
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
