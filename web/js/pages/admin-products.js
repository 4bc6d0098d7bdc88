// Admin: the catalog. List, create, edit (with If-Match, so a concurrent change is never overwritten),
// delete with confirmation, adjust stock, and upload an image (presigned PUT, then commit).
import { ApiError, api, apiAddress } from "../api.js";
import { busy, clearErrors, field, focusOn, h, render, say, scrollable, showError, statusArea } from "../dom.js";
import { money, moneyInput, parseMoney } from "../format.js";
import { currentPage, navigate, newPage } from "../main.js";
import { productImage } from "./catalog.js";

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
      h("th", { scope: "row" }, p.name), h("td", {}, p.category), h("td", {}, money(p.price, p.currency)),
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

function productForm(product, submitLabel) {
  const currency = product?.currency || "USD";
  return h("form", { class: "stack", novalidate: true },
    field("Name", "name", { required: true, value: product?.name || "" }),
    field("Description", "description", { as: "textarea", rows: 4 }, product?.description || ""),
    h("div", { class: "row" },
      field("Price", "price", { inputmode: "decimal", required: true, value: product ? moneyInput(product.price, currency) : "", hint: "In the currency's units, e.g. 19.99" }),
      field("Currency", "currency", { value: currency, maxlength: 3, required: true, autocomplete: "off" })),
    field("Category", "category", { required: true, value: product?.category || "" }),
    product ? null : field("Stock", "quantity", { type: "number", min: 0, max: 1000000, value: 0, inputmode: "numeric" }),
    h("button", { type: "submit", class: "primary" }, submitLabel));
}

/** The form's fields as the API's body; a price that is not an amount is reported like the API would. */
function readForm(form) {
  const currency = form.elements.currency.value.trim().toUpperCase();
  const price = parseMoney(form.elements.price.value, currency || "USD");
  if (price === null) {
    throw new ApiError(400, "validation_failed", "The request is not valid: price must be an amount such as 19.99.",
      [{ field: "price", problem: "must be an amount such as 19.99" }]);
  }
  const body = { name: form.elements.name.value, description: form.elements.description.value, price, currency, category: form.elements.category.value };
  if (form.elements.quantity) {
    const quantity = Number(form.elements.quantity.value || 0);
    if (!Number.isInteger(quantity)) {
      throw new ApiError(400, "validation_failed", "The request is not valid: stock must be a whole number.",
        [{ field: "quantity", problem: "must be a whole number" }]);
    }
    body.quantity = quantity;
  }
  return body;
}

export async function adminProductPage({ args: [id], isCurrent }) {
  if (id === "new") return newProductPage();
  const reload = async () => {
    const page = newPage();
    try {
      await adminProductPage({ args: [id], isCurrent: () => page === currentPage() });
    } catch (error) {
      say(status, error.message, "error");
    }
  };
  const { data: product, headers } = await api("GET", `/products/${encodeURIComponent(id)}`, { full: true });
  if (!isCurrent()) return;
  let etag = headers.get("ETag");
  const status = statusArea();
  const form = productForm(product, "Save changes");
  const save = form.querySelector("button[type=submit]");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(save, async () => {
      try {
        const result = await api("PUT", `/products/${encodeURIComponent(id)}`, { body: readForm(form), headers: { "If-Match": etag }, auth: true, full: true });
        etag = result.headers.get("ETag");
        clearErrors(form);
        say(status, `Saved. ${result.data.name} is at version ${result.data.version}.`);
      } catch (error) {
        if (error.code === "precondition_failed") {
          return say(status, h("div", {}, h("p", {}, "Someone else changed this product since you opened it. Your changes were not saved."),
            h("button", { type: "button", onclick: reload }, "Reload the product")), "error");
        }
        showError(status, error, form);
      }
    });
  });

  render(`Edit ${product.name}`, h("h1", {}, `Edit ${product.name}`),
    h("p", {}, h("a", { href: "#/admin/products" }, "All products"), " · ", h("a", { href: `#/product/${encodeURIComponent(id)}` }, "See it in the store")),
    status, form, stockSection(product, status), imageSection(product, status, (updated, tag) => { etag = tag; }));
}

function newProductPage() {
  const status = statusArea();
  const form = productForm(null, "Create product");
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(button, async () => {
      try {
        const created = await api("POST", "/products", { body: readForm(form), auth: true });
        navigate(`#/admin/products/${encodeURIComponent(created.id)}`);
      } catch (error) {
        showError(status, error, form);
      }
    });
  });
  render("New product", h("h1", {}, "New product"), h("p", {}, h("a", { href: "#/admin/products" }, "All products")), status, form);
}

function stockSection(product, status) {
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
        if (!Number.isInteger(delta)) {
          throw new ApiError(400, "validation_failed", "The request is not valid: delta must be a whole number.",
            [{ field: "delta", problem: "must be a whole number, negative to take units away" }]);
        }
        const updated = await api("POST", `/products/${encodeURIComponent(product.id)}/stock`, { body: { delta }, auth: true });
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

function imageSection(product, status, onCommitted) {
  let picture = productImage(product, "hero");
  const preview = h("div", { class: "preview" });
  const form = h("form", { class: "stack", novalidate: true },
    field("Image file", "image", { type: "file", accept: IMAGE_TYPES.join(","), hint: "JPEG, PNG or WebP, up to 5 MB" }),
    preview,
    h("button", { type: "submit" }, "Upload image"));
  const input = form.elements.image;
  const button = form.querySelector("button");
  const problem = (file) => {
    if (!file) return "Choose an image file first.";
    if (!IMAGE_TYPES.includes(file.type)) return `${file.name} is not a JPEG, PNG or WebP image.`;
    if (file.size > IMAGE_LIMIT) return `${file.name} is ${(file.size / 1048576).toFixed(1)} MB; the limit is 5 MB.`;
    if (file.size === 0) return `${file.name} is empty.`;
    return null;
  };
  const fail = (message) => showError(status, new ApiError(400, "invalid_image", message, [{ field: "image", problem: message }]), form);
  input.addEventListener("change", () => {
    const file = input.files[0];
    preview.replaceChildren();
    clearErrors(form);
    const why = problem(file);
    if (why) return fail(why);
    preview.append(h("img", { src: URL.createObjectURL(file), alt: `Preview of ${file.name}`, class: "thumb" }));
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(button, async () => {
      const file = input.files[0];
      const why = problem(file);
      if (why) return fail(why);
      try {
        say(status, "Uploading the image…");
        const upload = await api("POST", `/products/${encodeURIComponent(product.id)}/image`, { body: { contentType: file.type }, auth: true });
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
        const { data: updated, headers } = await api("POST", `/products/${encodeURIComponent(product.id)}/image/commit`, { body: { key: upload.key }, auth: true, full: true });
        const next = productImage(updated, "hero");
        picture.replaceWith(next);
        picture = next;
        preview.replaceChildren();
        input.value = "";
        onCommitted(updated, headers.get("ETag"));
        say(status, "The image is published.");
      } catch (error) {
        showError(status, error, form);
      }
    });
  });
  return h("section", { "aria-labelledby": "image-heading" }, h("h2", { id: "image-heading" }, "Image"), picture, form);
}
