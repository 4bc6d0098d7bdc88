"""Browser-test harness for the website: headless Debian chromium through selenium, axe-core, and `shop serve`.

Used by the tests in scripts/webtest/ (run them with scripts/browser-test, which runs scripts/browser-deps first):

    from harness import Browser, ShopServer

    with ShopServer() as shop, Browser("phone") as b:
        shop.make_admin("admin@example.com", "admin-pass-1")
        b.open(shop.url("/"))
        b.fill("Email", "admin@example.com")
        b.click_button("Sign in")
        b.wait_text("h1", "Products")
        b.assert_no_horizontal_scroll()
        b.assert_no_axe_violations()
        b.assert_no_console_errors()

What it needs (scripts/browser-deps provides all of it): /usr/bin/chromium and /usr/bin/chromedriver (Debian's
chromium and chromium-driver; overridable with SHOP_TEST_CHROMIUM / SHOP_TEST_CHROMEDRIVER), selenium in .venv,
axe-core at .cache/axe/axe.min.js (SHOP_TEST_AXE_JS), and the shop binary .build/debug/shop (SHOP_BIN).
When one is missing, a test is skipped locally, but under CI=true it fails (Missing): CI never skips.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))
import shoptest  # noqa: E402  (scripts/shoptest.py)

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = os.environ.get("SHOP_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SHOP_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
AXE_JS = os.environ.get("SHOP_TEST_AXE_JS", str(ROOT / ".cache" / "axe" / "axe.min.js"))
SHOP_BIN = os.environ.get("SHOP_BIN", str(ROOT / ".build" / "debug" / "shop"))
WEB_DIR = str(ROOT / "web")
# Logs of shop serve and chromedriver, kept after the run for a failure's diagnosis.
LOG_DIR = ROOT / ".cache" / "webtest"

DEFAULT_TIMEOUT = 10.0

# The viewports tests use; set through CDP Emulation.setDeviceMetricsOverride (see Browser.set_viewport).
VIEWPORTS = {
    "phone": {"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": True, "touch": True},
    "desktop": {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False, "touch": False},
}


class Missing(RuntimeError):
    """Something the browser tests need is not there (raised under CI=true, where nothing may be skipped)."""


def need(ok, what):
    """Fails (CI=true) or skips the current test (locally) unless `ok`; `what` says what is missing and how to get it."""
    if ok:
        return
    if CI:
        raise Missing(what)
    raise unittest.SkipTest(what)


def _need_file(path, what, executable=False, fix="run scripts/browser-deps"):
    ok = os.path.isfile(path) and (not executable or os.access(path, os.X_OK))
    need(ok, "%s: %s is missing (%s)" % (what, path, fix))


# --- the browser ---------------------------------------------------------------------------------

class Browser:
    """Headless Debian chromium driven by selenium through /usr/bin/chromedriver (Selenium Manager is never used).

    A context manager; `driver` is the selenium WebDriver for anything the helpers do not cover. Browser logs
    are captured (goog:loggingPrefs browser=ALL); console_errors() returns the SEVERE ones since the last call.
    """

    def __init__(self, viewport="desktop", timeout=DEFAULT_TIMEOUT):
        self.initial_viewport = viewport
        self.timeout = timeout
        self.driver = None
        self.viewport = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.quit()
        return False

    def start(self):
        _need_file(CHROMIUM, "chromium (Debian package chromium)", executable=True)
        _need_file(CHROMEDRIVER, "chromedriver (Debian package chromium-driver)", executable=True)
        try:
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service
        except ImportError as error:
            need(False, "selenium is not importable (%s): run scripts/browser-deps and use .venv/bin/python" % error)
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in (
            "--headless=new",
            "--disable-dev-shm-usage",        # /dev/shm is small in containers
            "--window-size=1280,800",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",  # no calls home: CI has no internet
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--mute-audio",
            "--lang=en-US",
        ):
            options.add_argument(argument)
        if os.geteuid() == 0:
            options.add_argument("--no-sandbox")  # chromium refuses to run as root with its sandbox
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        service = Service(executable_path=CHROMEDRIVER, log_output=str(LOG_DIR / "chromedriver.log"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_script_timeout(60)
        self.driver.set_page_load_timeout(60)
        self.set_viewport(self.initial_viewport)
        return self

    def quit(self):
        if self.driver is not None:
            try:
                self.driver.quit()
            finally:
                self.driver = None

    # --- navigation and viewport ---

    def open(self, url):
        """Loads `url` and waits for the document to be complete (the page's own fetches may still be running)."""
        self.driver.get(url)
        return self

    def open_html(self, html):
        """Loads a page made of `html` (a data: URL, for self-contained pages)."""
        import base64
        return self.open("data:text/html;charset=utf-8;base64," + base64.b64encode(html.encode()).decode())

    def set_viewport(self, name):
        """'phone' (390x844, mobile, DPR 3, touch) or 'desktop' (1280x800, DPR 1). Lasts across navigations.

        With mobile emulation chromium lays out pages like a phone does: a page without
        <meta name="viewport" content="width=device-width, initial-scale=1"> gets a 980 px layout viewport.
        """
        metrics = dict(VIEWPORTS[name])
        touch = metrics.pop("touch")
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        self.driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled",
                                    {"enabled": touch, "maxTouchPoints": 5} if touch else {"enabled": False})
        self.viewport = name
        return self

    def horizontal_overflow(self):
        """The page's width against the viewport's: {'scrollWidth', 'clientWidth', 'innerWidth', 'overflows'}.
        It overflows (scrolls sideways) when the document is wider than the viewport it is shown in."""
        sizes = self.driver.execute_script(
            "var d = document.documentElement;"
            "return {scrollWidth: d.scrollWidth, clientWidth: d.clientWidth, innerWidth: window.innerWidth};")
        sizes["overflows"] = sizes["scrollWidth"] > min(sizes["clientWidth"], sizes["innerWidth"])
        return sizes

    def assert_no_horizontal_scroll(self):
        """Fails when the page scrolls sideways, or (phone) when it is not laid out at the device's width: a page
        without a width=device-width viewport meta gets a 980 px layout viewport and is shown shrunk."""
        sizes = self.horizontal_overflow()
        device = VIEWPORTS[self.viewport]["width"]
        if sizes["clientWidth"] > device:
            raise AssertionError("%s (%s viewport) is laid out %d px wide on a %d px screen: is"
                                 ' <meta name="viewport" content="width=device-width, initial-scale=1"> missing?'
                                 % (self.driver.current_url[:120], self.viewport, sizes["clientWidth"], device))
        if sizes["overflows"]:
            wide = self.driver.execute_script(
                "var w = document.documentElement.clientWidth, out = [];"
                "document.querySelectorAll('body *').forEach(function (e) {"
                "  var r = e.getBoundingClientRect();"
                "  if (r.right > w + 1 && out.length < 5) out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')"
                "    + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '')"
                "    + ' right=' + Math.round(r.right));"
                "}); return out;")
            raise AssertionError("%s (%s viewport) scrolls sideways: scrollWidth %d > clientWidth %d / innerWidth %d;"
                                 " wider elements: %s" % (self.driver.current_url[:120], self.viewport, sizes["scrollWidth"],
                                                          sizes["clientWidth"], sizes["innerWidth"], wide))

    # --- console ---

    def console_errors(self):
        """SEVERE browser log entries (console.error, uncaught exceptions, failed loads) since the last call."""
        return [entry for entry in self.driver.get_log("browser") if entry.get("level") == "SEVERE"]

    def assert_no_console_errors(self):
        errors = self.console_errors()
        if errors:
            raise AssertionError("browser console errors:\n" + "\n".join("  " + e.get("message", str(e)) for e in errors))

    # --- accessibility (axe-core) ---

    def axe_violations(self, impacts=("serious", "critical"), context=None, options=None):
        """Runs axe-core on the current page (injected from AXE_JS) and returns its violations whose impact is in
        `impacts` (None: all), each {'id', 'impact', 'help', 'helpUrl', 'nodes': [{'target', 'html', 'summary'}]}.
        `context`/`options` are passed to axe.run (e.g. options={'runOnly': ['wcag2a', 'wcag2aa']})."""
        _need_file(AXE_JS, "axe-core")
        if not self.driver.execute_script("return typeof window.axe === 'object' && !!window.axe.run;"):
            with open(AXE_JS, encoding="utf-8") as f:
                self.driver.execute_script(f.read())
        result = self.driver.execute_async_script(
            "var done = arguments[arguments.length - 1];"
            "var context = arguments[0] ? JSON.parse(arguments[0]) : document;"
            "var options = arguments[1] ? JSON.parse(arguments[1]) : {};"
            "options.resultTypes = ['violations'];"
            "axe.run(context, options).then(function (r) {"
            "  done({violations: r.violations.map(function (v) { return {"
            "    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,"
            "    nodes: v.nodes.map(function (n) { return {target: n.target, html: n.html, summary: n.failureSummary}; })"
            "  }; })});"
            "}, function (e) { done({error: String(e && e.stack || e)}); });",
            json.dumps(context) if context is not None else None,
            json.dumps(options) if options is not None else None)
        if result is None or "error" in result:
            raise RuntimeError("axe.run failed: %s" % (result and result["error"]))
        violations = result["violations"]
        if impacts is not None:
            violations = [v for v in violations if v["impact"] in impacts]
        return violations

    def assert_no_axe_violations(self, impacts=("serious", "critical"), context=None, options=None):
        violations = self.axe_violations(impacts, context, options)
        if violations:
            raise AssertionError("axe: %s\n%s" % (self.driver.current_url[:120], format_violations(violations)))

    # --- waiting and acting like a user ---

    def wait_for(self, css, timeout=None, visible=True):
        """The first element matching `css` once it exists (and is visible, unless visible=False)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC
        condition = EC.visibility_of_element_located if visible else EC.presence_of_element_located
        return self._wait(condition((By.CSS_SELECTOR, css)), timeout, "no %s element %r" % ("visible" if visible else "", css))

    def wait_gone(self, css, timeout=None):
        """Waits until no visible element matches `css`."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC
        return self._wait(EC.invisibility_of_element_located((By.CSS_SELECTOR, css)), timeout, "%r still visible" % css)

    def wait_text(self, css, text, timeout=None):
        """The first visible element matching `css` whose text contains `text`, once there is one."""
        def find(driver):
            return self._js_find(
                "var els = document.querySelectorAll(arguments[0]);"
                "for (var i = 0; i < els.length; i++) {"
                "  if (isVisible(els[i]) && els[i].innerText.indexOf(arguments[1]) >= 0) return els[i]; }"
                "return null;", css, text)
        return self._wait(find, timeout, lambda: "no visible %r containing %r; texts: %r" % (
            css, text, self._texts(css)))

    def wait_left(self, route, timeout=None):
        """Waits until the page address no longer starts with "#/<route>": a form that moves on when it succeeds
        (sign-in, register) has then changed the address, so that change cannot come after the next `open`.
        The page it moved to may still be drawing: wait for what the next page shows before using it."""
        prefix = "#/" + route
        def left(driver):
            return not driver.execute_script("return location.hash;").startswith(prefix)
        return self._wait(left, timeout, lambda: "still at %s: %s" % (prefix, self.driver.current_url))

    def text(self, css):
        """The visible text of the first element matching `css` (waits for it)."""
        return self.wait_for(css).text

    def field(self, label, timeout=None):
        """The form control labelled `label` (a <label> whose text, trimmed, is `label`: its `for` target or the control
        inside it), or one whose aria-label is `label`."""
        def find(driver):
            return self._js_find(
                "var want = arguments[0].trim(), labels = document.querySelectorAll('label');"
                "for (var i = 0; i < labels.length; i++) {"
                "  var l = labels[i], t = (l.innerText || l.textContent).replace(/\\s+/g, ' ').trim();"
                "  if (t === want || t.replace(/\\s*\\*$/, '') === want) {"
                "    var c = l.control || (l.htmlFor && document.getElementById(l.htmlFor));"
                "    if (c && isVisible(c)) return c; } }"
                "var els = document.querySelectorAll('[aria-label]');"
                "for (var j = 0; j < els.length; j++) {"
                "  if (els[j].getAttribute('aria-label').trim() === want && isVisible(els[j])) return els[j]; }"
                "return null;", label)
        return self._wait(find, timeout, lambda: "no visible control labelled %r; labels: %r" % (label, self._texts("label")))

    def fill(self, label, value, timeout=None):
        """Fills the control labelled `label` as a user would: types into inputs and textareas (replacing what is
        there), picks the option with visible text `value` in a <select>, and sets a checkbox or radio to bool(value)."""
        element = self.field(label, timeout)
        tag = element.tag_name.lower()
        kind = (element.get_attribute("type") or "").lower()
        if tag == "select":
            from selenium.webdriver.support.ui import Select
            Select(element).select_by_visible_text(str(value))
        elif kind in ("checkbox", "radio"):
            if element.is_selected() != bool(value):
                element.click()
        else:
            element.clear()
            element.send_keys(str(value))
        return element

    def click_button(self, text, timeout=None):
        """Clicks the visible, enabled button whose text (or value / aria-label) is `text`: <button>,
        <input type=submit|button>, or [role=button]. Waits for it to appear and be enabled."""
        def find(driver):
            return self._js_find(
                "var want = arguments[0].trim();"
                "var els = document.querySelectorAll('button, input[type=submit], input[type=button], [role=button]');"
                "for (var i = 0; i < els.length; i++) {"
                "  var e = els[i], t = ((e.tagName === 'INPUT' ? e.value : e.innerText) || '').replace(/\\s+/g, ' ').trim();"
                "  if ((t === want || e.getAttribute('aria-label') === want) && isVisible(e) && !e.disabled"
                "      && e.getAttribute('aria-disabled') !== 'true') return e; }"
                "return null;", text)
        element = self._wait(find, timeout, lambda: "no visible enabled button %r; buttons: %r" % (
            text, self._texts("button, input[type=submit], input[type=button], [role=button]")))
        element.click()
        return element

    def click_link(self, text, timeout=None):
        """Clicks the visible link whose text is `text`."""
        def find(driver):
            return self._js_find(
                "var want = arguments[0].trim(), els = document.querySelectorAll('a');"
                "for (var i = 0; i < els.length; i++) {"
                "  if (els[i].innerText.replace(/\\s+/g, ' ').trim() === want && isVisible(els[i])) return els[i]; }"
                "return null;", text)
        element = self._wait(find, timeout, lambda: "no visible link %r; links: %r" % (text, self._texts("a")))
        element.click()
        return element

    # --- internals ---

    _IS_VISIBLE = ("function isVisible(e) { if (!e.getClientRects().length) return false;"
                   " var s = getComputedStyle(e); return s.visibility !== 'hidden' && s.display !== 'none'; }")

    def _js_find(self, body, *args):
        return self.driver.execute_script(self._IS_VISIBLE + body, *args)

    def _texts(self, css):
        try:
            return self._js_find("return Array.prototype.map.call(document.querySelectorAll(arguments[0]),"
                                 " function (e) { return (e.innerText || e.value || '').trim(); }).slice(0, 30);", css)
        except Exception as error:  # the message is only a hint
            return "(%s)" % error

    def _wait(self, condition, timeout, message):
        """Polls `condition(driver)` until it returns something truthy; on timeout raises AssertionError(message)."""
        from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait
        timeout = self.timeout if timeout is None else timeout
        wait = WebDriverWait(self.driver, timeout, poll_frequency=0.1,
                             ignored_exceptions=(StaleElementReferenceException,))
        try:
            return wait.until(condition)
        except TimeoutException:
            text = message() if callable(message) else message
            raise AssertionError("%s (after %.1f s, at %s)" % (text, timeout, self.driver.current_url[:120])) from None


def format_violations(violations):
    """A readable, multi-line account of axe violations (for assertion messages)."""
    lines = []
    for v in violations:
        lines.append("[%s] %s: %s (%s)" % (v["impact"], v["id"], v["help"], v.get("helpUrl", "")))
        for node in v["nodes"][:10]:
            lines.append("    %s  %s" % (" ".join(map(str, node["target"])), node["html"][:160]))
        if len(v["nodes"]) > 10:
            lines.append("    ... and %d more" % (len(v["nodes"]) - 10))
    return "\n".join(lines)


# --- the server ----------------------------------------------------------------------------------

class ShopServer:
    """`shop serve --port 0 --no-seed` (shoptest.start_serve) on a fresh temporary data directory, serving the
    website from `web_dir` (SHOP_WEB_DIR, default the repository's web/); with `seed`, without --no-seed: the store
    a newcomer gets, the demo catalog and its pictures. `env` adds to (None: removes from) the environment.
    A context manager: `base_url`, `url(path)`; stopped (SIGTERM, then SIGKILL after 10 s) on exit.
    Its log is kept in .cache/webtest/ (`log_path`)."""

    def __init__(self, env=None, web_dir=None, binary=None, seed=False):
        self.binary = binary or SHOP_BIN
        self.web_dir = web_dir or WEB_DIR
        self.seed = seed
        self.extra_env = dict(env or {})
        self.process = None
        self.base_url = None
        self.data_dir = None
        self.log_path = None
        self.env = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        _need_file(self.binary, "the shop binary", executable=True, fix="swift build, or set SHOP_BIN")
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.data_dir = tempfile.mkdtemp(prefix="shop-webtest-")
        self.log_path = str(LOG_DIR / ("serve-%s-%d.log" % (time.strftime("%Y%m%dT%H%M%S"), os.getpid())))
        env = dict(os.environ)
        env["SHOP_WEB_DIR"] = self.web_dir
        for name, value in self.extra_env.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = str(value)
        self.env = env
        try:
            self.process, self.base_url = shoptest.start_serve(self.binary, self.data_dir, env, self.log_path, seed=self.seed)
        except BaseException:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            raise
        return self

    def url(self, path="/"):
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def log(self):
        """What shop serve has logged so far."""
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def shop(self, *args, check=True, timeout=60):
        """Runs `<shop binary> args... --data-dir <this server's data dir>` with the server's environment;
        returns the CompletedProcess (stdout and stderr as text). Raises with its output when it fails and check."""
        command = [self.binary, *args, "--data-dir", self.data_dir]
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and done.returncode != 0:
            raise RuntimeError("%s exited %d:\n%s%s" % (" ".join(command[:3]), done.returncode, done.stdout, done.stderr))
        return done

    def make_admin(self, email, password, name="Administrator"):
        """`shop admin create --email --password --name` on this server's store (it may be running)."""
        return self.shop("admin", "create", "--email", email, "--password", password, "--name", name)

    def stop(self):
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.process = None
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None
