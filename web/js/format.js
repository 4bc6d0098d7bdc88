// The one place money and dates are formatted. Amounts are integers in minor units, as the API sends them.

const digitsCache = new Map();

/** Minor-unit digits of a currency (2 for USD, 0 for JPY), from the browser's ISO 4217 data. */
export function currencyDigits(currency) {
  if (!digitsCache.has(currency)) {
    let digits = 2;
    try {
      digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
    } catch { /* an unknown code: assume cents */ }
    digitsCache.set(currency, digits);
  }
  return digitsCache.get(currency);
}

/** 1999, "USD" -> "$19.99" (in the page's language). */
export function money(minor, currency) {
  const digits = currencyDigits(currency);
  const major = minor / 10 ** digits;
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(major);
  } catch {
    return `${major.toFixed(digits)} ${currency}`;
  }
}

/**
 * "19.99", "USD" -> 1999; null when the text is not an amount with at most the currency's decimals.
 * Only "." separates decimals ("1,000" is refused rather than read as one or as a thousand).
 */
export function parseMoney(text, currency) {
  return parseFixed(text, currencyDigits(currency));
}

/** "7.25", 3 -> 7250: a decimal with at most `digits` decimals as an integer; null when it is not one. */
export function parseFixed(text, digits) {
  const match = /^\s*(\d{1,9})(?:\.(\d*))?\s*$/.exec(String(text));
  if (!match) return null;
  const fraction = match[2] || "";
  if (fraction.length > digits) return null;
  return Number(match[1]) * 10 ** digits + Number((fraction + "0".repeat(digits)).slice(0, digits) || 0);
}

/** Minor units as a plain decimal for an input field: 1999, "USD" -> "19.99". */
export function moneyInput(minor, currency) {
  const digits = currencyDigits(currency);
  return (minor / 10 ** digits).toFixed(digits);
}

/** A method's delivery time: "3–5 days". */
export function days(m) {
  return m.minDays === m.maxDays ? `${m.maxDays} day${m.maxDays === 1 ? "" : "s"}` : `${m.minDays}–${m.maxDays} days`;
}

/** An ISO 8601 time as a readable local date and time. */
export function dateTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

const statusNames = {
  PENDING_PAYMENT: "Waiting for payment",
  PAID: "Paid",
  FULFILLED: "Fulfilled",
  CANCELLED: "Cancelled",
};

/** An order status in words. */
export function orderStatus(status) {
  return statusNames[status] || status;
}
