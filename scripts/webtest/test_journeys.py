"""The website in a real browser (Debian chromium, headless) against a real `shop serve` with the simulated gateway:
a shopper's journey, declined and 3-D Secure cards, two shoppers racing for the last unit, an admin's journey,
sessions that end, errors next to their fields, and axe-core on every main page at phone and desktop sizes.

Run: scripts/browser-test test_journeys   (one class: scripts/browser-test test_journeys.AdminJourney)
Writes its figures (time to a visible catalog, JS and CSS bytes, axe results per page) to .cache/webtest/report.json
and prints them at the end.
"""
import itertools
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import uuid
import zlib
from pathlib import Path

import harness
import shoptest
from harness import Browser, ShopServer

REPORT = {"catalogVisibleSeconds": {}, "axe": {}, "bytes": {}}
# Each main page at both sizes, of these tests' data, kept with the test output (the README's screenshots, of the seeded
# demo store, come from test_first_impression.py).
SCREENSHOTS = harness.LOG_DIR / "screenshots"
SERVER = None
ADMIN = ("admin@example.com", "Adm1n-pass-word")
PASSWORD = "Passw0rd!"


def setUpModule():
    global SERVER
    SERVER = ShopServer(env={
        # Many sign-ins from one address in a few seconds: the sign-in limits are tested elsewhere.
        "SHOP_AUTH_RATE_LIMIT_PER_MINUTE": "0", "SHOP_LOGIN_ACCOUNT_RATE_LIMIT_PER_MINUTE": "0",
        "SHOP_BCRYPT_COST": "4", "SHOP_PAYMENTS": None, "SHOP_STORE": None, "SHOP_IMAGES": None, "SHOP_IDENTITY": None,
    })
    SERVER.start()
    SERVER.make_admin(*ADMIN)


def tearDownModule():
    if SERVER:
        SERVER.stop()
    web = Path(harness.WEB_DIR)
    REPORT["bytes"] = {
        "js": sum(p.stat().st_size for p in web.rglob("*.js")),
        "css": sum(p.stat().st_size for p in web.rglob("*.css")),
    }
    harness.LOG_DIR.mkdir(parents=True, exist_ok=True)
    (harness.LOG_DIR / "report.json").write_text(json.dumps(REPORT, indent=2))
    print("\nwebsite report (.cache/webtest/report.json):\n" + json.dumps(REPORT, indent=2))


# --- the API, for setting up what a test needs ------------------------------------------------------------

def call(method, path, body=None, token=None, headers=None, server=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request((server or SERVER).url(path), data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
            return response.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        return error.code, (json.loads(text) if text else None)


def token(email, password=PASSWORD, server=None):
    status, body = call("POST", "/auth/login", {"email": email, "password": password}, server=server)
    assert status == 200, body
    return body["accessToken"]



def admin_token():
    return token(*ADMIN)


def product(name, price=1250, quantity=10, category="tea", description="A test product."):
    status, body = call("POST", "/products", {"name": name, "price": price, "category": category, "quantity": quantity,
                                              "description": description}, admin_token())
    assert status == 201, body
    return body


# --- variants (issue 20) -------------------------------------------------------------------------------------

SIZES = ("Size", ["S", "M", "L"])
COLOURS = ("Colour", ["Olive", "Navy"])


def variant_product(name, stock, options=(SIZES, COLOURS), price=4900, prices=None, skus=None, category="outdoor", server=None):
    """A product with `options` and a variant for every combination of their values, made through the API as the admin.
    `stock`, `prices` and `skus` map a variant's values ("M / Navy") to its stock (else 0), price (else `price`) and SKU
    (else the store makes one)."""
    names = [n for n, _ in options]
    variants = []
    for values in itertools.product(*[v for _, v in options]):
        label = " / ".join(values)
        variants.append(dict({"options": dict(zip(names, values)), "price": (prices or {}).get(label, price),
                              "quantity": stock.get(label, 0)}, **({"sku": skus[label]} if label in (skus or {}) else {})))
    status, body = call("POST", "/products", {"name": name, "category": category, "description": "In sizes and colours.",
                                              "options": [{"name": n, "values": list(v)} for n, v in options], "variants": variants},
                        token(*ADMIN, server=server), server=server)
    assert status == 201, body
    return body


def label_of(product, v):
    return " / ".join(v["options"][o["name"]] for o in product["options"])


def variant(product, label):
    """The variant of `product` whose option values, in the options' order, are `label` ("M / Navy")."""
    return next(v for v in product["variants"] if label_of(product, v) == label)


def stock_of(product_id, server=None):
    """Each variant's stock now, by its values: {"M / Navy": 1, ...}."""
    status, now = call("GET", "/products/" + product_id, server=server)
    assert status == 200, now
    return {label_of(now, v): v["quantity"] for v in now["variants"]}


def pick(browser, option, value):
    """Chooses `value` of `option` on the product page as a shopper does: a click on its chip, or in the select."""
    picker = browser.wait_for('[data-option="%s"]' % option)
    if picker.tag_name == "fieldset":
        picker.find_element("xpath", ".//label[input[@value=%s]]" % json.dumps(value)).click()
        browser.wait_for('[data-option="%s"] input[value="%s"]:checked' % (option, value))
    else:
        browser.fill(option, value)


def rows_of(browser, count=None):
    """The variants in the admin's grid, by their values (waiting for `count` of them)."""
    if count is not None:
        browser._wait(lambda d: len(d.find_elements("css selector", "table.variants tbody tr")) == count, None,
                      "the grid does not have %d variants" % count)
    return [th.text for th in browser.driver.find_elements("css selector", "table.variants tbody th")]


def unique(prefix):

    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def money(minor):
    """What the pages show for USD amounts (en-US)."""
    return "${:,.2f}".format(minor / 100)


def png(width=4, height=3):
    """A small valid PNG."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# --- what every page must be ------------------------------------------------------------------------------

NETWORK_STATUS = re.compile(r"status of (\d{3})")


def assert_clean_console(test, browser, expected_statuses=()):
    """No console errors: no script error and no CSP violation. A failed request is allowed only when the test
    provoked that status (Chrome logs every 4xx the page fetched, including the ones it handles)."""
    for entry in browser.console_errors():
        message = entry.get("message", "")
        match = NETWORK_STATUS.search(message)
        if entry.get("source") == "network" and match and int(match.group(1)) in expected_statuses:
            continue
        test.fail("console error: %s" % message)


def check_page(test, browser, name, ready_css):
    """axe-core (no serious or critical violation) at phone and desktop sizes, and no horizontal scrolling on the phone."""
    results = {}
    for viewport in ("phone", "desktop"):
        browser.set_viewport(viewport)
        browser.wait_for(ready_css)
        violations = browser.axe_violations()
        results[viewport] = [v["id"] for v in violations]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.driver.save_screenshot(str(SCREENSHOTS / ("%s-%s.png" % (name.replace(" ", "-"), viewport))))
        test.assertEqual(violations, [], "%s at %s:\n%s" % (name, viewport, harness.format_violations(violations)))
        if viewport == "phone":
            browser.assert_no_horizontal_scroll()
    REPORT["axe"][name] = results
    browser.set_viewport("desktop")


def sign_in(browser, email, password=PASSWORD):
    browser.open(SERVER.url("/#/signin"))
    browser.fill("Email", email)
    browser.fill("Password", password)
    browser.click_button("Sign in")
    browser.wait_for("#nav-account")
    browser.wait_left("signin")


def register(browser, email, name="Ada Shopper"):
    browser.fill("Name", name)
    browser.fill("Email", email)
    browser.fill("Password", PASSWORD)
    browser.click_button("Create account")
    browser.wait_for("#nav-account")
    browser.wait_left("register")


def new_shopper(browser):
    email = unique("shopper") + "@example.com"
    browser.open(SERVER.url("/#/register"))
    register(browser, email)
    return email


def add_to_cart_from_product_page(browser, product_id, quantity):
    browser.open(SERVER.url("/#/product/" + product_id))
    browser.fill("Quantity", quantity)
    browser.click_button("Add to cart")
    browser.wait_text(".status", "Your cart has")


# Addresses the built-in default settings ship to: California (7.25 %, not on shipping), New York (8.875 %, on
# shipping), Great Britain (VAT 20 %, on shipping, world zone) and Germany (19 %, on shipping, world zone).
US_CA = {"name": "Ada Lovelace", "line1": "1 Infinite Loop", "city": "Cupertino", "region": "CA", "postalCode": "95014", "country": "US"}
US_NY = {"name": "Grace Hopper", "line1": "350 Fifth Avenue", "line2": "Floor 2", "city": "New York", "region": "NY",
         "postalCode": "10118", "country": "US", "phone": "+1 212 555 0100"}
GB = {"name": "Alan Turing", "line1": "10 Downing Street", "city": "London", "postalCode": "SW1A 2AA", "country": "GB"}
DE = {"name": "Emmy Noether", "line1": "Unter den Linden 6", "city": "Berlin", "postalCode": "10117", "country": "DE"}
ADDRESS_LABELS = {"name": "Full name", "line1": "Address line 1", "line2": "Address line 2 (optional)", "city": "City",
                  "region": "State or region", "postalCode": "Postal code", "country": "Country", "phone": "Phone (optional)"}


def tax(amount, rate):
    """The issue's rule: amount × rate / 100000 (rate in thousandths of a percent), rounded half away from zero."""
    return (2 * amount * rate + 100000) // 200000


def fill_address(browser, address):
    for key, label in ADDRESS_LABELS.items():
        browser.fill(label, address.get(key) or "")


def choose(browser, value):
    """Picks the radio button with `value` (a shipping method, a saved address)."""
    browser.wait_for('input[type=radio][value="%s"]' % value).click()


def to_review(browser, address=US_CA, method=None, server=None):
    """From the cart through checkout's address and method steps to the review (the store's quote). `address`
    None keeps what the page offers (a saved address); `method` None keeps the one the store chose."""
    browser.open((server or SERVER).url("/#/cart"))
    browser.click_link("Check out")
    browser.wait_text(".step h2", "Step 1 of 3")
    if address:
        fill_address(browser, address)
    browser.click_button("Continue to shipping")
    browser.wait_text(".step h2", "Step 2 of 3")
    if method:
        choose(browser, method)
    browser.click_button("Continue to review")
    browser.wait_text(".step h2", "Step 3 of 3")


def place_order(browser, address=US_CA, method=None, server=None):
    to_review(browser, address, method, server)
    browser.click_button("Place order")
    browser.wait_text("h1", "Pay for your order")
    return browser.driver.current_url.rsplit("/", 1)[1]


def assert_amounts(test, browser, scope, subtotal, shipping, taxes, total):
    """The money breakdown shown in `scope` (the review, the payment page, an order card)."""
    for key, amount in (("subtotal", subtotal), ("shipping", shipping), ("tax", taxes), ("total", total)):
        test.assertEqual(browser.text("%s .order-%s" % (scope, key)), money(amount), key)


def order_body(product_id, quantity=1, address=US_CA, method="standard"):
    return {"lines": [{"productId": product_id, "quantity": quantity}], "shippingAddress": address, "shippingMethodId": method}


def pay(browser, number):
    browser.fill("Card number", number)
    browser.fill("CVC", "123")
    browser.click_button("Pay now")


class BrowserCase(unittest.TestCase):
    viewport = "desktop"

    @classmethod
    def setUpClass(cls):
        cls.browser = Browser(cls.viewport, timeout=15)
        cls.browser.start()

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()

    def setUp(self):
        b = self.browser
        b.set_viewport(self.viewport)
        b.open(SERVER.url("/"))
        b.driver.execute_script("sessionStorage.clear(); localStorage.clear();")
        # Leave the site, so that each test's first open loads the pages afresh.
        b.open("about:blank")
        b.console_errors()


class ShopperJourney(BrowserCase):
    def test_browse_filter_register_pay_cancel_refund(self):
        b = self.browser
        tag = unique("cat")
        mug = product("Journey mug " + tag, price=1999, quantity=5, category=tag)
        # Three mugs: $59.97, over the $50 of free standard shipping; California's 7.25 % on the lines only.
        subtotal, taxes = 3 * 1999, tax(3 * 1999, 7250)
        product("Journey tea " + tag, price=450, quantity=0, category=tag + "-x")

        # The catalog is visible within 3 s of navigation (measured from the browser's navigation start).
        b.open(SERVER.url("/#/"))
        b.wait_for(".grid .card")
        visible = b.driver.execute_script("return performance.now() / 1000;")
        REPORT["catalogVisibleSeconds"]["desktop"] = round(visible, 3)
        self.assertLess(visible, 3.0)
        check_page(self, b, "catalog", ".grid .card")

        # Oldest first, in pages: "Load more" until the new products show.
        for _ in range(50):
            if b.driver.execute_script(
                    "return [...document.querySelectorAll('.card-title')].some(e => e.innerText === arguments[0]);", "Journey tea " + tag):
                break
            shown = len(b.driver.find_elements("css selector", ".card"))
            b.click_button("Load more")
            b._wait(lambda d: len(d.find_elements("css selector", ".card")) > shown, None, "Load more added nothing")
        # The out-of-stock product says so and cannot be added.
        sold_out = b.wait_text(".card", "Journey tea " + tag)
        self.assertIn("Out of stock", sold_out.text)
        self.assertFalse(sold_out.find_element("css selector", "button").is_enabled())

        # Filter by category: only that category's products.
        b.fill("Category", tag)
        b.wait_text("h1", "Catalog: " + tag)
        titles = [e.text for e in b.driver.find_elements("css selector", ".card-title")]
        self.assertEqual(titles, ["Journey mug " + tag])

        # Product page, 3 to the cart; the cart caps at the stock shown.
        b.click_link("Journey mug " + tag)
        b.wait_text("h1", "Journey mug " + tag)
        self.assertIn(money(1999), b.text(".product .price"))
        check_page(self, b, "product", ".product")
        add_to_cart_from_product_page(b, mug["id"], 3)
        self.assertEqual(b.text("#nav-cart"), "Cart (3)")

        b.open(SERVER.url("/#/cart"))
        b.wait_text("h1", "Your cart")
        self.assertIn(money(subtotal), b.text(".total"))
        check_page(self, b, "cart", "table.lines")

        # Not signed in: sign in, or register, and come back to the cart.
        b.click_link("Sign in to place the order")
        b.wait_text("h1", "Sign in")
        check_page(self, b, "sign-in", "form")
        b.click_link("Create an account")
        email = unique("ada") + "@example.com"
        register(b, email, name="Ada Lovelace")
        b.wait_text("h1", "Your cart")

        # Checkout in steps: the address, the method (standard is free over $50), the review of the store's quote.
        b.click_link("Check out")
        b.wait_text(".step h2", "Step 1 of 3")
        check_page(self, b, "checkout address", ".step form")
        fill_address(b, US_CA)
        b.click_button("Continue to shipping")
        b.wait_text(".step h2", "Step 2 of 3")
        check_page(self, b, "checkout method", ".step fieldset")
        standard = b.wait_for('input[value="standard"]')
        self.assertTrue(standard.is_selected(), "the cheapest method is chosen")
        self.assertIn("Standard: Free, 3–5 days (free over $50.00)", b.text(".step fieldset"))
        self.assertIn("Express: $15.00, 1–2 days", b.text(".step fieldset"))
        b.click_button("Continue to review")
        b.wait_text(".step h2", "Step 3 of 3")
        check_page(self, b, "checkout review", ".order-summary")
        assert_amounts(self, b, ".step", subtotal, 0, taxes, subtotal + taxes)
        self.assertIn("Cupertino CA 95014", b.text(".step dl"))
        b.click_button("Place order")
        b.wait_text("h1", "Pay for your order")
        order_id = b.driver.current_url.rsplit("/", 1)[1]
        # The payment page: the server's order, with the same amounts.
        assert_amounts(self, b, "main", subtotal, 0, taxes, subtotal + taxes)
        self.assertEqual(b.text("#nav-cart"), "Cart")
        check_page(self, b, "checkout", ".card-form")
        pay(b, "4242 4242 4242 4242")
        b.wait_text(".paid", "PAID", timeout=30)
        _, stored = call("GET", "/orders/" + order_id, token=token(email))
        self.assertEqual(stored["status"], "PAID")
        self.assertEqual((stored["subtotal"], stored["shippingTotal"], stored["taxTotal"], stored["total"]),
                         (subtotal, 0, taxes, subtotal + taxes))
        self.assertEqual(stored["payment"]["amount"], subtotal + taxes)

        # My orders: paid; cancel; refunded; the stock is back.
        b.click_link("See your orders")
        card = b.wait_for('[data-order-id="%s"]' % order_id)
        self.assertIn("Paid", card.find_element("css selector", ".order-status").text)
        self.assertIn("Paid " + money(subtotal + taxes), card.find_element("css selector", ".payment-state").text)
        # Where it goes, how, and what it cost.
        self.assertIn("1 Infinite Loop", card.find_element("css selector", ".ship-to").text)
        self.assertEqual(card.find_element("css selector", ".method").text, "Standard, 3–5 days")
        assert_amounts(self, b, '[data-order-id="%s"]' % order_id, subtotal, 0, taxes, subtotal + taxes)
        check_page(self, b, "my orders", ".orders .order")
        b.click_button("Cancel order")
        b.wait_text('[data-order-id="%s"] .payment-state' % order_id, "Refunded " + money(subtotal + taxes))
        self.assertIn("Cancelled", b.text('[data-order-id="%s"] .order-status' % order_id))
        self.assertIn("refunded", b.text(".status"))
        _, now = call("GET", "/products/" + mug["id"])
        self.assertEqual(now["quantity"], 5)

        # The account page shows the shopper's own name and email.
        b.click_link("Account")
        self.assertEqual(b.text("#account-name"), "Ada Lovelace")
        self.assertEqual(b.text("#account-email"), email)
        assert_clean_console(self, b)

    def test_a_purchase_to_great_britain_pays_vat_on_lines_and_shipping(self):
        b = self.browser
        item = product(unique("Teapot"), price=1250, quantity=5)
        email = new_shopper(b)
        add_to_cart_from_product_page(b, item["id"], 2)
        # The rest of the world: International $25.00, 7–14 days; VAT 20 % on the lines and on the shipping.
        subtotal, shipping = 2 * 1250, 2500
        taxes = tax(subtotal, 20000) + tax(shipping, 20000)
        to_review(b, GB)
        self.assertIn("London SW1A 2AA", b.text(".step dl"))
        self.assertIn("International, 7–14 days", b.text(".step dl"))
        assert_amounts(self, b, ".step", subtotal, shipping, taxes, subtotal + shipping + taxes)
        b.click_button("Place order")
        b.wait_text("h1", "Pay for your order")
        assert_amounts(self, b, "main", subtotal, shipping, taxes, subtotal + shipping + taxes)
        self.assertIn(money(subtotal + shipping + taxes), b.text(".pay h2"))
        pay(b, "4242 4242 4242 4242")
        b.wait_text(".paid", "PAID", timeout=30)
        _, mine = call("GET", "/orders", token=token(email))
        order = mine["items"][0]
        self.assertEqual((order["shippingTotal"], order["shippingTax"], order["taxTotal"], order["total"]),
                         (shipping, tax(shipping, 20000), taxes, 6000))
        self.assertEqual(order["shippingAddress"]["postalCode"], "SW1A 2AA")
        assert_clean_console(self, b)

    def test_an_address_error_is_fixed_in_place_and_the_address_book_keeps_addresses(self):
        b = self.browser
        item = product(unique("Kettle"), price=2000, quantity=5)
        new_shopper(b)
        add_to_cart_from_product_page(b, item["id"], 1)
        b.open(SERVER.url("/#/cart"))
        b.click_link("Check out")
        # A ZIP code with four digits: the store's problem is shown next to the postal code, which gets the focus.
        fill_address(b, dict(US_NY, postalCode="1011"))
        b.click_button("Continue to shipping")
        error = b.wait_text(".field-error", "Postal code")
        postal = b.field("Postal code")
        self.assertEqual(postal.get_attribute("aria-invalid"), "true")
        self.assertIn(error.get_attribute("id"), postal.get_attribute("aria-describedby"))
        self.assertEqual(b.driver.switch_to.active_element, postal, "the focus is on the field to fix")
        check_page(self, b, "checkout address error", ".field-error:not([hidden])")
        # Fixed in place, and saved to the address book on the way.
        b.fill("Postal code", US_NY["postalCode"])
        b.fill("Save to my addresses", True)
        b.click_button("Continue to shipping")
        b.wait_text(".step h2", "Step 2 of 3")
        b.wait_text(".status", "The address is saved")
        self.assertIn("Standard: $5.00, 3–5 days (free over $50.00)", b.text(".step fieldset"))
        # Express to New York: 8.875 % on the lines and on the shipping.
        choose(b, "express")
        b.click_button("Continue to review")
        b.wait_text(".step h2", "Step 3 of 3")
        taxes = tax(2000, 8875) + tax(1500, 8875)
        assert_amounts(self, b, ".step", 2000, 1500, taxes, 3500 + taxes)
        b.click_button("Place order")
        b.wait_text("h1", "Pay for your order")

        # The next checkout offers the saved address first (the order gets a copy, by addressId).
        add_to_cart_from_product_page(b, item["id"], 1)
        b.open(SERVER.url("/#/cart"))
        b.click_link("Check out")
        saved = b.wait_for('input[name="addressId"]:checked')
        self.assertNotEqual(saved.get_attribute("value"), "")
        to_review(b, address=None)
        self.assertIn("New York NY 10118", b.text(".step dl"))
        assert_amounts(self, b, ".step", 2000, 500, tax(2000, 8875) + tax(500, 8875), 2500 + tax(2000, 8875) + tax(500, 8875))

        # The address book on the account page: edit, a bad ZIP shown in place, add, delete.
        b.open(SERVER.url("/#/account"))
        book = b.wait_for(".addresses .address")
        self.assertIn("350 Fifth Avenue", book.text)
        check_page(self, b, "account", ".addresses .address")
        b.click_button("Edit")
        b.wait_text("h3", "Edit the address")
        self.assertEqual(b.field("City").get_attribute("value"), "New York")
        b.fill("Address line 1", "20 West 34th Street")
        b.click_button("Save address")
        b.wait_text(".addresses .address", "20 West 34th Street")
        b.wait_text("h3", "Add an address")
        fill_address(b, dict(GB, postalCode="12345"))
        b.click_button("Add address")
        b.wait_text(".field-error", "Postal code")
        b.fill("Postal code", "ec1a 1bb")
        b.click_button("Add address")
        b.wait_text(".addresses", "EC1A 1BB")
        self.assertEqual(len(b.driver.find_elements("css selector", ".addresses .address")), 2)
        b.driver.find_element("css selector", ".addresses .address .danger").click()
        b.wait_text(".status", "The address is deleted.")
        self.assertEqual(len(b.driver.find_elements("css selector", ".addresses .address")), 1)
        self.assertNotIn("20 West 34th Street", b.text(".addresses"))
        assert_clean_console(self, b, expected_statuses=(400,))

    def test_declined_cards_are_explained_and_another_card_can_pay(self):
        b = self.browser
        item = product(unique("Declined"), price=700, quantity=3)
        new_shopper(b)
        add_to_cart_from_product_page(b, item["id"], 1)
        place_order(b)
        pay(b, "4000 0000 0000 0002")
        b.wait_text(".status.error", "Your card was declined.")
        pay(b, "4000 0000 0000 9995")
        b.wait_text(".status.error", "insufficient funds")
        # A card number that fails the Luhn check is shown next to the field.
        pay(b, "4242 4242 4242 4241")
        b.wait_text(".field-error", "Card number")
        pay(b, "4242 4242 4242 4242")
        b.wait_text(".paid", "PAID", timeout=30)
        assert_clean_console(self, b, expected_statuses=(400, 402))

    def test_three_d_secure_approve_and_fail(self):
        b = self.browser
        item = product(unique("3DS"), price=900, quantity=3)
        new_shopper(b)
        add_to_cart_from_product_page(b, item["id"], 1)
        place_order(b)
        pay(b, "4000 0025 0000 3155")
        b.wait_text(".challenge", "Confirm with your bank")
        b.click_button("Fail authentication")
        b.wait_text(".status.error", "3-D Secure check failed")
        pay(b, "4000 0025 0000 3155")
        b.click_button("Approve payment")
        b.wait_text(".paid", "PAID", timeout=30)
        assert_clean_console(self, b)

    def test_a_retry_after_a_lost_answer_places_one_order(self):
        b = self.browser
        item = product(unique("Retry"), price=300, quantity=10)
        email = new_shopper(b)
        add_to_cart_from_product_page(b, item["id"], 1)
        to_review(b)
        # The first POST /orders reaches the server, but its answer is lost on the way back.
        b.driver.execute_script(
            "const real = window.fetch; let dropped = false;"
            "window.fetch = async (url, init) => { const response = await real(url, init);"
            "  if (!dropped && init && init.method === 'POST' && String(url).endsWith('/orders')) {"
            "    dropped = true; throw new TypeError('connection reset'); }"
            "  return response; };")
        b.click_button("Place order")
        b.wait_text(".status.error", "could not be reached")
        # The shopper tries again: the same Idempotency-Key, so the first order comes back and nothing is taken twice.
        b.click_button("Place order")
        b.wait_text("h1", "Pay for your order")
        _, mine = call("GET", "/orders", token=token(email))
        self.assertEqual(len(mine["items"]), 1)
        _, now = call("GET", "/products/" + item["id"])
        self.assertEqual(now["quantity"], 9)

    def test_errors_are_shown_next_to_their_fields(self):
        b = self.browser
        b.open(SERVER.url("/#/register"))
        b.fill("Name", "Bad Email")
        b.fill("Email", "not-an-email")
        b.fill("Password", PASSWORD)
        b.click_button("Create account")
        error = b.wait_text(".field-error", "Email")
        email_input = b.field("Email")
        self.assertEqual(email_input.get_attribute("aria-invalid"), "true")
        self.assertIn(error.get_attribute("id"), email_input.get_attribute("aria-describedby"))
        b.fill("Email", unique("weak") + "@example.com")
        b.fill("Password", "password")
        b.click_button("Create account")
        b.wait_text(".field-error", "Password")
        b.open(SERVER.url("/#/signin"))
        b.fill("Email", "nobody@example.com")
        b.fill("Password", "Wrong-pass-1")
        b.click_button("Sign in")
        b.wait_text(".status.error", "email or password")
        assert_clean_console(self, b, expected_statuses=(400, 401))

    def test_an_ended_session_shows_the_sign_in_form_and_sign_out_revokes(self):
        b = self.browser
        new_shopper(b)
        refresh = b.driver.execute_script("return JSON.parse(sessionStorage.getItem('shop.session')).refreshToken;")
        b.click_link("Account")
        b.click_button("Sign out")
        b.wait_text(".status", "You are signed out.")
        status, _ = call("POST", "/auth/refresh", {"refreshToken": refresh})
        self.assertEqual(status, 401, "sign out revokes the refresh token")

        # A session whose tokens the server refuses: the sign-in form, never a blank page.
        b.driver.execute_script(
            "sessionStorage.setItem('shop.session', JSON.stringify({accessToken: 'forged', refreshToken: 'forged',"
            " expiresAt: Date.now() + 3600000, profile: {name: 'x', email: 'x@example.com', groups: []}}));")
        b.open(SERVER.url("/#/orders"))
        b.wait_text(".status.error", "Your session has ended")
        b.wait_text("h1", "Sign in")
        assert_clean_console(self, b, expected_statuses=(401,))


class Budget(unittest.TestCase):
    def test_all_js_and_css_together_stay_under_122_kb(self):
        # 100 KB until the admin's order timeline and dashboard (issues 19 and 21) took it past 101 KB; 108 KB until
        # variants (issue 20: the product page's pickers, the admin's grid of variants) took it from 103.6 to 119.6 KB.
        web = Path(harness.WEB_DIR)
        total = sum(p.stat().st_size for p in web.rglob("*") if p.suffix in (".js", ".css"))
        self.assertGreater(total, 0)
        self.assertLess(total, 122 * 1024, "uncompressed JS and CSS")


    def test_pages_load_no_script_from_elsewhere_and_no_inline_script(self):
        for page in Path(harness.WEB_DIR).rglob("*.html"):
            html = page.read_text()
            for match in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html, re.S):
                self.assertRegex(match.group(1), r'src="(?!https?:|//)', "%s: only local script files" % page.name)
                self.assertEqual(match.group(2).strip(), "", "%s: no inline script" % page.name)
            self.assertNotRegex(html, r"\son[a-z]+=", "%s: no inline event handlers" % page.name)
            self.assertNotIn("style=", html, "%s: no inline styles" % page.name)


class KeyboardAndTokens(BrowserCase):
    def test_the_store_works_from_the_keyboard_with_visible_focus(self):
        from selenium.webdriver.common.keys import Keys
        b = self.browser
        item = product(unique("Keyboard"), price=800, quantity=5, category=unique("kb"))
        b.open(SERVER.url("/#/?category=" + item["category"]))
        b.wait_text(".card-title", item["name"])
        # A page change moves focus to its heading, so keyboard and screen-reader users start at the new content.
        self.assertEqual(b.driver.switch_to.active_element.tag_name, "h1")
        # Tabbing from there: the category filter, the product's link, its button; focus is always visible.
        order = []
        for _ in range(6):
            b.driver.switch_to.active_element.send_keys(Keys.TAB)
            element = b.driver.switch_to.active_element
            outline = b.driver.execute_script("return getComputedStyle(document.activeElement).outlineStyle;")
            self.assertNotEqual(outline, "none", "focus on %s is visible" % element.tag_name)
            order.append(element.get_attribute("id") or element.text.strip().split("\n")[-1])
            if element.tag_name == "button":
                break
        self.assertEqual(order, ["category", item["name"], "Add to cart"])
        b.driver.switch_to.active_element.send_keys(Keys.ENTER)
        b.wait_text(".status", "is in your cart (1)")
        self.assertEqual(b.text("#nav-cart"), "Cart (1)")
        # The skip link is the first stop of the page, shows itself when focused, and takes the keyboard to the content.
        b.driver.execute_script("document.querySelector('.skip').focus();")
        skip = b.driver.switch_to.active_element
        self.assertEqual(skip.text, "Skip to content")
        self.assertGreaterEqual(skip.rect["x"], 0)
        skip.send_keys(Keys.ENTER)
        self.assertEqual(b.driver.switch_to.active_element.get_attribute("id"), "main")
        self.assertIn(item["name"], b.text("main"), "the skip link leaves the page as it was")
        first = b.driver.execute_script(
            "return [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]"
            ".find(e => e.tabIndex >= 0 && e.getClientRects().length).className;")
        self.assertEqual(first, "skip")

    def test_tokens_are_refreshed_before_they_expire(self):
        b = self.browser
        new_shopper(b)
        before = b.driver.execute_script("return JSON.parse(sessionStorage.getItem('shop.session'));")
        time.sleep(1.1)  # a token issued in another second differs
        # Make the stored token look nearly expired: the next call refreshes it first.
        b.driver.execute_script(
            "var s = JSON.parse(sessionStorage.getItem('shop.session')); s.expiresAt = Date.now() + 20000;"
            "sessionStorage.setItem('shop.session', JSON.stringify(s));")
        b.open(SERVER.url("/#/orders"))
        b.wait_text("h1", "My orders")
        after = b.driver.execute_script("return JSON.parse(sessionStorage.getItem('shop.session'));")
        self.assertNotEqual(after["accessToken"], before["accessToken"])
        self.assertGreater(after["expiresAt"], before["expiresAt"])
        self.assertEqual(call("GET", "/auth/me", token=after["accessToken"])[0], 200)
        assert_clean_console(self, b)


class PhoneShopper(BrowserCase):
    viewport = "phone"

    def test_catalog_and_checkout_on_a_phone(self):
        b = self.browser
        item = product(unique("Phone"), price=1500, quantity=4)
        b.open(SERVER.url("/#/"))
        b.wait_for(".grid .card")
        REPORT["catalogVisibleSeconds"]["phone"] = round(b.driver.execute_script("return performance.now() / 1000;"), 3)
        b.assert_no_horizontal_scroll()
        new_shopper(b)
        add_to_cart_from_product_page(b, item["id"], 1)
        b.open(SERVER.url("/#/cart"))
        b.wait_for("table.lines")
        b.assert_no_horizontal_scroll()
        to_review(b, GB)
        b.assert_no_horizontal_scroll()
        b.click_button("Place order")
        b.wait_text("h1", "Pay for your order")
        b.assert_no_horizontal_scroll()
        pay(b, "4242424242424242")
        b.wait_text(".paid", "PAID", timeout=30)
        b.assert_no_horizontal_scroll()
        assert_clean_console(self, b)


def race(test, first, second):
    """Both browsers, at the review step, click "Place order" at (nearly) the same moment: exactly one gets to pay.
    Answers the other browser and the error it shows."""
    buttons = [b.wait_text("button", "Place order") for b in (first, second)]
    first.driver.execute_script("var button = arguments[0]; setTimeout(function () { button.click(); }, 0);", buttons[0])
    second.driver.execute_script("arguments[0].click();", buttons[1])
    outcomes = []
    for b in (first, second):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            heading, status = b.driver.execute_script(
                "var h = document.querySelector('h1'), s = document.querySelector('.status.error');"
                "return [h ? h.innerText : '', s ? s.innerText : ''];")
            if heading == "Pay for your order" or status:
                outcomes.append((heading, status))
                break
            time.sleep(0.1)
        else:
            test.fail("no outcome in one browser")
    winners = [o for o in outcomes if o[0] == "Pay for your order"]
    losers = [o for o in outcomes if o[0] != "Pay for your order"]
    test.assertEqual(len(winners), 1, outcomes)
    test.assertEqual(len(losers), 1, outcomes)
    return (second if winners[0] is outcomes[0] else first), losers[0][1]


class LastUnitRace(unittest.TestCase):
    def test_two_shoppers_race_for_the_last_unit(self):
        item = product(unique("Last unit"), price=5000, quantity=1)
        with Browser("desktop", timeout=15) as first, Browser("desktop", timeout=15) as second:
            for b in (first, second):
                new_shopper(b)
                add_to_cart_from_product_page(b, item["id"], 1)
                to_review(b)
            loser, error = race(self, first, second)
            self.assertIn("Last unit", error)
            self.assertIn("none are left", error)
            loser.click_button("Update my cart to what is left")
            loser.wait_text(".status", "Your cart now has what is in stock")
            loser.wait_text("main", "Your cart is empty")
            _, now = call("GET", "/products/" + item["id"])
            self.assertEqual(now["quantity"], 0)
            assert_clean_console(self, loser, expected_statuses=(409,))


class AdminJourney(BrowserCase):
    def test_create_upload_see_in_store_and_fulfil(self):
        b = self.browser
        sign_in(b, ADMIN[0], ADMIN[1])
        b.click_link("Admin products")
        b.wait_for("table.admin")
        check_page(self, b, "admin products", "table.admin")

        name = unique("Admin lamp")
        b.click_link("New product")
        b.fill("Name", name)
        b.fill("Description", "Warm light.")
        b.fill("Price", "12.345")
        b.fill("Category", "lighting")
        b.fill("Stock", "7")
        b.click_button("Create product")
        b.wait_text(".field-error", "Price")  # three decimals are not an amount in USD
        b.fill("Price", "24.50")
        b.click_button("Create product")
        b.wait_text("h1", "Edit " + name)
        product_id = b.driver.current_url.rsplit("/", 1)[1]

        # Image: the wrong type and a too-large file are refused before any upload; a PNG is published.
        directory = tempfile.mkdtemp(prefix="webtest-")
        text_file = os.path.join(directory, "notes.txt")
        Path(text_file).write_text("not an image")
        big_file = os.path.join(directory, "huge.png")
        Path(big_file).write_bytes(png() + b"\0" * (5 * 1024 * 1024 + 1))
        good_file = os.path.join(directory, "lamp.png")
        Path(good_file).write_bytes(png())
        b.field("Image file").send_keys(text_file)
        b.wait_text(".field-error", "not a JPEG, PNG or WebP image")
        b.field("Image file").send_keys(big_file)
        b.wait_text(".field-error", "the limit is 5 MB")
        b.field("Image file").send_keys(good_file)
        b.wait_for(".preview img")
        b.click_button("Upload image")
        b.wait_text(".status", "The image is published.")
        image = b.wait_for("section img.hero")
        src = image.get_attribute("src")
        self.assertIn("/images/products/%s/" % product_id, src)

        # Stock adjustment.
        b.fill("Change stock by", "3")
        b.click_button("Adjust stock")
        b.wait_text("#stock-now", "10")

        # Someone else edits meanwhile: the save is refused with a reload offer, and the reload works.
        _, current = call("GET", "/products/" + product_id)
        status, _ = call("PUT", "/products/" + product_id, {"name": name, "price": 2600, "category": "lighting",
                                                             "description": "Changed elsewhere."}, admin_token())
        self.assertEqual(status, 200)
        b.fill("Description", "My edit")
        b.click_button("Save changes")
        b.wait_text(".status.error", "Someone else changed this product")
        stale = b.field("Description")
        b.click_button("Reload the product")
        b._wait(lambda d: b.field("Description") != stale and b.field("Description").get_attribute("value") == "Changed elsewhere.",
                None, "the reloaded form does not show the other admin's description")
        b.fill("Description", "My edit, after reloading")
        b.click_button("Save changes")
        b.wait_text(".status", "Saved.")

        # The storefront shows it with its picture.
        b.open(SERVER.url("/#/?category=lighting"))
        card = b.wait_for('[data-product-id="%s"]' % product_id)
        self.assertEqual(card.find_element("css selector", "img").get_attribute("src"), src)
        self.assertIn("$26.00", card.text)

        # A shopper's paid order, fulfilled by the admin.
        shopper = unique("buyer") + "@example.com"
        self.assertEqual(call("POST", "/auth/register", {"email": shopper, "password": PASSWORD, "name": "Buyer"})[0], 201)
        shopper_token = token(shopper)
        status, order = call("POST", "/orders", order_body(product_id, address=GB, method="intl"), shopper_token)
        self.assertEqual(status, 201, order)
        _, payment = call("POST", "/payment", {"orderId": order["id"]}, shopper_token)
        status, _ = call("POST", "/payment/simulator/confirm", {"paymentId": payment["paymentId"], "card": {
            "number": "4242424242424242", "expMonth": 12, "expYear": 2040, "cvc": "123"}}, shopper_token)
        self.assertEqual(status, 200)
        deadline = time.monotonic() + 30
        while call("GET", "/orders/" + order["id"], token=shopper_token)[1]["status"] != "PAID":
            self.assertLess(time.monotonic(), deadline, "the webhook never marked the order PAID")
            time.sleep(0.2)

        b.open(SERVER.url("/#/admin/orders"))
        b.fill("Status", "Paid")
        b.wait_for('[data-order-id="%s"]' % order["id"])
        check_page(self, b, "admin orders", ".orders .order")
        card = b.wait_for('[data-order-id="%s"]' % order["id"])
        self.assertIn("10 Downing Street", card.find_element("css selector", ".ship-to").text)

        # The order's page: where it goes, and a packing slip that is all that prints.
        b.click_link("Order %s: details and packing slip" % order["id"][-8:])
        slip = b.wait_for(".slip")
        self.assertIn("London SW1A 2AA", slip.text)
        self.assertIn("Method: International", slip.text)
        self.assertIn(name, slip.text)
        # Its timeline: what happened, and the confirmation email the payment sent (SHOP_MAIL=file here).
        timeline = b.wait_for("ol.timeline")
        self.assertEqual([li.find_element("css selector", "strong").text for li in timeline.find_elements("css selector", ":scope > li")],
                         ["Placed", "Paid"])
        self.assertIn("Email order-confirmation to %s: " % shopper, timeline.text)
        check_page(self, b, "admin order", ".slip")
        b.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        try:
            shown = b.driver.execute_script(
                "return [...document.querySelectorAll('body *')].filter(e => e.getClientRects().length && !e.closest('.slip'))"
                ".map(e => e.tagName);")
            self.assertEqual([t for t in shown if t not in ("MAIN",)], [], "only the slip prints")
        finally:
            b.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

        # Fulfil asks for the carrier and tracking: a tracking link that is not https is shown next to its field.
        b.click_button("Fulfil")
        b.fill("Carrier (optional)", "Royal Mail")
        b.fill("Tracking number (optional)", "RM 1234-5678")
        b.fill("Tracking link (optional)", "http://track.example.com/RM12345678")
        b.click_button("Mark as fulfilled")
        b.wait_text(".field-error", "Tracking link")
        tracking = "https://track.example.com/RM12345678"
        b.fill("Tracking link (optional)", tracking)
        b.click_button("Mark as fulfilled")
        b.wait_text('[data-order-id="%s"] .order-status' % order["id"], "Fulfilled")
        _, shipped = call("GET", "/orders/" + order["id"], token=shopper_token)
        self.assertEqual(shipped["status"], "FULFILLED")
        self.assertEqual((shipped["shipment"]["carrier"], shipped["shipment"]["trackingNumber"], shipped["shipment"]["trackingUrl"]),
                         ("Royal Mail", "RM 1234-5678", tracking))

        # Delete, after a confirmation in the page.
        b.open(SERVER.url("/#/admin/products"))
        row = b.wait_for('tr[data-product-id="%s"]' % product_id)
        row.find_element("css selector", "button").click()
        b.wait_text('tr[data-product-id="%s"]' % product_id, "Delete " + name + "?")
        b.click_button("Yes, delete")
        b.wait_text(".status", name + " was deleted.")
        self.assertEqual(call("GET", "/products/" + product_id)[0], 404)
        assert_clean_console(self, b, expected_statuses=(400, 412))

        # The shopper sees the parcel's carrier and its tracking link in My orders.
        b.driver.execute_script("sessionStorage.clear();")
        b.open("about:blank")
        sign_in(b, shopper)
        b.open(SERVER.url("/#/orders"))
        shipment = b.wait_text('[data-order-id="%s"] .shipment' % order["id"], "Royal Mail RM 1234-5678")
        link = shipment.find_element("css selector", "a")
        self.assertEqual(link.get_attribute("href"), tracking)
        self.assertEqual(link.text, "Track the parcel")

    def test_settings_a_changed_rate_shows_in_a_new_quote_and_a_stale_save_is_refused(self):
        b = self.browser
        _, original = call("GET", "/settings")

        def restore():
            _, now = call("GET", "/settings")
            body = {k: v for k, v in original.items() if k not in ("version", "updatedAt")}
            status, answer = call("PUT", "/settings", body, admin_token(), {"If-Match": '"s%d"' % now["version"]})
            assert status == 200, answer
        self.addCleanup(restore)
        de = [r["country"] for r in original["taxRates"]].index("DE")

        sign_in(b, ADMIN[0], ADMIN[1])
        b.click_link("Admin settings")
        b.wait_text("h1", "Store settings")
        check_page(self, b, "admin settings", "form.settings")
        # Rows are added (the focus on the new one's first field) and removed again.
        n = len(original["taxRates"])
        b.click_button("Add a tax rate")
        b._wait(lambda d: d.switch_to.active_element.get_attribute("name") == "taxRates[%d].country" % n, None, "focus on the new rate")
        b.click_button("Remove tax rate %d" % (n + 1))
        b.wait_gone('[name="taxRates[%d].country"]' % n)
        rate = b.wait_for('[name="taxRates[%d].rate"]' % de)
        self.assertEqual(rate.get_attribute("value"), "19")
        self.assertEqual(b.wait_for('[name="shippingZones[0].methods[0].freeOver"]').get_attribute("value"), "50.00")
        # A problem the page finds (a rate that is not a percentage) and one the store finds (minDays > maxDays), each in place.
        rate.clear()
        rate.send_keys("sixteen")
        b.click_button("Save settings")
        b.wait_text(".field-error", "Rate (%): must be a percentage")
        rate = b.wait_for('[name="taxRates[%d].rate"]' % de)
        rate.clear()
        rate.send_keys("16.5")
        days = b.wait_for('[name="shippingZones[0].methods[1].minDays"]')
        days.clear()
        days.send_keys("9")
        b.click_button("Save settings")
        error = b.wait_for('.field[data-field^="shippingZones[0].methods[1]"] .field-error:not([hidden])')
        self.assertTrue(error.text, "the store's problem is next to a field of the method")
        days = b.wait_for('[name="shippingZones[0].methods[1].minDays"]')
        days.clear()
        days.send_keys("1")
        b.click_button("Save settings")
        b.wait_text(".status", "Saved. The settings are at version %d." % (original["version"] + 1))
        _, saved = call("GET", "/settings")
        self.assertEqual(saved["taxRates"][de]["rate"], 16500)
        self.assertEqual(saved["shippingZones"], original["shippingZones"])

        # Another admin saves meanwhile: this save is refused with a reload offer, and the reload shows theirs.
        body = {k: v for k, v in saved.items() if k not in ("version", "updatedAt")}
        body["taxRates"][de]["name"] = "MwSt"
        status, _ = call("PUT", "/settings", body, admin_token(), {"If-Match": '"s%d"' % saved["version"]})
        self.assertEqual(status, 200)
        b.fill("Tax name", "Changed here")  # the first rate's name
        b.click_button("Save settings")
        b.wait_text(".status.error", "Someone else changed the settings")
        b.click_button("Reload the settings")
        b._wait(lambda d: d.find_element("css selector", '[name="taxRates[%d].name"]' % de).get_attribute("value") == "MwSt",
                None, "the reloaded form does not show the other admin's change")

        # A new quote for Germany uses the new rate: International $25.00, 16.5 % on the line and the shipping.
        item = product(unique("Clock"), price=1000, quantity=3)
        add_to_cart_from_product_page(b, item["id"], 1)
        to_review(b, DE)
        taxes = tax(1000, 16500) + tax(2500, 16500)
        assert_amounts(self, b, ".step", 1000, 2500, taxes, 3500 + taxes)
        assert_clean_console(self, b, expected_statuses=(400, 412))

    def test_the_dashboard_shows_todays_sales_and_what_is_running_out(self):
        b = self.browser
        # A product of its own with 3 left after a paid order of 2: it sold today, and it is running out (fewer than 5).
        item = product(unique("Dash"), price=700, quantity=5, category=unique("dash"))
        shopper = unique("dash") + "@example.com"
        self.assertEqual(call("POST", "/auth/register", {"email": shopper, "password": PASSWORD, "name": "Dash"})[0], 201)
        shopper_token = token(shopper)
        status, order = call("POST", "/orders", order_body(item["id"], quantity=2), shopper_token)
        self.assertEqual(status, 201, order)
        _, payment = call("POST", "/payment", {"orderId": order["id"]}, shopper_token)
        status, _ = call("POST", "/payment/simulator/confirm", {"paymentId": payment["paymentId"], "card": {
            "number": "4242424242424242", "expMonth": 12, "expYear": 2040, "cvc": "123"}}, shopper_token)
        self.assertEqual(status, 200)
        deadline = time.monotonic() + 30
        while call("GET", "/orders/" + order["id"], token=shopper_token)[1]["status"] != "PAID":
            self.assertLess(time.monotonic(), deadline, "the webhook never marked the order PAID")
            time.sleep(0.2)
        _, stats = call("GET", "/admin/stats", token=admin_token())
        usd = next(c for c in stats["currencies"] if c["currency"] == "USD")

        sign_in(b, ADMIN[0], ADMIN[1])
        b.click_link("Dashboard")
        b.wait_text("h1", "Dashboard")
        chart = b.wait_for("svg.chart")
        self.assertEqual(len(chart.find_elements("css selector", "rect")), 30, "a bar for each of the last 30 days")
        self.assertIn("Revenue per day in USD", chart.get_attribute("aria-label"))
        labels = b.driver.execute_script("return [...arguments[0].querySelectorAll(':scope > text')].map(t => t.textContent);", chart)
        self.assertEqual(labels, [stats["from"], stats["to"]])
        # Today's bar names today's revenue.
        last = b.driver.execute_script("return [...arguments[0].querySelectorAll('rect title')].at(-1).textContent;", chart)
        self.assertTrue(last.startswith(stats["to"] + ": $"), last)
        self.assertGreaterEqual(usd["days"][-1]["revenue"], 1400 + 500, "today's revenue counts the order just paid")
        section = b.wait_for('section[aria-labelledby="stats-USD"]')
        self.assertIn("Revenue", section.text)
        self.assertIn("%d paid" % usd["orders"]["paid"], section.text)
        check_page(self, b, "admin dashboard", "svg.chart")
        # The product running out links to its admin page.
        b.click_link(item["name"])
        b.wait_text("#stock-now", "3")
        # A period without orders says so.
        b.open(SERVER.url("/#/admin/dashboard?from=2020-01-01&to=2020-01-31"))
        b.wait_text("main p", "No orders in this period.")
        assert_clean_console(self, b)

    def test_a_shopper_sees_no_admin_pages(self):
        b = self.browser
        new_shopper(b)
        self.assertFalse(b.driver.find_element("css selector", "a[href='#/admin/products']").is_displayed())
        b.open(SERVER.url("/#/admin/products"))
        b.wait_text("h1", "Not allowed")


class CognitoAccount(unittest.TestCase):
    """With SHOP_IDENTITY=cognito (a user pool on moto, made here as the production pool is: email as the
    username, email verification) registering answers 202 and the page asks for the emailed code; moto takes
    any code, so "123456" confirms. Then sign in, see the account, sign out."""

    def test_register_confirm_with_the_code_sign_in_and_out(self):
        moto = os.environ.get("SHOP_TEST_MOTO_ENDPOINT")
        harness.need(moto, "moto (SHOP_TEST_MOTO_ENDPOINT; scripts/test starts it)")
        import botocore.session
        cognito = botocore.session.get_session().create_client(
            "cognito-idp", region_name="us-east-1", endpoint_url=moto, aws_access_key_id="testing", aws_secret_access_key="testing")
        pool = cognito.create_user_pool(PoolName=unique("web"), UsernameAttributes=["email"], AutoVerifiedAttributes=["email"],
                                        Policies={"PasswordPolicy": {"MinimumLength": 8}})["UserPool"]["Id"]
        client = cognito.create_user_pool_client(
            UserPoolId=pool, ClientName="web", GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            ReadAttributes=["email", "email_verified", "name"])["UserPoolClient"]["ClientId"]
        env = {"SHOP_IDENTITY": "cognito", "SHOP_COGNITO_USER_POOL_ID": pool, "SHOP_COGNITO_CLIENT_ID": client,
               "SHOP_COGNITO_ENDPOINT": moto, "SHOP_COGNITO_JWKS_URL": "%s/%s/.well-known/jwks.json" % (moto, pool),
               "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_SESSION_TOKEN": None, "SHOP_AUTH_RATE_LIMIT_PER_MINUTE": "0"}
        email = unique("cog") + "@example.com"
        with ShopServer(env=env) as shop, Browser("phone", timeout=15) as b:
            b.open(shop.url("/#/register"))
            b.fill("Name", "Grace Hopper")
            b.fill("Email", email)
            b.fill("Password", PASSWORD)
            b.click_button("Create account")
            b.wait_text("h1", "Confirm your account")
            self.assertEqual(b.field("Email").get_attribute("value"), email)
            b.fill("Confirmation code", "123456")
            b.click_button("Confirm")
            b.wait_text(".status", "Your account is confirmed. Sign in.")
            b.fill("Password", PASSWORD)
            b.click_button("Sign in")
            b.wait_for("#nav-account")
            b.wait_left("signin")
            b.click_link("Account")
            self.assertEqual(b.text("#account-name"), "Grace Hopper")
            self.assertEqual(b.text("#account-email"), email)
            # moto has no RevokeToken: the API answers 503 identity_unavailable, and the page says what happened.
            b.click_button("Sign out")
            b.wait_text(".status", "You are signed out on this device. The store could not end your session")
            self.assertRegex(shop.log(), r"path=/auth/logout .*status=503")
            assert_clean_console(self, b, expected_statuses=(503,))


class DelayedWebhook(unittest.TestCase):
    """The gateway's webhook is late (the simulator delivers to an address nobody answers, so it keeps retrying): a
    shopper who paid and reloads the checkout page sees "Payment received, confirming…", never the card form again."""

    def test_a_reload_before_the_webhook_shows_payment_received(self):
        dead = "http://127.0.0.1:%d/hook" % shoptest.free_port()
        env = {"SHOP_PAYMENTS_WEBHOOK_URL": dead, "SHOP_AUTH_RATE_LIMIT_PER_MINUTE": "0", "SHOP_BCRYPT_COST": "4",
               "SHOP_PAYMENTS": None, "SHOP_STORE": None, "SHOP_IMAGES": None, "SHOP_IDENTITY": None}
        with ShopServer(env=env) as shop, Browser("desktop", timeout=15) as b:
            shop.make_admin(*ADMIN)
            admin = json.loads(urllib.request.urlopen(urllib.request.Request(
                shop.url("/auth/login"), data=json.dumps({"email": ADMIN[0], "password": ADMIN[1]}).encode(),
                headers={"Content-Type": "application/json"})).read())["accessToken"]
            item = json.loads(urllib.request.urlopen(urllib.request.Request(
                shop.url("/products"), data=json.dumps({"name": "Late mug", "price": 1200, "category": "mugs", "quantity": 3}).encode(),
                headers={"Content-Type": "application/json", "Authorization": "Bearer " + admin})).read())
            b.open(shop.url("/#/register"))
            register(b, unique("late") + "@example.com")
            b.open(shop.url("/#/product/" + item["id"]))
            b.wait_text("h1", "Late mug")
            b.click_button("Add to cart")
            b.wait_text(".status", "Your cart has")
            place_order(b, server=shop)
            checkout = b.driver.current_url
            pay(b, "4242 4242 4242 4242")
            b.wait_text(".status", "Waiting for the store to confirm it")
            # The reload, while the webhook has not come: no card form, the payment shown as received.
            b.open("about:blank")
            b.open(checkout)
            b.wait_text(".pay .received", "Payment received, confirming")
            self.assertEqual(b.driver.find_elements("css selector", ".card-form"), [], "the card form is not offered again")
            self.assertIn("Waiting for the store to confirm it", b.text(".status"))


class StripeMode(unittest.TestCase):
    """With SHOP_PAYMENTS=stripe the checkout loads Stripe.js, the one script from elsewhere, from the address in
    web/config.js, under a CSP that names that origin only in this mode. localstripe's bundled `localstripe-v3.js`
    stands in for Stripe.js. It has no Payment Element and no `confirmPayment`, and localstripe refuses to confirm a
    PaymentIntent with a payment method (500 "Not implemented"), so a charge cannot be driven from the page here: the
    Stripe charge, its webhook and refunds are proven by scripts/payments-e2e and LocalstripeFlowTests instead."""

    def test_checkout_loads_stripe_js_under_the_policy_and_mounts_the_card_form(self):
        localstripe = os.environ.get("SHOP_TEST_LOCALSTRIPE")
        harness.need(localstripe, "localstripe (SHOP_TEST_LOCALSTRIPE; scripts/test starts it)")
        stripe_js = localstripe + "/js.stripe.com/v3/"
        web = tempfile.mkdtemp(prefix="webtest-stripe-")
        shutil.copytree(harness.WEB_DIR, web, dirs_exist_ok=True)
        config = Path(web, "config.js")
        config.write_text(config.read_text().replace("https://js.stripe.com/v3/", stripe_js))
        env = {"SHOP_PAYMENTS": "stripe", "SHOP_STRIPE_SECRET_KEY": "sk_test_webtest", "SHOP_STRIPE_PUBLISHABLE_KEY": "pk_test_webtest",
               "SHOP_STRIPE_API_BASE": localstripe, "SHOP_PAYMENTS_WEBHOOK_SECRET": "whsec_webtest", "SHOP_STRIPE_JS_URL": stripe_js,
               "SHOP_AUTH_RATE_LIMIT_PER_MINUTE": "0", "SHOP_BCRYPT_COST": "4"}
        try:
            with ShopServer(env=env, web_dir=web) as shop, Browser("desktop", timeout=15) as b:
                shop.make_admin(*ADMIN)
                admin = json.loads(urllib.request.urlopen(urllib.request.Request(
                    shop.url("/auth/login"), data=json.dumps({"email": ADMIN[0], "password": ADMIN[1]}).encode(),
                    headers={"Content-Type": "application/json"})).read())["accessToken"]
                item = json.loads(urllib.request.urlopen(urllib.request.Request(
                    shop.url("/products"), data=json.dumps({"name": "Stripe mug", "price": 1500, "category": "mugs", "quantity": 3}).encode(),
                    headers={"Content-Type": "application/json", "Authorization": "Bearer " + admin})).read())
                csp = urllib.request.urlopen(shop.url("/")).headers["Content-Security-Policy"]
                self.assertIn("script-src 'self' %s;" % localstripe, csp)

                b.open(shop.url("/#/register"))
                register(b, unique("stripe") + "@example.com")
                b.open(shop.url("/#/product/" + item["id"]))
                # The catalog that registering moved on to has "Add to cart" buttons too: wait for the product's page.
                b.wait_text("h1", "Stripe mug")
                b.click_button("Add to cart")
                b.wait_text(".status", "Your cart has")
                place_order(b, server=shop)
                # Stripe.js came from the configured origin, and its card fields are in the page.
                b.wait_for("#payment-element input")
                sources = b.driver.execute_script("return [...document.scripts].map(s => s.src).filter(Boolean);")
                self.assertIn(stripe_js, sources)
                # To California: $5.00 standard shipping (under $50), 7.25 % tax on the line.
                self.assertIn(money(1500 + 500 + tax(1500, 7250)), b.text(".pay h2"))
                assert_clean_console(self, b)
        finally:
            shutil.rmtree(web, ignore_errors=True)



# --- variants (issue 20): a product in sizes and colours ------------------------------------------------------

def buy_m_in_navy(test, b, server, check_pages=False):
    """Journey (1): a shopper finds a jacket in the catalog ("from $49.00"), chooses size M in Navy, adds two, adds
    one S in Olive from a link that names that variant, and pays: exactly those two variants' stock goes down. The
    order's lines name their variants. `check_pages`: axe on the new pages at both sizes."""
    tag = unique("jacket")
    name = "Field jacket " + tag
    jacket = variant_product(name, {"S / Olive": 4, "M / Olive": 2, "M / Navy": 3, "L / Navy": 1},
                             prices={"L / Olive": 5900, "L / Navy": 5900}, category=tag, server=server)
    before = stock_of(jacket["id"], server)
    navy, olive = variant(jacket, "M / Navy"), variant(jacket, "S / Olive")
    email = unique("buyer") + "@example.com"
    b.open(server.url("/#/register"))
    register(b, email)

    # The catalog: the lowest price, "from" since prices differ; chosen on the product's page.
    b.open(server.url("/#/?category=" + tag))
    # (The catalog that registering moved on to may still be drawing: wait for this category's page.)
    b.wait_text("h1", "Catalog: " + tag)
    card = b.wait_text(".card", name)

    test.assertIn("from " + money(4900), card.text)
    test.assertIn("In stock", card.text)
    if check_pages:
        check_page(test, b, "catalog with variants", ".grid .card")
    b.click_link("Choose options")
    b.wait_text("h1", name)
    test.assertEqual(b.text(".product .price"), "from " + money(4900))
    test.assertEqual(b.text(".product .stock"), "Choose a size and colour")
    test.assertFalse(b.wait_for(".add-form button[type=submit]").is_enabled(), "nothing to add before a choice")
    pick(b, "Size", "M")
    pick(b, "Colour", "Navy")
    test.assertEqual(b.text(".product .price"), money(4900))
    test.assertEqual(b.text(".product .stock"), "Only 3 left")
    test.assertTrue(b.driver.current_url.endswith("#/product/%s?variant=%s" % (jacket["id"], navy["id"])), b.driver.current_url)
    if check_pages:
        check_page(test, b, "product with options", ".picker")
    b.fill("Quantity", 2)
    b.click_button("Add to cart")
    b.wait_text(".status", "Your cart has 2")
    # A link that names a variant opens it chosen.
    b.open("about:blank")
    b.open(server.url("/#/product/%s?variant=%s" % (jacket["id"], olive["id"])))
    b.wait_for('[data-option="Size"] input[value="S"]:checked')
    b.wait_for('[data-option="Colour"] input[value="Olive"]:checked')
    b.click_button("Add to cart")
    b.wait_text(".status", "Your cart has 1")

    # The cart: a line per variant, with its option values.
    b.open(server.url("/#/cart"))
    test.assertIn("M / Navy", b.text('tr[data-variant-id="%s"]' % navy["id"]))
    test.assertIn("S / Olive", b.text('tr[data-variant-id="%s"]' % olive["id"]))
    test.assertIn(money(3 * 4900), b.text(".total"))
    if check_pages:
        check_page(test, b, "cart with variants", "table.lines")
    order_id = place_order(b, server=server)
    pay(b, "4242 4242 4242 4242")
    b.wait_text(".paid", "PAID", timeout=30)
    test.assertEqual(stock_of(jacket["id"], server), dict(before, **{"M / Navy": 1, "S / Olive": 3}))

    _, order = call("GET", "/orders/" + order_id, token=token(email, server=server), server=server)
    lines = {line["variantId"]: line for line in order["lines"]}
    test.assertEqual((lines[navy["id"]]["name"], lines[navy["id"]]["quantity"], lines[navy["id"]]["sku"], lines[navy["id"]]["options"]),
                     (name + " — M / Navy", 2, navy["sku"], {"Size": "M", "Colour": "Navy"}))
    test.assertEqual(lines[olive["id"]]["name"], name + " — S / Olive")
    b.click_link("See your orders")
    b.wait_text('[data-order-id="%s"]' % order_id, name + " — M / Navy")
    assert_clean_console(test, b)
    return jacket


class Variants(BrowserCase):
    def test_a_shopper_buys_m_in_navy_and_only_that_variant_moves(self):
        buy_m_in_navy(self, self.browser, SERVER, check_pages=True)

    def test_a_sold_out_size_cannot_be_chosen(self):
        from selenium.webdriver.common.keys import Keys
        b = self.browser
        # L is sold out in both colours; M in Olive and S in Navy are too.
        tee = variant_product(unique("Tee"), {"S / Olive": 1, "M / Navy": 2})
        b.open(SERVER.url("/#/product/" + tee["id"]))
        b.wait_text("h1", tee["name"])
        size = lambda value: b.driver.find_element("css selector", '[data-option="Size"] input[value="%s"]' % value)
        self.assertFalse(size("L").is_enabled())
        self.assertIn("L (sold out)", b.text('[data-option="Size"] label.out'))
        # A click on it chooses nothing.
        b.driver.find_element("css selector", '[data-option="Size"] label.out').click()
        self.assertFalse(size("L").is_selected())
        self.assertNotIn("variant=", b.driver.current_url)

        # From the keyboard: the arrows move through the sizes that can be chosen, past the sold-out L, and the focus
        # stays on the chosen size while the page redraws the choices.
        size("S").send_keys(Keys.SPACE)
        b.wait_for('[data-option="Size"] input[value="S"]:checked')
        chosen = lambda: b.driver.execute_script("var e = document.activeElement; return e.checked ? e.value : null;")
        for expected in ("M", "S"):
            b.driver.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
            b._wait(lambda d: chosen() == expected, None, "the arrow did not move to %s (at %r)" % (expected, chosen()))

        # Sold out given the other choices: in Olive, M is sold out; in Navy, S is.
        pick(b, "Colour", "Olive")
        self.assertTrue(size("S").is_selected())
        self.assertFalse(size("M").is_enabled())
        b.wait_text(".product .stock", "Only 1 left")
        b.open("about:blank")
        b.open(SERVER.url("/#/product/" + tee["id"]))
        pick(b, "Colour", "Navy")
        self.assertFalse(size("S").is_enabled())
        pick(b, "Size", "M")
        b.wait_text(".product .stock", "Only 2 left")
        check_page(self, b, "product with a sold-out size", ".picker")

        # A link to a sold-out variant shows it chosen and sold out.
        b.open("about:blank")
        b.open(SERVER.url("/#/product/%s?variant=%s" % (tee["id"], variant(tee, "L / Olive")["id"])))
        b.wait_text(".product .stock", "Out of stock")
        self.assertTrue(size("L").is_selected())
        self.assertEqual(b.wait_for(".add-form button").text, "Sold out")
        self.assertFalse(b.wait_for(".add-form button").is_enabled())

        # Many sizes: a select, whose sold-out sizes cannot be chosen.
        sizes = [str(n) for n in range(36, 44)]
        boot = variant_product(unique("Boot"), {n: 1 for n in sizes[1:]}, options=(("Size", sizes),))
        b.open(SERVER.url("/#/product/" + boot["id"]))
        select = b.field("Size")
        self.assertEqual(select.tag_name, "select")
        smallest = select.find_element("css selector", 'option[value="36"]')
        self.assertFalse(smallest.is_enabled())
        self.assertEqual(smallest.text, "36 (sold out)")
        b.fill("Size", "41")
        b.wait_text(".product .stock", "Only 1 left")
        self.assertTrue(b.driver.current_url.endswith("?variant=" + variant(boot, "41")["id"]))
        check_page(self, b, "product with a size select", ".add-form select")
        assert_clean_console(self, b)

    def test_a_cart_line_from_before_variants_still_sells(self):
        b = self.browser
        item = product(unique("Old cart"), price=800, quantity=4)
        new_shopper(b)
        # A cart saved before variants: its line names no variant.
        b.driver.execute_script(
            "localStorage.setItem('shop.cart', JSON.stringify({checkoutKey: null, lines: [{productId: arguments[0], name: arguments[1],"
            " price: 800, currency: 'USD', stock: 4, imageUrl: null, quantity: 2}]}));", item["id"], item["name"])
        # The same product added again is the same line: the default variant.
        add_to_cart_from_product_page(b, item["id"], 1)
        self.assertEqual(b.text("#nav-cart"), "Cart (3)")
        place_order(b)
        _, now = call("GET", "/products/" + item["id"])
        self.assertEqual(now["quantity"], 1)

        # A line from before variants of a product that now has several: the store wants a variant, and the page
        # says to choose one and offers to remove the line.
        jacket = variant_product(unique("Now in sizes"), {"S / Olive": 3})
        b.driver.execute_script(
            "localStorage.setItem('shop.cart', JSON.stringify({checkoutKey: null, lines: [{productId: arguments[0], name: arguments[1],"
            " price: 4900, currency: 'USD', stock: 3, imageUrl: null, quantity: 1}]}));", jacket["id"], jacket["name"])
        b.open(SERVER.url("/#/cart"))
        b.click_link("Check out")
        b.wait_text(".step h2", "Step 1 of 3")
        fill_address(b, US_CA)
        b.click_button("Continue to shipping")

        b.wait_text(".status.error", jacket["name"] + " now comes in several versions")
        b.click_button("Remove " + jacket["name"])
        b.wait_text("main", "Your cart is empty")
        assert_clean_console(self, b, expected_statuses=(400,))



class AdminVariants(BrowserCase):
    def test_an_admin_adds_a_colour_and_sets_its_stock(self):
        b = self.browser
        tag = uuid.uuid4().hex[:8].upper()
        variant_product(unique("Taken"), {"S": 1}, options=(("Size", ["S"]),), skus={"S": "TAKEN-" + tag})
        hoodie = variant_product(unique("Hoodie"), {"S / Navy": 5, "M / Navy": 2}, options=(("Size", ["S", "M"]), ("Colour", ["Navy"])),
                                 skus={"S / Navy": "HD-S-NVY-" + tag, "M / Navy": "HD-M-NVY-" + tag})
        sign_in(b, ADMIN[0], ADMIN[1])
        b.open(SERVER.url("/#/admin/products/" + hoodie["id"]))
        self.assertEqual(rows_of(b, 2), ["S / Navy", "M / Navy"])

        # Olive joins the colours: generating adds S / Olive and M / Olive; the Navy ones keep their SKU and stock.
        values = b.wait_for('[name="options[1].values"]')
        values.clear()
        values.send_keys("Navy, Olive")
        b.click_button("Generate the variants")
        self.assertEqual(rows_of(b, 4), ["S / Navy", "S / Olive", "M / Navy", "M / Olive"])
        self.assertEqual(b.field("SKU of S / Navy").get_attribute("value"), "HD-S-NVY-" + tag)
        self.assertEqual(b.field("Stock of S / Navy").get_attribute("value"), "5")
        # Each variant can be removed.
        b.click_button("Remove S / Olive")
        self.assertEqual(rows_of(b, 3), ["S / Navy", "M / Navy", "M / Olive"])
        b.fill("Price of M / Olive", "54.00")
        b.fill("Stock of M / Olive", 6)
        b.fill("Stock of S / Navy", 8)
        # A SKU another product has (compared without case) is shown at its field, and nothing is saved.
        b.fill("SKU of M / Olive", "taken-" + tag.lower())
        b.click_button("Save changes")
        b.wait_text(".field-error", "SKU of M / Olive")
        self.assertEqual(stock_of(hoodie["id"]), {"S / Navy": 5, "M / Navy": 2})
        b.fill("SKU of M / Olive", "HD-M-OLV-" + tag)
        b.click_button("Save changes")
        b.wait_text(".status", "Saved.")
        _, saved = call("GET", "/products/" + hoodie["id"])
        self.assertEqual(saved["options"], [{"name": "Size", "values": ["S", "M"]}, {"name": "Colour", "values": ["Navy", "Olive"]}])
        self.assertEqual(stock_of(hoodie["id"]), {"S / Navy": 8, "M / Navy": 2, "M / Olive": 6})
        self.assertEqual(variant(saved, "S / Navy")["id"], variant(hoodie, "S / Navy")["id"], "a kept variant keeps its id")
        olive = variant(saved, "M / Olive")
        self.assertEqual((olive["sku"], olive["price"]), ("HD-M-OLV-" + tag, 5400))
        self.assertEqual(rows_of(b, 3), ["S / Navy", "M / Navy", "M / Olive"])

        # The new variant's picture, uploaded from its row, is the one the store shows when it is chosen.
        picture = os.path.join(tempfile.mkdtemp(prefix="webtest-"), "olive.png")
        Path(picture).write_bytes(png())
        b.field("Image of M / Olive").send_keys(picture)
        b.wait_text(".status", "The image of M / Olive is published.")
        _, saved = call("GET", "/products/" + hoodie["id"])
        olive = variant(saved, "M / Olive")
        self.assertTrue(olive["imageUrl"])
        self.assertIsNone(variant(saved, "M / Navy")["imageUrl"])
        b.wait_for('tr[data-variant-id="%s"] img.mini' % olive["id"])
        check_page(self, b, "admin product with variants", "table.variants")
        b.open(SERVER.url("/#/product/%s?variant=%s" % (hoodie["id"], olive["id"])))
        path = urllib.parse.urlsplit
        self.assertEqual(path(b.wait_for(".product img.hero").get_attribute("src")).path, path(olive["imageUrl"]).path)
        pick(b, "Colour", "Navy")
        b.wait_for(".product .hero.placeholder")

        # A shopper's order of it: the admin's view of the order shows the SKU.
        shopper = unique("olive") + "@example.com"
        self.assertEqual(call("POST", "/auth/register", {"email": shopper, "password": PASSWORD, "name": "Olive"})[0], 201)
        body = order_body(hoodie["id"], quantity=2)
        body["lines"][0]["variantId"] = olive["id"]
        status, order = call("POST", "/orders", body, token(shopper))
        self.assertEqual(status, 201, order)
        self.assertEqual(stock_of(hoodie["id"]), {"S / Navy": 8, "M / Navy": 2, "M / Olive": 4})
        b.open(SERVER.url("/#/admin/orders/" + order["id"]))
        slip = b.wait_text(".slip", "HD-M-OLV-" + tag)
        self.assertIn(hoodie["name"] + " — M / Olive", slip.text)
        assert_clean_console(self, b, expected_statuses=(409,))

    def test_a_new_product_gets_options_and_variants(self):
        b = self.browser
        sign_in(b, ADMIN[0], ADMIN[1])
        b.open(SERVER.url("/#/admin/products/new"))
        name = unique("Beans")
        b.fill("Name", name)
        b.fill("Category", "coffee")
        b.fill("Price", "10.00")
        b.click_button("Add an option")
        self.assertEqual(b.driver.switch_to.active_element.get_attribute("name"), "options[0].name", "the focus is on the new option")
        b.fill("Option name", "Grind")
        b.fill("Values", "Whole bean, Espresso, Filter")
        b.click_button("Generate the variants")
        self.assertEqual(rows_of(b, 3), ["Whole bean", "Espresso", "Filter"])
        self.assertEqual(b.field("Price of Filter").get_attribute("value"), "10.00", "new variants start at the product's price")
        # A value the variants have, taken away without generating them again: the form says so at the values.
        b.fill("Values", "Whole bean, Espresso")
        b.click_button("Create product")
        b.wait_text(".field-error", "Values: do not match the variants")
        b.fill("Values", "Whole bean, Espresso, Filter")

        b.fill("Price of Filter", "11.50")
        b.fill("Stock of Espresso", 4)
        check_page(self, b, "admin new product with variants", "table.variants")

        b.click_button("Create product")
        b.wait_text("h1", "Edit " + name)
        _, created = call("GET", "/products/" + b.driver.current_url.rsplit("/", 1)[1])
        self.assertEqual(created["options"], [{"name": "Grind", "values": ["Whole bean", "Espresso", "Filter"]}])
        self.assertEqual([(label_of(created, v), v["price"], v["quantity"]) for v in created["variants"]],
                         [("Whole bean", 1000, 0), ("Espresso", 1000, 4), ("Filter", 1150, 0)])
        self.assertEqual(b.text("tbody th"), "Whole bean")
        assert_clean_console(self, b)


class VariantLastUnitRace(unittest.TestCase):
    def test_two_shoppers_race_for_the_last_unit_of_one_variant(self):
        name = unique("Last jacket")
        jacket = variant_product(name, {"M / Navy": 1, "M / Olive": 5, "S / Navy": 2})
        before = stock_of(jacket["id"])
        navy = variant(jacket, "M / Navy")
        with Browser("desktop", timeout=15) as first, Browser("desktop", timeout=15) as second:
            for b in (first, second):
                new_shopper(b)
                b.open(SERVER.url("/#/product/%s?variant=%s" % (jacket["id"], navy["id"])))
                b.wait_text(".product .stock", "Only 1 left")
                b.click_button("Add to cart")
                b.wait_text(".status", "Your cart has 1")
                to_review(b)
            loser, error = race(self, first, second)
            self.assertIn(name + " — M / Navy: you asked for 1, none are left.", error)
            loser.click_button("Update my cart to what is left")
            loser.wait_text(".status", "Your cart now has what is in stock")
            loser.wait_text("main", "Your cart is empty")
            # Only that variant moved: its siblings keep their stock.
            self.assertEqual(stock_of(jacket["id"]), dict(before, **{"M / Navy": 0}))
            assert_clean_console(self, loser, expected_statuses=(409,))


# The tables of the DynamoDB store (Sources/ShopAssembly/Configuration.swift, SHOP_DYNAMODB_<NAME>_TABLE).
DYNAMODB_TABLES = ("PRODUCTS", "ORDERS", "IDEMPOTENCY", "USERS", "PAYMENTS", "PAYMENT_EVENTS", "SETTINGS", "ADDRESSES", "EVENTS", "STATS")


class VariantsOnDynamoDB(unittest.TestCase):
    """Journey (1) on the DynamoDB store: shop serve with SHOP_STORE=dynamodb on moto (SHOP_TEST_MOTO_ENDPOINT, which
    scripts/test starts, else one started here by scripts/moto-server), on tables of its own."""

    def test_a_shopper_buys_m_in_navy_on_dynamodb(self):
        harness.need(os.access(harness.SHOP_BIN, os.X_OK), "the shop binary: %s is missing (swift build, or set SHOP_BIN)" % harness.SHOP_BIN)
        moto = os.environ.get("SHOP_TEST_MOTO_ENDPOINT")

        if not moto:
            harness.need(os.path.exists(harness.ROOT / ".venv" / "bin" / "python"), "moto: .venv is missing (scripts/venv)")
            started = subprocess.run([str(harness.ROOT / "scripts" / "moto-server")], capture_output=True, text=True, timeout=60,
                                     env=dict(os.environ, MOTO_LOG=str(harness.LOG_DIR / "moto-variants.log")))
            harness.need(started.returncode == 0, "moto: scripts/moto-server failed: %s" % (started.stdout + started.stderr)[-500:])
            pid, port = started.stdout.split()
            self.addCleanup(os.kill, int(pid), signal.SIGTERM)
            moto = "http://127.0.0.1:" + port
        prefix = "webvar" + uuid.uuid4().hex[:6]
        env = {"SHOP_STORE": "dynamodb", "SHOP_DYNAMODB_ENDPOINT": moto, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": None,
               "SHOP_AUTH_RATE_LIMIT_PER_MINUTE": "0", "SHOP_LOGIN_ACCOUNT_RATE_LIMIT_PER_MINUTE": "0", "SHOP_BCRYPT_COST": "4",
               "SHOP_PAYMENTS": None, "SHOP_IMAGES": None, "SHOP_IDENTITY": None}
        env.update({"SHOP_DYNAMODB_%s_TABLE" % t: "%s-%s" % (prefix, t.lower().replace("_", "-")) for t in DYNAMODB_TABLES})
        full = {k: v for k, v in dict(os.environ, **env).items() if v is not None}
        made = subprocess.run([harness.SHOP_BIN, "aws", "create-tables"], env=full, capture_output=True, text=True, timeout=120)
        self.assertEqual(made.returncode, 0, made.stdout + made.stderr)
        with ShopServer(env=env) as shop, Browser("desktop", timeout=15) as b:
            shop.make_admin(*ADMIN)
            jacket = buy_m_in_navy(self, b, shop)
        # The products were in DynamoDB: the jacket is an item of this run's products table.
        import botocore.session
        dynamodb = botocore.session.get_session().create_client(
            "dynamodb", region_name="us-east-1", endpoint_url=moto, aws_access_key_id="testing", aws_secret_access_key="testing")
        items = dynamodb.scan(TableName=env["SHOP_DYNAMODB_PRODUCTS_TABLE"])["Items"]
        self.assertIn(jacket["id"], json.dumps(items))


if __name__ == "__main__":
    unittest.main()
