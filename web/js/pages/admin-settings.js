// Admin: the store's settings (currency, shipping zones and their methods, tax rates), one document saved
// whole with If-Match, so another admin's save is never overwritten. Fields are named by their path in the
// document (`shippingZones[0].methods[1].price`), so the API's problems show next to them.
import { ApiError, api } from "../api.js";
import { busy, field, focusOn, h, render, say, showError, statusArea } from "../dom.js";
import { moneyInput, parseFixed, parseMoney } from "../format.js";

// [label, key, kind]: how a value is shown in its field and read back.
const ZONE = [["Zone id", "id"], ["Zone name", "name"], ["Countries", "countries", "list", "Codes such as US, CA; * for every other country"]];
const METHOD = [["Method id", "id"], ["Method name", "name"], ["Price", "price", "money"], ["Free over (optional)", "freeOver", "money?"],
  ["Min days", "minDays", "int"], ["Max days", "maxDays", "int"]];
const RATE = [["Country", "country"], ["Region (optional)", "region", "text?"], ["Rate (%)", "rate", "pct"], ["Tax name", "name"],
  ["Applies to shipping", "appliesToShipping", "bool"]];

const shown = (value, kind, currency) => {
  if (value === null || value === undefined) return "";
  if (kind === "list") return value.join(", ");
  if (kind?.startsWith("money")) return moneyInput(value, currency);
  if (kind === "pct") return String(value / 1000);
  return kind === "bool" ? value : String(value);
};

/** A field's text (or a checkbox's state) as the API's value; problems are collected into `problems`. */
function parsed(text, kind, currency, path, problems) {
  const fail = (problem) => { problems.push({ field: path, problem }); return null; };
  if (kind === "bool") return text;
  text = text.trim();
  if (kind?.endsWith("?") && text === "") return null;
  if (kind === "list") return text.split(/[\s,]+/).filter(Boolean).map((c) => c.toUpperCase());
  if (kind?.startsWith("money")) return parseMoney(text, currency) ?? fail("must be an amount such as 5.00");
  if (kind === "int") return /^\d{1,3}$/.test(text) ? Number(text) : fail("must be a whole number of days");
  if (kind === "pct") return parseFixed(text, 3) ?? fail("must be a percentage such as 7.25");
  return text;
}

export async function adminSettingsPage({ isCurrent, navigate }) {
  const { data, headers } = await api("GET", "/settings", { full: true });
  if (!isCurrent()) return;
  let etag = headers.get("ETag");
  let doc = data;
  const status = statusArea();
  const form = h("form", { class: "settings", novalidate: true });

  // Reads the form into a document like the API's; `problems` collects what cannot be read.
  const read = (problems = []) => {
    const currency = form.elements.currency.value.trim().toUpperCase();
    const value = (path, kind) => {
      const control = form.elements[path];
      return parsed(kind === "bool" ? control.checked : control.value, kind, currency || "USD", path, problems);
    };
    const fill = (spec, prefix) => Object.fromEntries(spec.map(([, key, kind]) => [key, value(`${prefix}.${key}`, kind)]));
    return {
      currency, pricesIncludeTax: form.elements.pricesIncludeTax.checked,
      shippingZones: doc.shippingZones.map((z, i) => ({ ...fill(ZONE, `shippingZones[${i}]`),
        methods: z.methods.map((m, j) => fill(METHOD, `shippingZones[${i}].methods[${j}]`)) })),
      taxRates: doc.taxRates.map((r, k) => fill(RATE, `taxRates[${k}]`)),
    };
  };
  const fields = (spec, prefix, values) => spec.map(([label, key, kind, hint]) => {
    const value = shown(values[key], kind, doc.currency);
    return field(label, `${prefix}.${key}`, kind === "bool" ? { type: "checkbox", checked: value } : { value, hint });
  });
  const button = (label, change, focus) => h("button", { type: "button", class: "secondary", onclick: () => {
    doc = { ...doc, ...read() };
    change(doc);
    draw();
    focusOn(form.querySelector(focus) || form.querySelector("h2"));
  } }, label);
  const last = (path) => `[name^="${path}"]`;
  const draw = () => {
    const zones = doc.shippingZones;
    form.replaceChildren(...[
      h("div", { class: "row" }, field("Currency", "currency", { value: doc.currency, maxlength: 3 }),
        field("Prices include tax", "pricesIncludeTax", { type: "checkbox", checked: doc.pricesIncludeTax })),
      h("h2", {}, "Shipping zones"),
      zones.map((z, i) => h("fieldset", { class: "zone" }, h("legend", {}, `Zone ${i + 1}: ${z.name}`),
        h("div", { class: "row" }, fields(ZONE, `shippingZones[${i}]`, z)),
        z.methods.map((m, j) => h("fieldset", {}, h("legend", {}, `Method ${j + 1} of ${z.name}`),
          h("div", { class: "row" }, fields(METHOD, `shippingZones[${i}].methods[${j}]`, m)),
          button(`Remove method ${j + 1} of ${z.name}`, (d) => d.shippingZones[i].methods.splice(j, 1)))),
        h("div", { class: "actions" },
          button(`Add a method to ${z.name}`, (d) => d.shippingZones[i].methods.push({ minDays: 1, maxDays: 5 }), last(`shippingZones[${i}].methods[${z.methods.length}]`)),
          button(`Remove zone ${z.name}`, (d) => d.shippingZones.splice(i, 1))))),
      button("Add a zone", (d) => d.shippingZones.push({ name: "New zone", countries: [], methods: [] }), last(`shippingZones[${zones.length}]`)),
      h("h2", {}, "Tax rates"),
      doc.taxRates.map((r, k) => h("fieldset", {}, h("legend", {}, `Tax rate ${k + 1}`),
        h("div", { class: "row" }, fields(RATE, `taxRates[${k}]`, r)),
        button(`Remove tax rate ${k + 1}`, (d) => d.taxRates.splice(k, 1)))),
      button("Add a tax rate", (d) => d.taxRates.push({ appliesToShipping: true }), last(`taxRates[${doc.taxRates.length}]`)),
      h("p", {}, h("button", { type: "submit", class: "primary" }, "Save settings"))].flat(2));
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(event.submitter, async () => {
      try {
        const problems = [];
        const body = read(problems);
        if (problems.length) throw new ApiError(400, "validation_failed", "Some fields need fixing.", problems);
        const result = await api("PUT", "/settings", { body, headers: { "If-Match": etag }, auth: true, full: true });
        etag = result.headers.get("ETag");
        doc = result.data;
        draw();
        say(status, `Saved. The settings are at version ${doc.version}.`);
      } catch (error) {
        if (error.code === "precondition_failed") {
          return say(status, h("div", {}, h("p", {}, "Someone else changed the settings since you opened them. Your changes were not saved."),
            h("button", { type: "button", onclick: () => navigate("#/admin/settings") }, "Reload the settings")), "error");
        }
        showError(status, error, form);
      }
    });
  });
  draw();
  render("Admin: settings", h("h1", {}, "Store settings"),
    h("p", { class: "hint" }, "Prices and amounts in the store's currency; rates in percent (7.25 for 7.25 %)."), status, form);
}
