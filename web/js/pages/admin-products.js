// Admin: the catalog. List, create, edit (with If-Match, so a concurrent change is never overwritten),
// delete with confirmation, adjust stock, and upload an image (presigned PUT, then commit). A product's options
// (Size: S, M, L) make its variants: every combination, generated here and each removable, with its own SKU,
// price, stock and image, edited in a grid.
import { ApiError, api, apiAddress } from "../api.js";
import { busy, clearErrors, field, focusOn, h, render, say, scrollable, showError, statusArea } from "../dom.js";
import { moneyInput, parseMoney } from "../format.js";
import { priceText, productImage, variantsOf } from "../views/product.js";

const IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp"];
const IMAGE_LIMIT = 5 * 1024 * 1024;

export async function adminProductsPage({ isCurrent }) {
  const status = statusArea();
  const body = h("tbody");
  const more = h("button", { type: "button", class: "secondary" }, "Load more");
  let cursor = null;

  const row = (p) => {
    const remove = h("button", { type: "button", class: "link danger", "aria-label": `Delete ${p.name}` }, "Delete");
    const cell = h("td", { class: "row-actions" }, h("a", { href: `#/admin/products/${encodeURIComponent(p.id)}`, "aria-label": `Edit ${p.name}` }, "Edit"), " ", remove);
    remove.addEventListener("click", () => {
      // Deleting asks first, in the page (no browser dialog): the row offers "Delete" and "Keep".
      const confirmBox = h("span", { class: "confirm", role: "group", "aria-label": `Confirm deleting ${p.name}` },
        `Delete ${p.name}? `,
        h("button", { type: "button", class: "danger", onclick: (e) => busy(e.currentTarget, async () => {
          try {
            await api("DELETE", `/products/${encodeURIComponent(p.id)}`, { auth: true });
            tr.remove();
            say(status, `${p.name} was deleted.`);
            focusOn(document.querySelector("main h1"));
          } catch (error) {
            say(status, error.message, "error");
          }
        }) }, "Yes, delete"), " ",
        h("button", { type: "button", class: "secondary", onclick: () => { confirmBox.replaceWith(remove); remove.focus(); } }, "Keep"));
      remove.replaceWith(confirmBox);
      confirmBox.querySelector("button").focus();
    });
    const tr = h("tr", { dataset: { productId: p.id } },
      h("th", { scope: "row" }, p.name), h("td", {}, p.category), h("td", {}, priceText(p)),
      h("td", {}, String(p.quantity)), cell);
    return tr;
  };
  const load = async () => {
    const page = await api("GET", `/products?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    body.append(...page.items.map(row));
    cursor = page.nextCursor;
    more.hidden = !cursor;
  };
  more.addEventListener("click", () => busy(more, () => load().catch((error) => say(status, error.message, "error"))));
  await load();
  if (!isCurrent()) return;
  render("Admin: products", h("h1", {}, "Products"),
    h("p", {}, h("a", { class: "button primary", href: "#/admin/products/new" }, "New product")),
    status,
    scrollable("All products", h("table", { class: "admin" },
      h("caption", { class: "visually-hidden" }, "All products"),
      h("thead", {}, h("tr", {}, ["Name", "Category", "Price", "Stock", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
      body)),
    more);
}

const invalid = (problems) => new ApiError(400, "validation_failed", "Some fields need fixing.", problems);
const split = (text) => (text || "").split(",").map((v) => v.trim()).filter(Boolean);
/** Every combination of the options' values, in order: [["S", "Olive"], ["S", "Navy"], ["M", "Olive"], …]. */
const combinations = (options) => options.reduce((all, o) => all.flatMap((c) => o.values.map((v) => [...c, v])), [[]]);

/**
 * The product's form: its fields, then its options and variants: without options one price (and, when new, the stock),
 * with options a grid of variants. `page`: the edited product's path and ETag (null for a new product).
 */
function productForm(product, submitLabel, status, page) {
  const currency = product?.currency || "USD";
  // As edited: a variant's `values` in the options' order, `stock` its stock when loaded.
  const options = (product?.options || []).map((o) => ({ name: o.name, values: [...o.values] }));
  const doc = {
    options, price: product ? moneyInput(product.price, currency) : "", quantity: "0",
    variants: product ? variantsOf(product).map((v) => ({ id: v.id, sku: v.sku || "", values: options.map((o) => v.options[o.name]),
      price: moneyInput(v.price, currency), quantity: String(v.quantity), stock: v.quantity, imageUrl: v.imageUrl })) : [],
  };
  const grid = () => doc.options.length > 0 || options.length > 0;
  const part = h("div");
  const form = h("form", { class: "product-form", novalidate: true },
    h("div", { class: "stack" },
      field("Name", "name", { required: true, value: product?.name || "" }),
      field("Description", "description", { as: "textarea", rows: 4 }, product?.description || ""),
      h("div", { class: "row" },
        field("Category", "category", { required: true, value: product?.category || "" }),
        field("Currency", "currency", { value: currency, maxlength: 3, required: true, autocomplete: "off" }))),
    part, h("button", { type: "submit", class: "primary" }, submitLabel));
  const value = (name) => form.elements[name]?.value;
  const sync = () => {
    if (form.elements.price) doc.price = value("price");
    if (form.elements.quantity) doc.quantity = value("quantity");
    doc.options.forEach((o, i) => { o.name = value(`options[${i}].name`); o.values = split(value(`options[${i}].values`)); });
    doc.variants.forEach((r, i) => {
      for (const [, key] of form.elements[`variants[${i}].sku`] ? COLUMNS : []) r[key] = value(`variants[${i}].${key}`);
    });

  };
  const act = (label, change, focus, attrs) => h("button", { type: "button", class: "secondary", ...attrs, onclick: () => {
    sync();
    change();
    draw();
    focusOn(part.querySelector(focus) || part.querySelector("h2"));
  } }, label);
  // A field in the grid: its label (naming the variant) is read by screen readers, not shown.
  const cell = (label, name, attrs) => {
    const box = field(label, name, attrs);
    box.querySelector("label").className = "visually-hidden";
    return box;
  };
  // A variant's image: uploaded when chosen (once the variant is saved).
  const imageCell = (r, label) => {
    if (!page || !r.id) return h("span", { class: "hint" }, "After saving");
    const name = `image-${r.id}`;
    const box = cell(`Image of ${label}`, name, { type: "file", accept: IMAGE_TYPES.join(",") });
    const input = box.querySelector("input");
    input.addEventListener("change", () => busy(input, async () => {
      try {
        const why = imageProblem(input.files[0]);
        if (why) throw new ApiError(400, "invalid_image", why, [{ field: name, problem: why }]);
        say(status, "Uploading the image…");
        const { data, headers } = await uploadImage(`${page.path}/variants/${encodeURIComponent(r.id)}`, input.files[0]);
        page.etag = headers.get("ETag");
        r.imageUrl = variantsOf(data).find((v) => v.id === r.id)?.imageUrl;
        sync();
        draw();
        say(status, `The image of ${label} is published.`);
        focusOn(form.elements[name]);
      } catch (error) {
        showError(status, error, form);
      }
    }));
    return [r.imageUrl && h("img", { class: "mini", src: apiAddress(r.imageUrl), alt: label }), box];
  };
  const COLUMNS = [["SKU", "sku", { maxlength: 64, autocomplete: "off", class: "sku" }], ["Price", "price", { inputmode: "decimal" }],
    ["Stock", "quantity", { type: "number", min: 0, max: 1000000, inputmode: "numeric" }]];
  const draw = () => {
    const n = doc.options.length;
    const rows = doc.variants.map((r, i) => {
      const label = r.values.filter(Boolean).join(" / ") || "Default";
      return h("tr", { dataset: { variantId: r.id || "" } }, h("th", { scope: "row" }, label),
        COLUMNS.map(([title, key, attrs]) => h("td", {}, cell(`${title} of ${label}`, `variants[${i}].${key}`, { value: r[key], ...attrs }))),
        h("td", {}, imageCell(r, label)),
        h("td", {}, act("Remove", () => doc.variants.splice(i, 1), `tbody tr:nth-child(${i + 1}) button, tbody tr:last-child button`,
          { "aria-label": `Remove ${label}`, class: "link danger" })));
    });
    part.replaceChildren(...[
      !grid() && h("div", { class: "row stack" },
        field("Price", "price", { inputmode: "decimal", required: true, value: doc.price, hint: "In the currency's units, e.g. 19.99" }),
        !product && field("Stock", "quantity", { type: "number", min: 0, max: 1000000, value: doc.quantity, inputmode: "numeric" })),
      h("h2", {}, "Options and variants"),
      h("p", { class: "hint" }, "Up to 3 options, such as Size or Colour. Each combination of their values is a variant, with its own SKU, price and stock."),
      doc.options.map((o, i) => h("fieldset", { class: "stack" }, h("legend", {}, `Option ${i + 1}`),
        h("div", { class: "row" }, field("Option name", `options[${i}].name`, { value: o.name, maxlength: 30 }),
          field("Values", `options[${i}].values`, { value: o.values.join(", "), hint: "Separated by commas: S, M, L" })),
        act(`Remove option ${i + 1}`, () => { doc.options.splice(i, 1); doc.variants.forEach((r) => r.values.splice(i, 1)); }))),
      h("div", { class: "actions" },
        n < 3 && act("Add an option", () => { doc.options.push({ name: "", values: [] }); doc.variants.forEach((r) => r.values.push(undefined)); },
          `[name="options[${n}].name"]`),
        grid() && act("Generate the variants", () => {
          // Each combination keeps the variant it had (its id, SKU, price and stock); a value not set yet matches any.
          const pool = doc.variants;
          const price = pool[0]?.price ?? doc.price;
          doc.variants = combinations(doc.options).map((values) => {
            const i = pool.findIndex((r) => r.values.every((v, k) => v === undefined || v === values[k]));
            return i < 0 ? { sku: "", values, price, quantity: "0" } : { ...pool.splice(i, 1)[0], values };
          });
        }, "tbody input")),
      grid() && (rows.length ? scrollable("Variants", h("table", { class: "admin variants" },
        h("caption", { class: "visually-hidden" }, "Variants"),
        h("thead", {}, h("tr", {}, ["Variant", "SKU", "Price", "Stock", "Image", ""].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows))) : h("p", {}, "No variants yet: generate them from the options.")),
    ].flat().filter(Boolean));
  };
  draw();

  /** The form as the API's body; what cannot be read is reported as the API would, by field. */
  form.read = () => {
    sync();
    const problems = [];
    const code = value("currency").trim().toUpperCase();
    const amount = (text, path) => parseMoney(text, code || "USD") ?? problems.push({ field: path, problem: "must be an amount such as 19.99" });
    const count = (text, path) => (/^\d{0,7}$/.test(text = String(text).trim()) && Number(text) <= 1000000 ? Number(text)

      : problems.push({ field: path, problem: "must be a whole number from 0 to 1,000,000" }));
    const body = { name: value("name"), description: value("description"), currency: code, category: value("category") };
    if (grid()) {
      // Values changed since the variants were generated: the grid no longer matches the options.
      const stale = doc.options.findIndex((o, k) => doc.variants.some((r) => !o.values.includes(r.values[k])));
      if (stale >= 0) problems.push({ field: `options[${stale}].values`, problem: "do not match the variants: generate the variants again" });
      body.options = doc.options.map((o) => ({ name: o.name.trim(), values: o.values }));

      body.variants = doc.variants.map((r, i) => ({
        ...(r.id ? { id: r.id } : {}), ...(r.sku.trim() ? { sku: r.sku.trim() } : {}),
        options: Object.fromEntries(body.options.map((o, k) => [o.name, r.values[k]])),
        price: amount(r.price, `variants[${i}].price`), quantity: count(r.quantity, `variants[${i}].quantity`),
      }));
    } else {
      body.price = amount(doc.price, "price");
      if (!product) body.quantity = count(doc.quantity, "quantity");
    }
    if (problems.length) throw invalid(problems);
    return body;
  };
  /** A taken SKU, shown at its variant's field. */
  form.skuTaken = (error) => {
    const i = doc.variants.findIndex((r) => r.sku.trim().toLowerCase() === String(error.details?.sku).toLowerCase());
    if (i >= 0) error.details = [{ field: `variants[${i}].sku`, problem: "is already another variant's SKU" }];
  };
  /** The stock changes of kept variants: each through its stock route, by the difference from what the page showed. */
  form.restock = async (saved) => {
    const problems = [];
    for (const r of doc.variants) {
      const delta = r.id ? Number(r.quantity) - r.stock : 0;
      if (!delta) continue;
      try {
        saved = await api("POST", `${page.path}/variants/${encodeURIComponent(r.id)}/stock`, { body: { delta }, auth: true });
      } catch (error) {
        problems.push(h("li", {}, `${r.values.join(" / ")}: ${error.message}`));
      }
    }
    return [`Saved. ${saved.name} is at version ${saved.version}.`, problems];
  };
  return form;
}

export async function adminProductPage({ args: [id], isCurrent, notice = [], navigate, newPage }) {
  if (id === "new") return newProductPage(navigate);
  const reload = async (...message) => {
    try {
      await adminProductPage({ args: [id], isCurrent: newPage(), notice: message, navigate, newPage });
    } catch (error) {
      say(status, error.message, "error");
    }
  };
  const path = `/products/${encodeURIComponent(id)}`;
  const { data: product, headers } = await api("GET", path, { full: true });
  if (!isCurrent()) return;
  const page = { path, etag: headers.get("ETag") };
  const status = statusArea();
  const form = productForm(product, "Save changes", status, page);
  const save = form.querySelector("button[type=submit]");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(save, async () => {
      try {
        const [saved, problems] = await form.restock(await api("PUT", path, { body: form.read(), headers: { "If-Match": page.etag }, auth: true }));
        // Drawn again as the product now is (its new variants have ids; its version and ETag moved with the stock).
        await (problems.length ? reload(h("div", {}, h("p", {}, `${saved} Some stock was not changed:`), h("ul", {}, problems)), "error") : reload(saved));
      } catch (error) {
        if (error.code === "precondition_failed") {
          return say(status, h("div", {}, h("p", {}, "Someone else changed this product since you opened it. Your changes were not saved."),
            h("button", { type: "button", onclick: () => reload() }, "Reload the product")), "error");
        }
        if (error.code === "sku_taken") form.skuTaken(error);
        showError(status, error, form);
      }
    });
  });

  render(`Edit ${product.name}`, h("h1", {}, `Edit ${product.name}`),
    h("p", {}, h("a", { href: "#/admin/products" }, "All products"), " · ", h("a", { href: `#/product/${encodeURIComponent(id)}` }, "See it in the store")),
    status, form, variantsOf(product).length === 1 && !product.options?.length && stockSection(product, status, page), imageSection(product, status, page));
  if (notice.length) say(status, ...notice);
}


function newProductPage(navigate) {
  const status = statusArea();
  const form = productForm(null, "Create product", status, null);
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(button, async () => {
      try {
        const created = await api("POST", "/products", { body: form.read(), auth: true });
        navigate(`#/admin/products/${encodeURIComponent(created.id)}`);
      } catch (error) {
        if (error.code === "sku_taken") form.skuTaken(error);
        showError(status, error, form);
      }
    });
  });
  render("New product", h("h1", {}, "New product"), h("p", {}, h("a", { href: "#/admin/products" }, "All products")), status, form);
}

function stockSection(product, status, page) {
  const current = h("span", { id: "stock-now" }, String(product.quantity));
  const form = h("form", { class: "row", novalidate: true },
    field("Change stock by", "delta", { type: "number", min: -1000000, max: 1000000, inputmode: "numeric", required: true, hint: "Negative to take units away" }),
    h("button", { type: "submit" }, "Adjust stock"));
  const button = form.querySelector("button");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(button, async () => {
      try {
        const delta = Number(form.elements.delta.value);
        if (!Number.isInteger(delta)) throw invalid([{ field: "delta", problem: "must be a whole number, negative to take units away" }]);
        const { data: updated, headers } = await api("POST", `${page.path}/stock`, { body: { delta }, auth: true, full: true });
        page.etag = headers.get("ETag");
        current.textContent = String(updated.quantity);
        form.elements.delta.value = "";
        clearErrors(form);
        say(status, `Stock is now ${updated.quantity}.`);
      } catch (error) {
        showError(status, error, form);
      }
    });
  });
  return h("section", { "aria-labelledby": "stock-heading" }, h("h2", { id: "stock-heading" }, "Stock"), h("p", {}, "In stock: ", current), form);
}

/** Why `file` cannot be a product's image, or null. */
function imageProblem(file) {
  if (!file) return "Choose an image file first.";
  if (!IMAGE_TYPES.includes(file.type)) return `${file.name} is not a JPEG, PNG or WebP image.`;
  if (file.size > IMAGE_LIMIT) return `${file.name} is ${(file.size / 1048576).toFixed(1)} MB; the limit is 5 MB.`;
  if (file.size === 0) return `${file.name} is empty.`;
  return null;
}

/** Uploads `file` as the image of `path` (a product's or a variant's): a presigned PUT, then the commit. Answers {data, headers}. */
async function uploadImage(path, file) {
  const upload = await api("POST", `${path}/image`, { body: { contentType: file.type }, auth: true });
  let put;
  try {
    put = await fetch(apiAddress(upload.uploadUrl), { method: upload.method || "PUT", headers: upload.headers, body: file });
  } catch {
    throw new ApiError(0, "upload_failed", "The image could not be sent. Check the connection and try again.");
  }
  if (!put.ok) {
    const text = await put.text();
    let message = `The upload was refused (${put.status}).`;
    try { message = JSON.parse(text).error.message; } catch { /* S3 answers XML */ }
    throw new ApiError(put.status, "upload_failed", message);
  }
  return api("POST", `${path}/image/commit`, { body: { key: upload.key }, auth: true, full: true });
}

function imageSection(product, status, page) {
  let picture = productImage(product, "hero");
  const preview = h("div", { class: "preview" });
  const form = h("form", { class: "stack", novalidate: true },
    field("Image file", "image", { type: "file", accept: IMAGE_TYPES.join(","), hint: "JPEG, PNG or WebP, up to 5 MB" }),
    preview,
    h("button", { type: "submit" }, "Upload image"));
  const input = form.elements.image;
  const button = form.querySelector("button");
  const fail = (message) => showError(status, new ApiError(400, "invalid_image", message, [{ field: "image", problem: message }]), form);
  input.addEventListener("change", () => {
    const file = input.files[0];
    preview.replaceChildren();
    clearErrors(form);
    const why = imageProblem(file);
    if (why) return fail(why);
    preview.append(h("img", { src: URL.createObjectURL(file), alt: `Preview of ${file.name}`, class: "thumb" }));
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(button, async () => {
      const file = input.files[0];
      const why = imageProblem(file);
      if (why) return fail(why);
      try {
        say(status, "Uploading the image…");
        const { data: updated, headers } = await uploadImage(page.path, file);
        const next = productImage(updated, "hero");
        picture.replaceWith(next);
        picture = next;
        preview.replaceChildren();
        input.value = "";
        page.etag = headers.get("ETag");
        say(status, "The image is published.");
      } catch (error) {
        showError(status, error, form);
      }
    });
  });
  return h("section", { "aria-labelledby": "image-heading" }, h("h2", { id: "image-heading" }, "Image"), picture, form);
}
