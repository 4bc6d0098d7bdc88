"""Self-tests of the browser-test harness (scripts/webtest/harness.py), independent of the shop's website:
each check is shown to fail on a page made to break it, and to pass on one that does not.

Run: scripts/browser-test test_harness   (or .venv/bin/python -m unittest discover -s scripts/webtest -v)
"""
import json
import os
import shutil
import tempfile
import unittest
import urllib.request

import harness
from harness import Browser, ShopServer

VIEWPORT_META = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def page(body, head="", script=""):
    """A small, otherwise accessible HTML page (lang, title, landmark, h1) around `body`."""
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">%s<title>Harness test</title>%s</head>'
            '<body><main><h1>Harness test</h1>%s</main>%s</body></html>'
            % (VIEWPORT_META, head, body, "<script>%s</script>" % script if script else ""))


class BrowserTestCase(unittest.TestCase):
    """One chromium for the whole class (starting one takes about a second)."""

    @classmethod
    def setUpClass(cls):
        cls.browser = Browser("desktop")
        cls.browser.start()

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()

    def setUp(self):
        self.browser.set_viewport("desktop")
        self.browser.console_errors()  # forget what earlier tests logged


class AxeTests(BrowserTestCase):
    def test_unlabelled_input_and_image_without_alt_are_reported(self):
        self.browser.open_html(page('<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><input type="text">'))
        violations = self.browser.axe_violations()
        by_id = {v["id"]: v for v in violations}
        self.assertIn("label", by_id, harness.format_violations(violations))
        self.assertIn("image-alt", by_id, harness.format_violations(violations))
        for v in violations:
            self.assertIn(v["impact"], ("serious", "critical"))
        self.assertEqual(by_id["label"]["nodes"][0]["target"], ["input"])
        with self.assertRaises(AssertionError) as failure:
            self.browser.assert_no_axe_violations()
        self.assertIn("image-alt", str(failure.exception))

    def test_low_contrast_text_is_serious(self):
        self.browser.open_html(page('<p style="color:#bbb;background:#fff">Hard to read</p>'))
        self.assertEqual([v["id"] for v in self.browser.axe_violations()], ["color-contrast"])

    def test_clean_page_has_no_violations(self):
        self.browser.open_html(page('<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="A dot">'
                                    '<label for="q">Search</label><input id="q" type="text"><button>Go</button>'))
        self.assertEqual(self.browser.axe_violations(impacts=None), [])
        self.browser.assert_no_axe_violations()

    def test_impact_filter(self):
        # A page without an <h1> is only a "moderate" violation: filtered out by default, reported with impacts=None.
        self.browser.open_html('<!doctype html><html lang="en"><head><title>t</title></head><body><main><p>x</p></main></body></html>')
        self.assertEqual(self.browser.axe_violations(), [])
        self.assertIn("page-has-heading-one", [v["id"] for v in self.browser.axe_violations(impacts=None)])


class ViewportTests(BrowserTestCase):
    def test_phone_viewport(self):
        self.browser.set_viewport("phone")
        self.browser.open_html(page("<p>Fluid text that wraps.</p>"))
        metrics = self.browser.driver.execute_script(
            "return {w: window.innerWidth, h: window.innerHeight, dpr: window.devicePixelRatio,"
            " touch: navigator.maxTouchPoints, coarse: matchMedia('(pointer: coarse)').matches};")
        self.assertEqual(metrics["w"], 390)
        self.assertEqual(metrics["h"], 844)
        self.assertEqual(metrics["dpr"], 3)
        self.assertGreater(metrics["touch"], 0)
        self.assertTrue(metrics["coarse"])

    def test_desktop_viewport(self):
        self.browser.set_viewport("phone")
        self.browser.set_viewport("desktop")
        self.browser.open_html(page("<p>x</p>"))
        metrics = self.browser.driver.execute_script(
            "return {w: window.innerWidth, dpr: window.devicePixelRatio, touch: navigator.maxTouchPoints};")
        self.assertEqual(metrics, {"w": 1280, "dpr": 1, "touch": 0})

    def test_wide_element_scrolls_sideways_on_a_phone(self):
        self.browser.set_viewport("phone")
        self.browser.open_html(page('<div id="wide" style="width:1000px;height:10px"></div>'))
        self.assertTrue(self.browser.horizontal_overflow()["overflows"])
        with self.assertRaises(AssertionError) as failure:
            self.browser.assert_no_horizontal_scroll()
        self.assertIn("div#wide", str(failure.exception))

    def test_fluid_page_does_not_scroll_sideways(self):
        for name in ("phone", "desktop"):
            self.browser.set_viewport(name)
            self.browser.open_html(page('<div style="max-width:100%;width:1000px;height:10px"></div><p>x</p>'
                                        '<div style="height:3000px"></div>'))
            self.assertFalse(self.browser.horizontal_overflow()["overflows"], name)
            self.browser.assert_no_horizontal_scroll()

    def test_page_without_viewport_meta_fails_on_a_phone(self):
        # Chromium gives such a page a 980 px layout viewport, as phones do: it "fits" but is unreadably small.
        self.browser.set_viewport("phone")
        self.browser.open_html(page("<p>x</p>").replace(VIEWPORT_META, ""))
        with self.assertRaises(AssertionError) as failure:
            self.browser.assert_no_horizontal_scroll()
        self.assertIn("viewport", str(failure.exception))


class ConsoleTests(BrowserTestCase):
    def test_console_error_is_reported_once(self):
        self.browser.open_html(page("<p>x</p>", script='console.log("fine"); console.warn("meh"); console.error("boom")'))
        errors = self.browser.console_errors()
        self.assertEqual(len(errors), 1, errors)
        self.assertIn("boom", errors[0]["message"])
        self.assertEqual(self.browser.console_errors(), [])

    def test_uncaught_exception_is_reported(self):
        self.browser.open_html(page("<p>x</p>", script="undefinedFunction()"))
        with self.assertRaises(AssertionError) as failure:
            self.browser.assert_no_console_errors()
        self.assertIn("undefinedFunction", str(failure.exception))

    def test_quiet_page(self):
        self.browser.open_html(page("<p>x</p>", script='console.log("fine")'))
        self.browser.assert_no_console_errors()


FORM = page("""
<form id="f" onsubmit="event.preventDefault(); var d = new FormData(this), o = {};
  d.forEach(function (v, k) { o[k] = v; }); document.getElementById('out').textContent = JSON.stringify(o);">
  <label for="email">Email</label> <input id="email" name="email" type="email" value="old@example.com">
  <label>Name <input name="name" type="text"></label>
  <label for="size">Size</label> <select id="size" name="size"><option>Small</option><option>Large</option></select>
  <label for="gift">Gift wrap</label> <input id="gift" name="gift" type="checkbox">
  <label for="hidden" style="display:none">Secret</label> <input id="hidden" name="secret" type="text" style="display:none">
  <button type="button" disabled>Pay now</button>
  <button type="submit">  Place   order </button>
</form>
<p id="out" role="status"></p>
<button type="button" onclick="setTimeout(function () { document.getElementById('later').textContent = 'Done at last'; }, 300)">Later</button>
<p id="later"></p>
""")


class UserHelperTests(BrowserTestCase):
    def test_fill_and_click_like_a_user(self):
        b = self.browser
        b.open_html(FORM)
        b.fill("Email", "ada@example.com")
        b.fill("Name", "Ada")
        b.fill("Size", "Large")
        b.fill("Gift wrap", True)
        b.click_button("Place order")
        sent = json.loads(b.wait_text("#out", "{").text)
        self.assertEqual(sent, {"email": "ada@example.com", "name": "Ada", "size": "Large", "gift": "on",
                                "secret": ""})

    def test_wait_text_waits(self):
        b = self.browser
        b.open_html(FORM)
        b.click_button("Later")
        self.assertEqual(b.wait_text("#later", "at last", timeout=5).text, "Done at last")

    def test_wait_left_waits_for_the_address_to_move_on(self):
        b = self.browser
        with tempfile.NamedTemporaryFile("w", suffix=".html", delete=False) as html:  # data: URLs have no fragment
            html.write(FORM)
        self.addCleanup(os.unlink, html.name)
        b.open("file://" + html.name)
        b.driver.execute_script("location.hash = '#/signin'; setTimeout(function () { location.hash = '#/'; }, 300);")
        b.wait_left("signin", timeout=5)
        self.assertEqual(b.driver.execute_script("return location.hash;"), "#/")
        b.driver.execute_script("location.hash = '#/register?next=/';")
        with self.assertRaises(AssertionError) as failure:
            b.wait_left("register", timeout=0.3)
        self.assertIn("still at #/register", str(failure.exception))

    def test_missing_things_fail_with_what_is_there(self):
        b = self.browser
        b.open_html(FORM)
        with self.assertRaises(AssertionError) as failure:
            b.fill("Phone", "123", timeout=0.3)
        self.assertIn("Email", str(failure.exception))  # the labels that do exist
        with self.assertRaises(AssertionError):
            b.fill("Secret", "x", timeout=0.3)  # hidden: a user could not fill it
        with self.assertRaises(AssertionError):
            b.click_button("Pay now", timeout=0.3)  # disabled
        with self.assertRaises(AssertionError):
            b.wait_text("#later", "never", timeout=0.3)
        with self.assertRaises(AssertionError):
            b.wait_for("#nothing", timeout=0.3)


class ShopServerTests(unittest.TestCase):
    """ShopServer runs the real binary on a website of its own (a temporary SHOP_WEB_DIR), not on web/."""

    def setUp(self):
        self.web = tempfile.mkdtemp(prefix="webtest-site-")
        self.addCleanup(shutil.rmtree, self.web, True)
        with open(os.path.join(self.web, "index.html"), "w") as f:
            # Without an icon link chromium asks for /favicon.ico, and its 404 is a console error.
            f.write(page('<p id="greeting">Loading</p>',
                         head='<link rel="icon" href="/icon.svg"><script src="/app.js" defer></script>'))
        with open(os.path.join(self.web, "icon.svg"), "w") as f:
            f.write('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>')
        with open(os.path.join(self.web, "app.js"), "w") as f:
            f.write("document.getElementById('greeting').textContent = 'Hello from app.js';\n")

    def test_serves_the_given_site_and_makes_admins(self):
        with ShopServer(web_dir=self.web) as shop:
            with urllib.request.urlopen(shop.url("/health"), timeout=10) as response:
                self.assertEqual(json.load(response), {"status": "ok"})
            done = shop.make_admin("admin@example.com", "admin-pass-1", "Ada Admin")
            self.assertIn("admin@example.com", done.stdout)
            login = urllib.request.Request(shop.url("/auth/login"), method="POST",
                                           data=json.dumps({"email": "admin@example.com", "password": "admin-pass-1"}).encode(),
                                           headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(login, timeout=10) as response:
                self.assertIn("accessToken", json.load(response))
            with self.assertRaises(RuntimeError):
                shop.make_admin("not-an-email", "x")

            # The site, under the server's own Content-Security-Policy: scripts run, axe can be injected.
            with Browser("phone") as b:
                b.open(shop.url("/"))
                b.wait_text("#greeting", "Hello from app.js")
                b.assert_no_axe_violations()
                b.assert_no_horizontal_scroll()
                b.assert_no_console_errors()
            process, data_dir = shop.process, shop.data_dir
        self.assertIsNotNone(process.poll())
        self.assertFalse(os.path.exists(data_dir))


if __name__ == "__main__":
    unittest.main()
