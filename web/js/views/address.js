// The address form (checkout and the address book) and an address as text. The server judges the address;
// its problems come back named by field (`shippingAddress.postalCode` at checkout, `postalCode` in the book).
import { field, h } from "../dom.js";

const FIELDS = [
  ["Full name", "name", { autocomplete: "name", required: true }],
  ["Address line 1", "line1", { autocomplete: "address-line1", required: true }],
  ["Address line 2 (optional)", "line2", { autocomplete: "address-line2" }],
  ["City", "city", { autocomplete: "address-level2", required: true }],
  ["State or region", "region", { autocomplete: "address-level1", hint: "Required in the US, Canada and Australia: a code such as CA, NY, ON or NSW" }],
  ["Postal code", "postalCode", { autocomplete: "postal-code", required: true }],
  ["Country", "country", { autocomplete: "country", maxlength: 2, required: true, hint: "Two-letter code, such as US, GB or DE" }],
  ["Phone (optional)", "phone", { type: "tel", autocomplete: "tel" }],
];

/** The address's fields, named `prefix + name`, filled from `address`. */
export function addressFields(prefix, address = {}) {
  return h("div", { class: "address-fields" },
    FIELDS.map(([label, name, attrs]) => field(label, prefix + name, { ...attrs, value: address[name] || "" })));
}

/** The address in a form (null for an empty optional field; codes upper-cased). */
export function readAddress(form, prefix) {
  const address = {};
  for (const [, name] of FIELDS) {
    const value = form.elements[prefix + name].value.trim();
    address[name] = value === "" ? null : ["country", "region", "postalCode"].includes(name) ? value.toUpperCase() : value;
  }
  return address;
}

/** An address as lines of text. */
export function addressBlock(a) {
  const lines = [a.name, a.line1, a.line2, [a.city, a.region, a.postalCode].filter(Boolean).join(" "), a.country, a.phone].filter(Boolean);
  return h("address", {}, lines.flatMap((line, i) => (i ? [h("br"), line] : [line])));
}
