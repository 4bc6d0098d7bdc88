"""The store a newcomer gets: `shop serve` on a fresh data directory, the demo catalog seeded with its pictures, walked
through in a real browser as a shopper and then as the admin. Every page it visits is checked (axe-core at phone and
desktop sizes, no sideways scrolling on the phone, every picture loaded) and photographed at both sizes into
.cache/webtest/first-impression/: the README's screenshots (docs/screenshots/ holds the copies from a run).

Run: scripts/browser-test test_first_impression
"""
import time
import unittest

import harness
from harness import Browser, ShopServer
from test_journeys import US_CA, assert_clean_console, call, fill_address, money, pay, pick, token

SCREENSHOTS = harness.LOG_DIR / "first-impression"
ADMIN = ("admin@example.com", "Adm1n-pass-word")
SHOPPER = ("ada@example.com", "Passw0rd!", "Ada Lovelace")


def pictures_loaded(browser):
    """Waits until every picture in view has loaded, and returns how many there are; fails on a broken one."""
    def loaded(driver):
        return driver.execute_script(
            "var imgs = [...document.querySelectorAll('main img')].filter(function (i) {"
            "  var r = i.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight && r.width > 0; });"
            "return imgs.every(function (i) { return i.complete; }) ? {widths: imgs.map(function (i) { return i.naturalWidth; })} : null;")
    widths = browser._wait(loaded, None, "pictures still loading")["widths"]
    if 0 in widths:
        raise AssertionError("a picture did not load at %s" % browser.driver.current_url)
    return len(widths)


class FirstImpression(unittest.TestCase):
    def setUp(self):
        self.server = ShopServer(seed=True, env={
            "SHOP_BCRYPT_COST": "4", "SHOP_PAYMENTS": None, "SHOP_STORE": None, "SHOP_IMAGES": None, "SHOP_IDENTITY": None,
        })
        self.server.start()
        self.addCleanup(self.server.stop)
        self.server.make_admin(*ADMIN)
        self.browser = Browser("desktop", timeout=15)
        self.browser.start()
        self.addCleanup(self.browser.quit)

    def page(self, name, ready_css):
        """The page at both sizes: no serious or critical axe violation, no sideways scrolling on the phone, the
        pictures in view loaded; a screenshot of each."""
        b = self.browser
        for viewport in ("phone", "desktop"):
            b.set_viewport(viewport)
            b.wait_for(ready_css)
            pictures_loaded(b)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            b.driver.save_screenshot(str(SCREENSHOTS / ("%s-%s.png" % (name, viewport))))
            violations = b.axe_violations()
            self.assertEqual(violations, [], "%s at %s:\n%s" % (name, viewport, harness.format_violations(violations)))
            if viewport == "phone":
                b.assert_no_horizontal_scroll()

    def test_a_newcomer_shops_the_demo_catalog_and_the_admin_fulfils_the_order(self):
        b, shop = self.browser, self.server
        # The seeded catalog: every product has its picture, a WebP served from this store.
        status, listing = call("GET", "/products?limit=100", server=shop)
        self.assertEqual(status, 200, listing)
        products = {p["name"]: p for p in listing["items"]}
        self.assertEqual(len(products), 18)
        for product in products.values():
            self.assertRegex(product["imageUrl"] or "", r"^/images/products/%s/[a-z0-9-]+\.webp$" % product["id"], product["name"])
        beans, coffee, mug = (products["Ethiopia Yirgacheffe, 250 g"], products["Guatemala Huehuetenango, 250 g"],
                              products["Stoneware Mug, 350 ml"])

        # The catalog: cards with their pictures, no placeholder.
        b.open(shop.url("/#/"))
        b.wait_for(".grid .card img")
        self.assertEqual(b.driver.find_elements("css selector", ".grid .card .placeholder"), [])
        self.page("catalog", ".grid .card img")

        # A product, and a product sold in variants (a grind chosen), each added to the cart.
        b.click_link(beans["name"])
        b.wait_text("h1", beans["name"])
        self.assertIn(money(beans["price"]), b.text(".product .price"))
        self.page("product", ".product img.hero")
        b.fill("Quantity", 2)
        b.click_button("Add to cart")
        b.wait_text(".status", "Your cart has")
        b.open(shop.url("/#/product/" + coffee["id"]))
        b.wait_text("h1", coffee["name"])
        pick(b, "Grind", "Filter")
        self.page("product-with-options", ".picker")
        b.click_button("Add to cart")
        b.wait_text(".status", "Your cart has")

        b.open(shop.url("/#/cart"))
        b.wait_text("h1", "Your cart")
        self.assertIn(money(2 * beans["price"] + coffee["price"]), b.text(".total"))
        self.page("cart", "table.lines")

        # Signing in, or registering, and back to the cart.
        b.click_link("Sign in to place the order")
        b.wait_text("h1", "Sign in")
        self.page("sign-in", "form")
        b.click_link("Create an account")
        b.fill("Name", SHOPPER[2])
        b.fill("Email", SHOPPER[0])
        b.fill("Password", SHOPPER[1])
        b.click_button("Create account")
        b.wait_for("#nav-account")
        b.wait_text("h1", "Your cart")

        # Checkout: the address (kept in the address book), the method, the review; then the payment.
        b.click_link("Check out")
        b.wait_text(".step h2", "Step 1 of 3")
        self.page("checkout-address", ".step form")
        fill_address(b, US_CA)
        b.fill("Save to my addresses", True)
        b.click_button("Continue to shipping")
        b.wait_text(".step h2", "Step 2 of 3")
        self.page("checkout-method", ".step fieldset")
        b.click_button("Continue to review")
        b.wait_text(".step h2", "Step 3 of 3")
        self.page("checkout-review", ".order-summary")
        b.click_button("Place order")
        b.wait_text("h1", "Pay for your order")
        order_id = b.driver.current_url.rsplit("/", 1)[1]
        self.page("checkout", ".card-form")
        pay(b, "4242 4242 4242 4242")
        b.wait_text(".paid", "PAID", timeout=30)

        b.click_link("See your orders")
        b.wait_for('[data-order-id="%s"]' % order_id)
        self.page("my-orders", ".orders .order")
        b.click_link("Account")
        b.wait_text(".addresses .address", US_CA["line1"])
        self.page("account", ".addresses .address")
        assert_clean_console(self, b)

        # The admin: products, a product's variants, the paid order and its packing slip, settings, the dashboard.
        b.driver.execute_script("sessionStorage.clear();")
        b.open("about:blank")
        b.open(shop.url("/#/signin"))
        b.fill("Email", ADMIN[0])
        b.fill("Password", ADMIN[1])
        b.click_button("Sign in")
        b.wait_for("#nav-account")
        b.wait_left("signin")
        b.click_link("Admin products")
        b.wait_for("table.admin")
        self.page("admin-products", "table.admin")
        b.open(shop.url("/#/admin/products/" + mug["id"]))
        b.wait_text("h1", "Edit " + mug["name"])
        self.page("admin-product-with-variants", "table.variants")

        deadline = time.monotonic() + 30
        while call("GET", "/orders/" + order_id, token=token(SHOPPER[0], SHOPPER[1], server=shop), server=shop)[1]["status"] != "PAID":
            self.assertLess(time.monotonic(), deadline, "the webhook never marked the order PAID")
            time.sleep(0.2)
        b.open(shop.url("/#/admin/orders"))
        b.fill("Status", "Paid")
        b.wait_for('[data-order-id="%s"]' % order_id)
        self.page("admin-orders", ".orders .order")
        b.click_link("Order %s: details and packing slip" % order_id[-8:])
        b.wait_text(".slip", beans["name"])
        self.page("admin-order", ".slip")
        b.open(shop.url("/#/admin/settings"))
        b.wait_text("h1", "Store settings")
        self.page("admin-settings", "form.settings")
        b.open(shop.url("/#/admin/dashboard"))
        b.wait_text("h1", "Dashboard")
        self.page("admin-dashboard", "svg.chart")
        assert_clean_console(self, b)


if __name__ == "__main__":
    unittest.main()
