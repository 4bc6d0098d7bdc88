#!/usr/bin/env python3
"""End-to-end test of the payments feature against the real `shop serve` binary.

    .venv/bin/python scripts/payments_e2e.py --store sqlite
    .venv/bin/python scripts/payments_e2e.py --store dynamodb     # moto: $SHOP_TEST_MOTO_ENDPOINT or scripts/moto-server
    .venv/bin/python scripts/payments_e2e.py --store sqlite --bench 10
    scripts/payments-e2e                                          # both stores, one after the other

Per store it starts three servers (each with its own data directory, and on DynamoDB its own tables):
  A  the simulator delivers its webhooks to the server itself (test cards, 3-D Secure, signatures,
     replays and out-of-order events, and the optional checkout benchmark);
  B  the simulator delivers through a relay run by this script (races between the webhook and two
     cancels; a webhook endpoint that is down and then recovers; delivery across a restart);
  C  like B with a short order TTL (a success that arrives after the order expired).
Everything started is stopped in `finally`. Standard library only (urllib, threads, hmac).

Prints "ok - ..." / "not ok - ..." per check (on a failure the reason with the response body, and
the last 50 lines of that server's log as "#" lines), then "payments (<store>): N passed, M failed";
exits 1 if anything failed, 2 on a usage error.

Options: --rounds N (race rounds, default 30), --bench SECONDS (default 0: off), --bench-threads N,
--only 1,3,6 (run only those numbered checks: 1-8 as in the brief; 9 cancel/fulfil and 10 delivery
over a restart are extra), --keep (keep the temporary directory with the logs), --verbose. Environment: SHOP_BIN (default .build/debug/shop),
SHOP_TEST_MOTO_ENDPOINT (use that moto instead of starting one).
"""
import argparse
import collections
import concurrent.futures
import datetime
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid

from shoptest import ServeFailed, start_serve  # scripts/shoptest.py; scripts/ is on sys.path when run as a script

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

HTTP_TIMEOUT = 15.0
PAID_TIMEOUT = 10.0

# Every order ships to Oregon by standard shipping (issue 18). With the built-in store settings Oregon has no
# sales tax and standard costs 500, free from a subtotal of 5000, so an order's total is its subtotal plus that.
SHIPPING_ADDRESS = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Portland", "region": "OR",
                    "postalCode": "97201", "country": "US"}
SHIPPING_METHOD = "standard"
STANDARD_PRICE, STANDARD_FREE_OVER = 500, 5000


def expected_total(lines):
    """The money rules for an untaxed destination by standard: subtotal (sum of unitPrice x quantity) + shipping."""
    subtotal = sum(line["unitPrice"] * line["quantity"] for line in lines)
    return subtotal + (0 if subtotal >= STANDARD_FREE_OVER else STANDARD_PRICE)


CARD_OK = "4242424242424242"
CARD_GENERIC_DECLINE = "4000000000000002"
CARD_INSUFFICIENT_FUNDS = "4000000000009995"
CARD_3DS = "4000002500003155"
CARD_BAD_LUHN = "4242424242424241"

TABLES = ("PRODUCTS", "ORDERS", "IDEMPOTENCY", "USERS", "PAYMENTS", "PAYMENT_EVENTS")

_print_lock = threading.Lock()
VERBOSE = False


def say(line=""):
    with _print_lock:
        print(line, flush=True)


def debug(line):
    if VERBOSE:
        say("# " + line)


class CheckFailed(Exception):
    pass


def require(condition, message):
    if not condition:
        raise CheckFailed(message)


def card(number, expired=False):
    year = datetime.date.today().year
    if expired:
        return {"number": number, "expMonth": 1, "expYear": year - 1, "cvc": "123"}
    return {"number": number, "expMonth": 12, "expYear": year + 3, "cvc": "123"}


def short(data, limit=1500):
    if isinstance(data, (bytes, bytearray)):
        data = data.decode("utf-8", "replace")
    if not isinstance(data, str):
        data = json.dumps(data, sort_keys=True)
    return data if len(data) <= limit else data[:limit] + "...(%d more chars)" % (len(data) - limit)


# --- HTTP ------------------------------------------------------------------------------------------

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through an http_proxy


class Resp:
    def __init__(self, method, url, status, body, headers):
        self.method, self.url, self.status, self.body, self.headers = method, url, status, body, headers
        self._json = None
        self._parsed = False

    @property
    def json(self):
        if not self._parsed:
            self._parsed = True
            try:
                self._json = json.loads(self.body.decode("utf-8")) if self.body else None
            except (ValueError, UnicodeDecodeError):
                self._json = None
        return self._json

    @property
    def error_code(self):
        j = self.json
        if isinstance(j, dict) and isinstance(j.get("error"), dict):
            return j["error"].get("code")
        return None

    @property
    def error_details(self):
        j = self.json
        if isinstance(j, dict) and isinstance(j.get("error"), dict):
            return j["error"].get("details")
        return None

    def describe(self):
        path = re.sub(r"^https?://[^/]+", "", self.url)
        return "%s %s -> HTTP %s %s" % (self.method, path, self.status, short(self.body))

    def expect(self, *statuses, what=None):
        if self.status not in statuses:
            want = " or ".join(str(s) for s in statuses)
            raise CheckFailed("%sexpected HTTP %s, got %s" % (what + ": " if what else "", want, self.describe()))
        return self

    def expect_error(self, status, code, what=None):
        if self.status != status or self.error_code != code:
            raise CheckFailed("%sexpected HTTP %d with error.code %r, got %s"
                              % (what + ": " if what else "", status, code, self.describe()))
        return self


def http_request(method, url, body=None, token=None, headers=None, raw=None, timeout=HTTP_TIMEOUT):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    h = {"Accept": "application/json"}
    if data is not None:
        h["Content-Type"] = "application/json"
    if token:
        h["Authorization"] = "Bearer " + token
    h.update(headers or {})
    request = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with _opener.open(request, timeout=timeout) as response:
            return Resp(method, url, response.status, response.read(), response.headers)
    except urllib.error.HTTPError as e:
        try:
            payload = e.read()
        except Exception:  # noqa: BLE001
            payload = b""
        return Resp(method, url, e.code, payload, e.headers)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        raise CheckFailed("%s %s: no answer (%s: %s)" % (method, re.sub(r"^https?://[^/]+", "", url), type(e).__name__, e))


# --- Stripe events and signatures ------------------------------------------------------------------

def sign(secret, body, timestamp=None):
    t = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), ("%d." % t).encode() + body, hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (t, mac)


def event_id():
    return "evt_e2e" + secrets.token_hex(10)


def intent_event(event_type, payment, status=None, failure=None, eid=None):
    """A Stripe PaymentIntent event for `payment` (a Payment from the simulator or the confirm route)."""
    obj = {
        "id": payment["id"], "object": "payment_intent", "amount": payment["amount"],
        "currency": payment["currency"].lower(), "status": status or payment["status"],
        "client_secret": payment.get("clientSecret"), "metadata": {"orderId": payment["orderId"]},
    }
    if failure:
        obj["last_payment_error"] = {"type": "card_error", "code": "card_declined", "decline_code": failure,
                                     "message": "Your card was declined."}
    else:
        obj["last_payment_error"] = None
    return {"id": eid or event_id(), "object": "event", "api_version": "2024-06-20", "livemode": False,
            "type": event_type, "created": int(time.time()), "data": {"object": obj}}


def encode_event(event):
    return json.dumps(event, separators=(",", ":")).encode()


# --- processes ---------------------------------------------------------------------------------------

def wait_for_binary(path, timeout=180.0):
    """Waits until the binary exists, is executable and has not changed for 3 s (it may be mid-rebuild)."""
    deadline = time.time() + timeout
    announced = False
    while True:
        try:
            st = os.stat(path)
            if os.access(path, os.X_OK) and time.time() - st.st_mtime > 3:
                return
        except FileNotFoundError:
            pass
        if time.time() > deadline:
            raise CheckFailed("%s is missing or still being rebuilt after %d s" % (path, timeout))
        if not announced:
            say("# waiting for %s (missing or being rebuilt)" % path)
            announced = True
        time.sleep(2)


def run_tool(binary, args, env, what, attempts=3):
    last = None
    for attempt in range(attempts):
        wait_for_binary(binary)
        try:
            p = subprocess.run([binary] + args, env=env, capture_output=True, text=True, timeout=120)
        except OSError as e:  # e.g. ETXTBSY while the linker writes it
            last = "could not run %s: %s" % (binary, e)
            time.sleep(5)
            continue
        if p.returncode == 0:
            return p.stdout + p.stderr
        last = "%s exited %d: %s" % (what, p.returncode, short(p.stdout + p.stderr, 3000))
        if attempt + 1 < attempts and not os.path.exists(binary):
            time.sleep(5)
            continue
        break
    raise CheckFailed(last)


class Server:
    """One `shop serve` with its own data directory (and, on DynamoDB, its own tables)."""

    def __init__(self, name, binary, store, workdir, secret, moto_endpoint=None, ttl=None, webhook_url=None):
        self.name, self.binary, self.store = name, binary, store
        self.data_dir = os.path.join(workdir, "data-" + name)
        self.log_path = os.path.join(workdir, "server-%s.log" % name)
        self.secret = secret
        self.ttl = ttl
        self.webhook_url = webhook_url
        self.proc = None
        self.base = None
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOP_", "AWS_"))}
        env.update({
            "SHOP_BCRYPT_COST": "4", "SHOP_PAYMENTS": "simulated", "SHOP_PAYMENTS_WEBHOOK_SECRET": secret,
            # Many shoppers sign in from 127.0.0.1 here: the sign-in rate limits are set off explicitly.
            "SHOP_AUTH_RATE_LIMIT_PER_MINUTE": "0", "SHOP_LOGIN_ACCOUNT_RATE_LIMIT_PER_MINUTE": "0",
            # and shoppers keep several orders open at once.
            "SHOP_MAX_OPEN_ORDERS": "0",
            "SHOP_SWEEP_INTERVAL_SECONDS": "1", "SHOP_DATA_DIR": self.data_dir,
        })
        if ttl is not None:
            env["SHOP_ORDER_TTL_SECONDS"] = str(ttl)
        if webhook_url:
            env["SHOP_PAYMENTS_WEBHOOK_URL"] = webhook_url
        if store == "dynamodb":
            prefix = "pe2e%s%s" % (secrets.token_hex(3), name)
            env.update({
                "SHOP_STORE": "dynamodb", "SHOP_DYNAMODB_ENDPOINT": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1",
            })
            for t in TABLES:
                env["SHOP_DYNAMODB_%s_TABLE" % t] = "%s-%s" % (prefix, t.lower().replace("_", "-"))
        else:
            env["SHOP_STORE"] = "sqlite"
        self.env = env

    def start(self, create_tables=True):
        os.makedirs(self.data_dir, exist_ok=True)
        if self.store == "dynamodb" and create_tables:
            run_tool(self.binary, ["aws", "create-tables"], self.env, "shop aws create-tables")
        for attempt in range(3):
            wait_for_binary(self.binary)
            try:
                self.proc, self.base = start_serve(self.binary, self.data_dir, self.env, self.log_path)
                return
            except OSError as e:
                say("# %s: could not start %s (%s); retrying" % (self.name, self.binary, e))
                time.sleep(5)
            except ServeFailed as e:
                # The test build may be relinking the binary: start it again once it is back.
                if e.exited and attempt < 2 and not os.path.exists(self.binary):
                    time.sleep(5)
                    continue
                raise CheckFailed("server %s: %s" % (self.name, e))
        raise CheckFailed("server %s could not be started" % self.name)

    def restart(self):
        """Stops the server and starts it again on the same data directory and tables."""
        self.stop()
        self.start(create_tables=False)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=50):
        return self.log_text().splitlines()[-n:]


class Moto:
    def __init__(self, workdir):
        self.pid = None
        self.endpoint = os.environ.get("SHOP_TEST_MOTO_ENDPOINT") or None
        self.workdir = workdir

    def start(self):
        if self.endpoint:
            return
        env = dict(os.environ, MOTO_LOG=os.path.join(self.workdir, "moto.log"))
        p = subprocess.run([os.path.join(HERE, "moto-server")], env=env, capture_output=True, text=True, timeout=60)
        parts = p.stdout.split()
        if p.returncode != 0 or len(parts) != 2:
            raise CheckFailed("scripts/moto-server failed (%d): %s" % (p.returncode, short(p.stdout + p.stderr)))
        self.pid = int(parts[0])
        self.endpoint = "http://127.0.0.1:%s" % parts[1]

    def stop(self):
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        for _ in range(50):
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- the relay between the simulator and a server's /payment/webhook ----------------------------------

class Relay:
    """An HTTP endpoint for SHOP_PAYMENTS_WEBHOOK_URL. Per PaymentIntent it either holds an event back
    (answers 503, so the simulator retries) or forwards it, body and Stripe-Signature untouched, to the
    target server's /payment/webhook and answers with the server's answer."""

    def __init__(self, name):
        self.name = name
        self.lock = threading.Lock()
        self.target = None
        self.held = set()
        self.fail_budget = {}
        self.records = []  # (time, intent id, event id, event type, action, status)
        relay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, answer = relay.handle(body, self.headers.get("Stripe-Signature"))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d/hook" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="relay-" + name, daemon=True)
        self.thread.start()

    @staticmethod
    def describe(body):
        try:
            e = json.loads(body)
            obj = e["data"]["object"]
            intent = obj.get("payment_intent") if obj.get("object") == "charge" else obj.get("id")
            return intent, e.get("id"), e.get("type")
        except (ValueError, KeyError, TypeError, AttributeError):
            return None, None, None

    def handle(self, body, signature):
        intent, eid, etype = self.describe(body)
        with self.lock:
            target = self.target
            if target is None or intent in self.held:
                action = "hold"
            elif self.fail_budget.get(intent, 0) > 0:
                self.fail_budget[intent] -= 1
                action = "fail"
            else:
                action = "forward"
        if action != "forward":
            self.record(intent, eid, etype, action, 503)
            return 503, b'{"error":"held back by the e2e relay"}'
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if signature is not None:
            headers["Stripe-Signature"] = signature
        try:
            r = http_request("POST", target, raw=body, headers=headers, timeout=10)
            status, answer = r.status, r.body
        except CheckFailed as e:
            status, answer = 502, json.dumps({"error": str(e)}).encode()
        self.record(intent, eid, etype, "forward", status)
        return status, answer

    def record(self, intent, eid, etype, action, status):
        with self.lock:
            self.records.append((time.time(), intent, eid, etype, action, status))

    def hold(self, intent):
        with self.lock:
            self.held.add(intent)

    def release(self, intent=None):
        with self.lock:
            if intent is None:
                self.held.clear()
            else:
                self.held.discard(intent)

    def fail_first(self, intent, n):
        with self.lock:
            self.fail_budget[intent] = n

    def records_for(self, intent):
        with self.lock:
            return [r for r in self.records if r[1] == intent]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# --- the store's API ---------------------------------------------------------------------------------

class Shop:
    """A started server plus its accounts: an admin and two shoppers."""

    def __init__(self, server):
        self.server = server
        self.base = server.base
        self.admin = None
        self.shopper = None
        self.other = None

    def req(self, method, path, body=None, token=None, **kw):
        return http_request(method, self.base + path, body=body, token=token, **kw)

    def setup_accounts(self):
        email = "admin-%s@example.com" % secrets.token_hex(4)
        password = "Adm1n" + secrets.token_hex(6)
        run_tool(self.server.binary, ["admin", "create", "--email", email, "--password", password,
                                      "--data-dir", self.server.data_dir], self.server.env, "shop admin create")
        self.admin = self.login(email, password)
        self.shopper = self.register("shopper")
        self.other = self.register("other")

    def login(self, email, password):
        r = self.req("POST", "/auth/login", {"email": email, "password": password}).expect(200, what="login " + email)
        token = r.json.get("idToken") or r.json.get("accessToken")
        require(token, "POST /auth/login: no idToken in %s" % r.describe())
        return token

    def register(self, who):
        email = "%s-%s@example.com" % (who, secrets.token_hex(4))
        password = "Sh0pper" + secrets.token_hex(6)
        self.req("POST", "/auth/register", {"email": email, "password": password, "name": who.title()}) \
            .expect(201, what="register " + email)
        return self.login(email, password)

    def create_product(self, quantity, price=1999, name="E2E item"):
        body = {"name": "%s %s" % (name, secrets.token_hex(3)), "description": "payments e2e", "price": price,
                "currency": "USD", "category": "e2e", "quantity": quantity}
        r = self.req("POST", "/products", body, self.admin).expect(201, what="create a product")
        return r.json["id"]

    def stock(self, product_id):
        r = self.req("GET", "/products/" + product_id).expect(200, what="read the product")
        return r.json["quantity"]

    def place_order(self, token, product_id, quantity):
        key = str(uuid.uuid4())
        for attempt in range(6):
            r = self.req("POST", "/orders", {"lines": [{"productId": product_id, "quantity": quantity}],
                                             "shippingAddress": SHIPPING_ADDRESS, "shippingMethodId": SHIPPING_METHOD},
                         token, headers={"Idempotency-Key": key})
            if r.status == 503 and attempt < 5:  # `busy` on DynamoDB: retry with the same key
                time.sleep(1)
                continue
            r.expect(201, what="place an order")
            require(r.json.get("status") == "PENDING_PAYMENT", "a new order is not PENDING_PAYMENT: " + r.describe())
            want = expected_total(r.json.get("lines") or [])
            require(r.json.get("total") == want and r.json.get("taxTotal") == 0,
                    "a new order to Oregon by standard: expected total %d (subtotal + shipping, no tax), got %s" % (want, r.describe()))
            return r.json
        raise AssertionError("unreachable")

    def start_payment(self, token, order_id):
        r = self.req("POST", "/payment", {"orderId": order_id}, token).expect(201, what="POST /payment")
        return r.json

    def confirm(self, token, payment_id, number, expired=False):
        return self.req("POST", "/payment/simulator/confirm", {"paymentId": payment_id, "card": card(number, expired)}, token)

    def authenticate(self, token, payment_id, outcome):
        return self.req("POST", "/payment/simulator/authenticate", {"paymentId": payment_id, "outcome": outcome}, token)

    def order(self, token, order_id):
        return self.req("GET", "/orders/" + order_id, token=token).expect(200, what="GET /orders/{id}").json

    def inspect(self, token, payment_id):
        return self.req("GET", "/payment/simulator/payments/" + payment_id, token=token) \
            .expect(200, what="GET /payment/simulator/payments/{id}").json

    def webhook(self, raw, signature=None, headers=None):
        h = dict(headers or {})
        if signature is not None:
            h["Stripe-Signature"] = signature
        return self.req("POST", "/payment/webhook", raw=raw, headers=h)

    def send_event(self, event, timestamp=None):
        raw = encode_event(event)
        return self.webhook(raw, sign(self.server.secret, raw, timestamp))

    def wait_order(self, token, order_id, predicate, what, timeout=PAID_TIMEOUT):
        deadline = time.time() + timeout
        last = None
        while True:
            last = self.order(token, order_id)
            if predicate(last):
                return last
            if time.time() > deadline:
                raise CheckFailed("%s: not within %.0f s; GET /orders/%s is %s" % (what, timeout, order_id, short(last)))
            time.sleep(0.1)

    def wait_status(self, token, order_id, status, timeout=PAID_TIMEOUT):
        return self.wait_order(token, order_id, lambda o: o.get("status") == status,
                               "order %s to become %s" % (order_id, status), timeout)


def payment_of(order):
    return order.get("payment") or {}


# --- the checks --------------------------------------------------------------------------------------

class Runner:
    def __init__(self, store, only):
        self.store = store
        self.only = only
        self.passed = 0
        self.failed = 0
        self.logged = set()

    def wanted(self, number):
        return self.only is None or number in self.only

    def ok(self, message):
        self.passed += 1
        say("ok - " + message)

    def not_ok(self, message, server=None):
        self.failed += 1
        say("not ok - " + message)
        if server is not None:
            say("#   --- last 50 lines of the log of server %s (%s) ---" % (server.name, server.log_path))
            for line in server.log_tail(50):
                say("#   " + line)
            say("#   --- end of log ---")

    def check(self, number, title, server, fn, *args):
        if not self.wanted(number):
            return None
        try:
            detail = fn(*args)
        except CheckFailed as e:
            self.not_ok("%d. %s: %s" % (number, title, e), server)
            return None
        except Exception as e:  # noqa: BLE001 (a bug here, or an answer of an unexpected shape)
            self.not_ok("%d. %s: %s: %s\n#   %s" % (number, title, type(e).__name__, e,
                                                 traceback.format_exc().replace("\n", "\n#   ")), server)
            return None
        self.ok("%d. %s%s" % (number, title, (": " + detail) if detail else ""))
        return True


# 1. test cards ---------------------------------------------------------------------------------------

def check_config(shop):
    r = shop.req("GET", "/payment/config").expect(200, what="GET /payment/config")
    require(r.json == {"provider": "simulated"}, 'GET /payment/config: expected {"provider":"simulated"}, got ' + r.describe())
    return None


def check_card_ok(shop):
    t = shop.shopper
    product = shop.create_product(10, price=1250)
    order = shop.place_order(t, product, 2)
    oid = order["id"]
    require(order["total"] == 2 * 1250 + STANDARD_PRICE,
            "an order of 2 x 1250 to Oregon by standard: expected total 3000 (2500 + 500 shipping), got %s" % short(order))
    require(shop.stock(product) == 8, "the order did not take 2 units: stock %s" % shop.stock(product))
    before = shop.order(t, oid)
    require("payment" in before and before["payment"] is None,
            "GET /orders/{id} before POST /payment: expected \"payment\": null, got %s" % short(before))
    p = shop.start_payment(t, oid)
    for key, want in (("orderId", oid), ("provider", "simulated"), ("status", "requires_payment_method"),
                      ("amount", order["total"]), ("currency", order["currency"])):
        require(p.get(key) == want, "POST /payment: %s should be %r, got %s" % (key, want, short(p)))
    require(str(p.get("paymentId", "")).startswith("pi_") and p.get("clientSecret"), "POST /payment: no pi_ id / clientSecret: " + short(p))
    again = shop.req("POST", "/payment", {"orderId": oid}, t).expect(200, 201, what="a repeated POST /payment")
    require(again.json.get("paymentId") == p["paymentId"],
            "a repeated POST /payment made a new payment: first %s, then %s" % (p["paymentId"], again.describe()))
    pending = shop.order(t, oid)
    require(payment_of(pending).get("id") == p["paymentId"] and payment_of(pending).get("status") == "requires_payment_method",
            "GET /orders/{id} after POST /payment: expected payment %s requires_payment_method, got %s" % (p["paymentId"], short(pending)))
    r = shop.confirm(t, p["paymentId"], CARD_OK).expect(200, what="confirm 4242")
    require(r.json.get("status") == "succeeded" and r.json.get("id") == p["paymentId"] and r.json.get("orderId") == oid,
            "confirm 4242: expected status succeeded for %s, got %s" % (p["paymentId"], r.describe()))
    paid = shop.wait_status(t, oid, "PAID")
    pay = payment_of(paid)
    require(pay.get("status") == "succeeded" and pay.get("amount") == order["total"] and pay.get("refundedAmount") == 0,
            "PAID order's payment: expected succeeded, amount %s, refundedAmount 0, got %s" % (order["total"], short(pay)))
    require(shop.stock(product) == 8, "stock after PAID should stay 8, is %s" % shop.stock(product))
    sim = shop.inspect(t, p["paymentId"])
    require(sim.get("refunds") == [] and "payment_intent.succeeded" in (sim.get("events") or []),
            "simulator: expected no refunds and a payment_intent.succeeded event, got %s" % short(sim))
    shop.req("POST", "/payment", {"orderId": oid}, t).expect_error(409, "order_not_payable", "POST /payment on a PAID order")
    shop.confirm(t, p["paymentId"], CARD_OK).expect_error(409, "payment_intent_unexpected_state", "confirming a succeeded payment again")
    return "order %s PAID, stock 10 -> 8 once, no refund; repeat POST /payment same %s; paid order 409 order_not_payable" % (oid, p["paymentId"])


def check_ownership(shop):
    product = shop.create_product(5)
    order = shop.place_order(shop.shopper, product, 1)
    shop.req("POST", "/payment", {"orderId": order["id"]}, shop.other).expect_error(404, "not_found", "POST /payment for another user's order")
    p = shop.start_payment(shop.shopper, order["id"])
    r = shop.confirm(shop.other, p["paymentId"], CARD_OK)
    require(r.status == 404, "confirm of another user's payment: expected 404, got " + r.describe())
    o = shop.order(shop.shopper, order["id"])
    require(o["status"] == "PENDING_PAYMENT", "the order changed: " + short(o))
    return "POST /payment and confirm by another user are 404"


def check_decline(shop, number, decline_code):
    t = shop.shopper
    product = shop.create_product(10)
    order = shop.place_order(t, product, 1)
    oid = order["id"]
    p = shop.start_payment(t, oid)
    r = shop.confirm(t, p["paymentId"], number)
    details = r.error_details or {}
    require(r.status == 402 and r.error_code == "card_declined" and isinstance(details, dict) and details.get("declineCode") == decline_code,
            "confirm %s: expected 402 card_declined with details.declineCode %r, got %s" % (number, decline_code, r.describe()))
    o = shop.wait_order(t, oid, lambda o: payment_of(o).get("failureCode") == decline_code,
                        "payment.failureCode %r on GET /orders/%s after the decline" % (decline_code, oid))
    require(o["status"] == "PENDING_PAYMENT", "after the decline the order should stay PENDING_PAYMENT: " + short(o))
    require(shop.stock(product) == 9, "stock after the decline should be 9, is %s" % shop.stock(product))
    again = shop.req("POST", "/payment", {"orderId": oid}, t).expect(200, 201, what="POST /payment after a decline")
    require(again.json.get("paymentId") == p["paymentId"],
            "POST /payment after a decline should return the same open payment %s, got %s" % (p["paymentId"], again.describe()))
    r = shop.confirm(t, p["paymentId"], CARD_OK).expect(200, what="retry with 4242 after the decline")
    require(r.json.get("status") == "succeeded", "retry with 4242: expected succeeded, got " + r.describe())
    paid = shop.wait_status(t, oid, "PAID")
    require(payment_of(paid).get("status") == "succeeded" and payment_of(paid).get("refundedAmount") == 0,
            "the retried payment on the PAID order: " + short(paid))
    require(shop.stock(product) == 9, "stock after PAID should be 9, is %s" % shop.stock(product))
    return "402 %s, order PENDING_PAYMENT with failureCode, retry 4242 -> PAID" % decline_code


def check_invalid_card(shop, number, expired, field):
    t = shop.shopper
    product = shop.create_product(10)
    order = shop.place_order(t, product, 1)
    oid = order["id"]
    p = shop.start_payment(t, oid)
    before = shop.inspect(t, p["paymentId"])
    r = shop.confirm(t, p["paymentId"], number, expired=expired)
    require(r.status == 400 and r.error_code == "validation_failed" and field in json.dumps(r.error_details),
            "confirm with %s: expected 400 validation_failed with details naming %s, got %s"
            % ("an expired card" if expired else number, field, r.describe()))
    time.sleep(0.5)
    after = shop.inspect(t, p["paymentId"])
    require(after == before, "the simulator's payment changed: before %s, after %s" % (short(before), short(after)))
    o = shop.order(t, oid)
    require(o["status"] == "PENDING_PAYMENT" and payment_of(o).get("status") == "requires_payment_method" and not payment_of(o).get("failureCode"),
            "the order or its payment changed: " + short(o))
    require(shop.stock(product) == 9, "stock changed: %s" % shop.stock(product))
    r = shop.confirm(t, p["paymentId"], CARD_OK).expect(200, what="4242 after the invalid card")
    shop.wait_status(t, oid, "PAID")
    return "400 validation_failed naming %s, nothing changed (4242 afterwards -> PAID)" % field


# 2. 3-D Secure ---------------------------------------------------------------------------------------

def check_3ds(shop, approve):
    t = shop.shopper
    product = shop.create_product(10)
    order = shop.place_order(t, product, 1)
    oid = order["id"]
    p = shop.start_payment(t, oid)
    r = shop.confirm(t, p["paymentId"], CARD_3DS).expect(200, what="confirm 3DS card")
    require(r.json.get("status") == "requires_action", "confirm %s: expected requires_action, got %s" % (CARD_3DS, r.describe()))
    time.sleep(0.3)
    o = shop.order(t, oid)
    require(o["status"] == "PENDING_PAYMENT", "after requires_action the order should be PENDING_PAYMENT: " + short(o))
    r = shop.authenticate(t, p["paymentId"], "approve" if approve else "fail").expect(200, what="authenticate")
    if approve:
        require(r.json.get("status") == "succeeded", "authenticate approve: expected succeeded, got " + r.describe())
        shop.wait_status(t, oid, "PAID")
        require(shop.stock(product) == 9, "stock should be 9, is %s" % shop.stock(product))
        return "requires_action, approve -> succeeded -> PAID"
    code = "payment_intent_authentication_failure"
    require(r.json.get("status") == "requires_payment_method" and r.json.get("failureCode") == code,
            "authenticate fail: expected requires_payment_method with failureCode %s, got %s" % (code, r.describe()))
    o = shop.wait_order(t, oid, lambda o: payment_of(o).get("failureCode") == code,
                        "payment.failureCode %s on GET /orders/%s" % (code, oid))
    require(o["status"] == "PENDING_PAYMENT", "after a failed authentication the order should stay PENDING_PAYMENT: " + short(o))
    time.sleep(0.5)
    o = shop.order(t, oid)
    require(o["status"] == "PENDING_PAYMENT", "the order moved after a failed authentication: " + short(o))
    return "requires_action, fail -> requires_payment_method, order PENDING_PAYMENT, failureCode %s" % code


# 3. webhook signatures ---------------------------------------------------------------------------------

class SignatureSubject:
    """An order with an unconfirmed payment, and a `payment_intent.succeeded` event for it."""

    def __init__(self, shop):
        self.shop = shop
        self.product = shop.create_product(10)
        self.order = shop.place_order(shop.shopper, self.product, 1)
        self.payment = shop.start_payment(shop.shopper, self.order["id"])
        sim = shop.inspect(shop.shopper, self.payment["paymentId"])["payment"]
        self.event = intent_event("payment_intent.succeeded", sim, status="succeeded")
        self.raw = encode_event(self.event)

    def unchanged(self):
        o = self.shop.order(self.shop.shopper, self.order["id"])
        require(o["status"] == "PENDING_PAYMENT" and payment_of(o).get("status") == "requires_payment_method",
                "the order changed after a rejected webhook: " + short(o))
        require(self.shop.stock(self.product) == 9, "stock changed: %s" % self.shop.stock(self.product))


def check_bad_signature(subject, variant):
    shop, raw, secret = subject.shop, subject.raw, subject.shop.server.secret
    now = int(time.time())
    if variant == "forged v1":
        r = shop.webhook(raw, "t=%d,v1=%s" % (now, secrets.token_hex(32)))
    elif variant == "signed with another secret":
        r = shop.webhook(raw, sign("whsec_" + secrets.token_hex(16), raw, now))
    elif variant == "stale timestamp (now-400)":
        r = shop.webhook(raw, sign(secret, raw, now - 400))
    elif variant == "future timestamp (now+400)":
        r = shop.webhook(raw, sign(secret, raw, now + 400))
    elif variant == "missing Stripe-Signature":
        r = shop.webhook(raw, None)
    elif variant == "body changed after signing":
        tampered = json.loads(raw)
        tampered["data"]["object"]["amount"] += 1
        r = shop.webhook(encode_event(tampered), sign(secret, raw, now))
    else:
        raise AssertionError(variant)
    r.expect_error(400, "invalid_signature", "webhook with a " + variant)
    subject.unchanged()
    return "400 invalid_signature, order unchanged"


def check_good_signature(subject):
    shop = subject.shop
    unknown = {"id": event_id(), "object": "event", "type": "customer.created", "created": int(time.time()),
               "data": {"object": {"id": "cus_e2e", "object": "customer"}}}
    r = shop.send_event(unknown, timestamp=int(time.time()) - 200)
    require(r.status == 200 and r.json == {"received": True},
            'a correctly signed unknown event type, 200 s old: expected 200 {"received":true}, got ' + r.describe())
    subject.unchanged()
    p = subject.payment
    shop.confirm(shop.shopper, p["paymentId"], CARD_OK).expect(200, what="confirm 4242 after the rejected webhooks")
    shop.wait_status(shop.shopper, subject.order["id"], "PAID")
    require(shop.stock(subject.product) == 9, "stock should be 9, is %s" % shop.stock(subject.product))
    return "unknown type with a 200-s-old signature -> 200 {received:true}; the order then pays normally"


# 4. replays, duplicates, out-of-order events ------------------------------------------------------------

def comparable(order):
    pay = payment_of(order)
    return {"status": order.get("status"), "total": order.get("total"),
            "payment": {k: pay.get(k) for k in ("id", "status", "amount", "refundedAmount", "failureCode")}}


def check_replays_after_success(shop):
    t = shop.shopper
    product = shop.create_product(10)
    order = shop.place_order(t, product, 3)
    oid = order["id"]
    p = shop.start_payment(t, oid)
    shop.confirm(t, p["paymentId"], CARD_OK).expect(200, what="confirm 4242")
    shop.wait_status(t, oid, "PAID")
    time.sleep(0.5)
    clean = shop.order(t, oid)
    sim = shop.inspect(t, p["paymentId"])
    events_before = list(sim["events"])
    success = intent_event("payment_intent.succeeded", sim["payment"])
    answers = []
    for what, event in (("the success event", success), ("the same event id again", success),
                        ("the same content with a new event id", dict(success, id=event_id())),
                        ("a payment_failed after the success",
                         intent_event("payment_intent.payment_failed", sim["payment"], status="requires_payment_method",
                                      failure="generic_decline"))):
        r = shop.send_event(event)
        answers.append(r.status)
        require(r.status == 200 and r.json == {"received": True}, "%s: expected 200 {\"received\":true}, got %s" % (what, r.describe()))
    # A replay of the payment_failed (same id) too.
    r = shop.send_event(event)
    require(r.status == 200, "replaying the payment_failed event: expected 200, got " + r.describe())
    time.sleep(1.0)
    final = shop.order(t, oid)
    require(comparable(final) == comparable(clean),
            "the order differs from the clean delivery:\n#   clean: %s\n#   final: %s" % (short(comparable(clean)), short(comparable(final))))
    require(shop.stock(product) == 7, "stock should be 10 - 3 = 7 (taken once), is %s" % shop.stock(product))
    sim = shop.inspect(t, p["paymentId"])
    require(sim["refunds"] == [] and "charge.refunded" not in sim["events"] and sim["payment"]["status"] == "succeeded",
            "the simulator shows a refund or a changed payment: %s (events before: %s)" % (short(sim), events_before))
    return "success x2 (same id), success (new id), payment_failed x2 -> all 200; order PAID once, stock 7, no refund"


def check_success_before_confirm(shop):
    t = shop.shopper
    product = shop.create_product(10)
    order = shop.place_order(t, product, 2)
    oid = order["id"]
    p = shop.start_payment(t, oid)
    sim = shop.inspect(t, p["paymentId"])["payment"]
    early = intent_event("payment_intent.succeeded", sim, status="succeeded")
    r = shop.send_event(early)
    require(r.status == 200, "a signed success before any confirm: expected 200, got " + r.describe())
    time.sleep(0.5)
    mid = shop.order(t, oid)
    r = shop.confirm(t, p["paymentId"], CARD_OK)
    require(r.status == 200 and r.json.get("status") == "succeeded",
            "confirm 4242 after an early success event (order was then %s): expected 200 succeeded, got %s" % (mid.get("status"), r.describe()))
    shop.wait_status(t, oid, "PAID")
    r = shop.send_event(early)
    require(r.status == 200, "replaying the early success: expected 200, got " + r.describe())
    time.sleep(1.0)
    final = shop.order(t, oid)
    pay = payment_of(final)
    require(final["status"] == "PAID" and pay.get("status") == "succeeded" and pay.get("refundedAmount") == 0 and not pay.get("failureCode"),
            "expected PAID with a succeeded payment and no refund, got " + short(final))
    require(shop.stock(product) == 8, "stock should be 10 - 2 = 8 (taken once), is %s" % shop.stock(product))
    sim = shop.inspect(t, p["paymentId"])
    require(sim["refunds"] == [], "the simulator refunded: " + short(sim))
    return "early success -> 200 (order then %s); confirm -> PAID once, stock 8, no refund" % mid.get("status")


# 9. (extra, from the lifecycle rules) cancel and fulfil ------------------------------------------------

def paid_order(shop, quantity, stock=10):
    t = shop.shopper
    product = shop.create_product(stock)
    order = shop.place_order(t, product, quantity)
    p = shop.start_payment(t, order["id"])
    shop.confirm(t, p["paymentId"], CARD_OK).expect(200, what="confirm 4242")
    shop.wait_status(t, order["id"], "PAID")
    return product, order, p["paymentId"]


def check_cancel_paid(shop):
    t = shop.shopper
    product, order, pid = paid_order(shop, 2)
    oid, amount = order["id"], order["total"]
    require(shop.stock(product) == 8, "stock should be 8 while PAID, is %s" % shop.stock(product))
    r = shop.req("POST", "/orders/%s/cancel" % oid, token=t).expect(200, what="owner cancels a PAID order")
    pay = payment_of(r.json)
    require(r.json.get("status") == "CANCELLED" and pay.get("refundedAmount") == amount,
            "cancel of a PAID order: expected CANCELLED with payment.refundedAmount %d in the answer, got %s" % (amount, r.describe()))
    require(shop.stock(product) == 10, "the cancelled order's stock was not returned: %s" % shop.stock(product))
    shop.req("POST", "/orders/%s/cancel" % oid, token=shop.admin).expect_error(409, "invalid_transition", "cancelling it again (admin)")
    time.sleep(2.5)  # a sweep or two
    sim = shop.inspect(t, pid)
    require(sim["refunds"] == [amount], "expected one refund of %d in the simulator, got %s" % (amount, short(sim)))
    o = shop.order(t, oid)
    require(o["status"] == "CANCELLED" and payment_of(o).get("refundedAmount") == amount,
            "GET /orders/{id}: expected CANCELLED with refundedAmount %d, got %s" % (amount, short(o)))
    require(shop.stock(product) == 10, "stock should be 10 (returned once), is %s" % shop.stock(product))
    return "200 CANCELLED with refundedAmount %d in the answer; stock back once; one refund; second cancel 409" % amount


def check_cancel_pending(shop):
    t = shop.shopper
    product = shop.create_product(10)
    order = shop.place_order(t, product, 3)
    oid = order["id"]
    p = shop.start_payment(t, oid)
    pid = p["paymentId"]
    r = shop.req("POST", "/orders/%s/cancel" % oid, token=t).expect(200, what="owner cancels a PENDING_PAYMENT order")
    require(r.json.get("status") == "CANCELLED", "cancel: expected CANCELLED, got " + r.describe())
    require(shop.stock(product) == 10, "the cancelled order's stock was not returned: %s" % shop.stock(product))
    sim = shop.inspect(t, pid)
    require(sim["payment"]["status"] == "canceled" and "payment_intent.canceled" in sim["events"],
            "the open payment should be canceled at the gateway, simulator shows %s" % short(sim))
    shop.confirm(t, pid, CARD_OK).expect_error(409, "payment_intent_unexpected_state", "confirming the canceled payment")
    shop.req("POST", "/payment", {"orderId": oid}, t).expect_error(409, "order_not_payable", "POST /payment on a CANCELLED order")
    o = shop.wait_order(t, oid, lambda o: payment_of(o).get("status") == "canceled",
                        "payment.status canceled on GET /orders/%s" % oid)
    require(o["status"] == "CANCELLED" and shop.stock(product) == 10, "order %s / stock %s" % (short(o), shop.stock(product)))
    return "200 CANCELLED, stock back, the payment canceled at the gateway (confirm 409, POST /payment 409 order_not_payable)"


def check_fulfil(shop):
    product, order, pid = paid_order(shop, 1)
    oid = order["id"]
    shop.req("POST", "/orders/%s/fulfil" % oid, token=shop.shopper).expect_error(403, "forbidden", "fulfil by the owner")
    r = shop.req("POST", "/orders/%s/fulfil" % oid, token=shop.admin).expect(200, what="admin fulfils a PAID order")
    require(r.json.get("status") == "FULFILLED" and payment_of(r.json).get("status") == "succeeded",
            "fulfil: expected FULFILLED with its succeeded payment, got " + r.describe())
    shop.req("POST", "/orders/%s/cancel" % oid, token=shop.admin).expect_error(409, "invalid_transition", "cancelling a FULFILLED order")
    require(shop.stock(product) == 9, "stock should stay 9, is %s" % shop.stock(product))
    require(shop.inspect(shop.admin, pid)["refunds"] == [], "a FULFILLED order's payment was refunded")
    return "admin fulfil -> FULFILLED (owner 403); cancel then 409; stock kept, no refund"


# 5. a late success after expiry ------------------------------------------------------------------------

def wait_delivered(shop, relay, payment_id, what, timeout=20.0, need=None):
    """Waits until the simulator has delivered every event it has for the payment (and `need`)."""
    deadline = time.time() + timeout
    while True:
        sim = shop.inspect(shop.admin, payment_id)
        if sim["delivered"] >= len(sim["events"]) and (need is None or need(sim)):
            return sim
        if time.time() > deadline:
            raise CheckFailed("%s: not within %.0f s; simulator: %s; relay saw: %s"
                              % (what, timeout, short(sim), relay_summary(relay, payment_id)))
        time.sleep(0.2)


def relay_summary(relay, intent):
    return ", ".join("%s %s->%s" % (r[3], r[4], r[5]) for r in relay.records_for(intent)) or "nothing"


def check_late_success(shop, relay, ttl):
    t = shop.shopper
    product = shop.create_product(10, price=3300)
    order = shop.place_order(t, product, 2)
    oid = order["id"]
    p = shop.start_payment(t, oid)
    pid = p["paymentId"]
    relay.hold(pid)
    shop.confirm(t, pid, CARD_OK).expect(200, what="confirm 4242 before expiry")
    o = shop.order(t, oid)
    require(o["status"] == "PENDING_PAYMENT", "with the webhook held back the order should still be PENDING_PAYMENT: " + short(o))
    expired = shop.wait_order(t, oid, lambda o: o["status"] != "PENDING_PAYMENT",
                              "the sweep to expire order %s (TTL %d s)" % (oid, ttl), timeout=ttl + 12)
    require(expired["status"] == "CANCELLED",
            "with the success held back, the expired order should be CANCELLED, got " + short(expired))
    require(any(r[3] == "payment_intent.succeeded" for r in relay.records_for(pid)),
            "the relay has not yet seen the simulator's payment_intent.succeeded: " + relay_summary(relay, pid))
    deadline = time.time() + 3
    while shop.stock(product) != 10 and time.time() < deadline:
        time.sleep(0.1)
    require(shop.stock(product) == 10, "the expired order's stock was not returned: %s" % shop.stock(product))
    before_release = shop.inspect(shop.admin, pid)
    relay.release(pid)
    sim = wait_delivered(shop, relay, pid, "the held-back success to be delivered after the release",
                         need=lambda s: s["delivered"] >= 1 and len(s["refunds"]) >= 1)
    forwarded = [r for r in relay.records_for(pid) if r[3] == "payment_intent.succeeded" and r[4] == "forward"]
    require(forwarded and forwarded[0][5] == 200,
            "the late payment_intent.succeeded was not accepted by the server: " + relay_summary(relay, pid))
    time.sleep(2.5)  # the sweep (1 s) might retry a refund
    sim = shop.inspect(shop.admin, pid)
    final = shop.order(t, oid)
    amount = order["total"]
    require(sim["refunds"] == [amount],
            "expected exactly one refund of %d, simulator shows %s (before the release: %s)" % (amount, short(sim), short(before_release["refunds"])))
    require(final["status"] == "CANCELLED" and payment_of(final).get("refundedAmount") == amount,
            "expected CANCELLED with payment.refundedAmount %d, got %s" % (amount, short(final)))
    require(shop.stock(product) == 10, "stock should be back to 10 exactly once, is %s" % shop.stock(product))
    when = "before" if before_release["refunds"] else "after"
    return ("confirmed, expired by the sweep (stock back), success delivered late -> one refund of %d (refund made %s the release), "
            "order CANCELLED, stock 10" % (amount, when))


# 6. races ------------------------------------------------------------------------------------------------

class Race:
    def __init__(self, shop, relay, rounds):
        self.shop, self.relay, self.rounds = shop, relay, rounds
        self.product = None
        self.initial = rounds + 5
        self.items = []  # (order id, payment id, amount)
        self.answers = collections.defaultdict(collections.Counter)
        self.problems = []

    def send_success(self, event):
        raw = encode_event(event)
        statuses = []
        for delay in (0.2, 0.4, 0.8, 0):  # like Stripe, retry a non-2xx answer
            r = self.shop.webhook(raw, sign(self.shop.server.secret, raw))
            statuses.append(r.status)
            if 200 <= r.status < 300 or not delay:
                break
            time.sleep(delay)
        return statuses, r

    def run(self):
        shop = self.shop
        self.product = shop.create_product(self.initial, price=999)
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=3)
        try:
            for n in range(self.rounds):
                order = shop.place_order(shop.shopper, self.product, 1)
                p = shop.start_payment(shop.shopper, order["id"])
                pid = p["paymentId"]
                self.relay.hold(pid)
                shop.confirm(shop.shopper, pid, CARD_OK).expect(200, what="round %d: confirm 4242" % n)
                sim = shop.inspect(shop.shopper, pid)["payment"]
                require(sim["status"] == "succeeded", "round %d: the simulator's payment is not succeeded: %s" % (n, short(sim)))
                self.items.append((order["id"], pid, order["total"]))
                event = intent_event("payment_intent.succeeded", sim)
                barrier = threading.Barrier(3, timeout=20)

                def webhook():
                    barrier.wait()
                    return self.send_success(event)

                def cancel(token):
                    barrier.wait()
                    return shop.req("POST", "/orders/%s/cancel" % order["id"], token=token)

                futures = {"webhook": pool.submit(webhook), "owner cancel": pool.submit(cancel, shop.shopper),
                           "admin cancel": pool.submit(cancel, shop.admin)}
                for name, f in futures.items():
                    try:
                        result = f.result(timeout=60)
                    except Exception as e:  # noqa: BLE001
                        self.answers[name]["error"] += 1
                        self.problems.append("round %d %s: %s" % (n, name, e))
                        continue
                    if name == "webhook":
                        statuses, last = result
                        self.answers[name]["/".join(map(str, statuses))] += 1
                        if not 200 <= last.status < 300:
                            self.problems.append("round %d webhook never accepted: %s" % (n, last.describe()))
                        elif any(st >= 500 and st != 503 for st in statuses):
                            # A 503 (busy) is for the sender to retry; a 500 is a server error.
                            self.problems.append("round %d webhook answered %s before 2xx" % (n, statuses))
                    else:
                        key = "%d %s" % (result.status, result.error_code or "")
                        if result.status == 200 and (payment_of(result.json).get("refundedAmount") or 0) > 0:
                            key = "200 refunded"  # the answer already shows the refund
                        self.answers[name][key.strip()] += 1
                        if result.status >= 500 and result.error_code != "busy":
                            self.problems.append("round %d %s: %s" % (n, name, result.describe()))
                        if result.status == 200 and result.json.get("status") != "CANCELLED":
                            self.problems.append("round %d %s answered 200 but not CANCELLED: %s" % (n, name, result.describe()))
        finally:
            pool.shutdown(wait=True)

    def evaluate(self):
        shop = self.shop
        statuses = collections.Counter()
        double_refunds, lost_money, paid_refunded, stuck = [], [], [], []
        for oid, pid, amount in self.items:
            o = shop.order(shop.admin, oid)
            sim = shop.inspect(shop.admin, pid)
            statuses[o["status"]] += 1
            refunded = sum(sim["refunds"])
            if len(sim["refunds"]) > 1 or refunded > amount:
                double_refunds.append("%s refunds %s" % (pid, sim["refunds"]))
            if o["status"] == "CANCELLED" and sim["payment"]["status"] == "succeeded" and refunded == 0:
                lost_money.append("order %s CANCELLED, %s succeeded, no refund" % (oid, pid))
            if o["status"] in ("PAID", "FULFILLED") and refunded > 0:
                paid_refunded.append("order %s %s but %s refunded %s" % (oid, o["status"], pid, sim["refunds"]))
            if o["status"] == "PENDING_PAYMENT":
                stuck.append(oid)
        kept = statuses["PAID"] + statuses["FULFILLED"]
        stock = shop.stock(self.product)
        expected = self.initial - kept
        return {"statuses": statuses, "stock": stock, "expected": expected, "double_transitions": max(stock - expected, 0),
                "stock_lost": max(expected - stock, 0), "double_refunds": double_refunds, "lost_money": lost_money,
                "paid_refunded": paid_refunded, "stuck": stuck}


def race_report(race, e):
    counts = ("%d rounds; double transitions %d, double refunds %d, lost money %d "
              "(stock %d, expected %d; final orders %s; paid-but-refunded %d, still pending %d)"
              % (len(race.items), e["double_transitions"], len(e["double_refunds"]), len(e["lost_money"]), e["stock"],
                 e["expected"], dict(e["statuses"]), len(e["paid_refunded"]), len(e["stuck"])))
    bad = (e["double_transitions"] or e["stock_lost"] or e["double_refunds"] or e["lost_money"] or e["paid_refunded"]
           or e["stuck"])
    if bad:
        examples = (e["double_refunds"][:3] + e["lost_money"][:3] + e["paid_refunded"][:3]
                    + ["still PENDING_PAYMENT: %s" % o for o in e["stuck"][:3]])
        if e["stock_lost"]:
            examples.append("stock lost: %d" % e["stock_lost"])
        raise CheckFailed(counts + "\n#   " + "\n#   ".join(examples))
    return counts


def check_race(race):
    race.run()
    say("# races: answers %s" % {k: dict(v) for k, v in race.answers.items()})
    time.sleep(3)  # let the sweep retry refunds still due
    e = race.evaluate()
    report = race_report(race, e)
    if race.problems:
        raise CheckFailed("%s; but unexpected answers:\n#   %s" % (report, "\n#   ".join(race.problems[:8])))
    return report


def check_race_after_release(race):
    require(race.items, "the race did not run")
    race.relay.release()
    shop = race.shop
    deadline = time.time() + 20
    pending = list(race.items)
    while pending and time.time() < deadline:
        left = []
        for item in pending:
            sim = shop.inspect(shop.admin, item[1])
            if sim["delivered"] < len(sim["events"]):
                left.append(item)
        pending = left
        if pending:
            time.sleep(0.5)
    # Events the simulator gave up on (5 tries over ~15 s) are never delivered; that is fine here.
    time.sleep(3)
    e = race.evaluate()
    return race_report(race, e) + "; %d of %d payments with every event delivered late" % (len(race.items) - len(pending), len(race.items))


# 7. a webhook endpoint that is down and then recovers -----------------------------------------------------

def check_recovering_endpoint(shop, relay, failures):
    t = shop.shopper
    product = shop.create_product(5)
    order = shop.place_order(t, product, 1)
    oid = order["id"]
    p = shop.start_payment(t, oid)
    pid = p["paymentId"]
    relay.fail_first(pid, failures)
    started = time.time()
    shop.confirm(t, pid, CARD_OK).expect(200, what="confirm 4242")
    shop.wait_status(t, oid, "PAID", timeout=25)
    took = time.time() - started
    sim = wait_delivered(shop, relay, pid, "every event delivered", timeout=10)
    require(sim["delivered"] >= 1, "simulator delivered %s: %s" % (sim["delivered"], short(sim)))
    records = [r for r in relay.records_for(pid) if r[3] == "payment_intent.succeeded"]
    actions = [(r[4], r[5]) for r in records]
    require(len(records) >= failures + 1 and all(a == ("fail", 503) for a in actions[:failures]) and actions[failures] == ("forward", 200),
            "expected %d refused tries then one forwarded with 200, the relay saw %s" % (failures, actions))
    eid = records[0][2]
    tries = ", ".join("%+.1f s %s" % (r[0] - started, r[5]) for r in records)
    lines = shop.server.log_text().splitlines()
    mine = [ln for ln in lines if eid and eid in ln]
    scope = mine if mine else lines
    retry = [i for i, ln in enumerate(scope) if "webhook delivery failed; will retry" in ln]
    delivered = [i for i, ln in enumerate(scope) if "webhook delivered" in ln]
    require(retry and delivered and delivered[-1] > retry[0],
            'server log: expected "webhook delivery failed; will retry" then "webhook delivered"%s; found %d and %d such lines'
            % (" for event " + eid if mine else "", len(retry), len(delivered)))
    return "%d tries refused with 503, then delivered (tries after confirm: %s); PAID after %.1f s; delivered=%d; log has retry then delivered%s" % (
        failures, tries, took, sim["delivered"], " for " + eid if mine else "")


# 10. (extra, from the delivery rules) events not delivered before a restart -----------------------------

def check_restart_delivery(shop, relay):
    t = shop.shopper
    product = shop.create_product(5)
    order = shop.place_order(t, product, 1)
    oid = order["id"]
    pid = shop.start_payment(t, oid)["paymentId"]
    relay.hold(pid)
    shop.confirm(t, pid, CARD_OK).expect(200, what="confirm 4242")
    deadline = time.time() + 5
    while not relay.records_for(pid) and time.time() < deadline:
        time.sleep(0.1)
    require(relay.records_for(pid), "the simulator did not try to deliver within 5 s")
    require(shop.order(t, oid)["status"] == "PENDING_PAYMENT", "the order moved while its webhook was held back")
    shop.server.restart()
    shop.base = shop.server.base
    relay.target = shop.base + "/payment/webhook"
    relay.release(pid)
    restarted = time.time()
    shop.wait_status(t, oid, "PAID", timeout=20)
    sim = wait_delivered(shop, relay, pid, "every event delivered after the restart", timeout=10)
    require(shop.stock(product) == 4, "stock should be 4, is %s" % shop.stock(product))
    return "held back, server restarted, delivered after the start -> PAID %.1f s after the restart (delivered=%d)" % (
        time.time() - restarted, sim["delivered"])


# 8. checkouts per second ------------------------------------------------------------------------------

def check_bench(shop, seconds, threads):
    product = shop.create_product(1_000_000, price=500)
    tokens = [shop.register("bench%d" % i) for i in range(threads)]
    stop_at = time.time() + seconds
    lock = threading.Lock()
    done, errors, examples = [0], [0], []

    def worker(token):
        while time.time() < stop_at:
            try:
                order = shop.place_order(token, product, 1)
                p = shop.start_payment(token, order["id"])
                r = shop.confirm(token, p["paymentId"], CARD_OK).expect(200, what="confirm")
                shop.wait_status(token, order["id"], "PAID")
                with lock:
                    done[0] += 1
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors[0] += 1
                    if len(examples) < 3:
                        examples.append(str(e))

    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(worker, tokens))
    elapsed = time.time() - started
    rate = done[0] / elapsed if elapsed else 0.0
    say("checkouts/s: %.1f (%d checkouts, %d errors, %d threads, %.1f s)" % (rate, done[0], errors[0], threads, elapsed))
    require(done[0] > 0 and errors[0] == 0, "%d checkouts, %d errors: %s" % (done[0], errors[0], "; ".join(examples)))
    return "%.1f checkouts/s (%d in %.1f s with %d threads, 0 errors)" % (rate, done[0], elapsed, threads)


# --- main --------------------------------------------------------------------------------------------

def run_store(args):
    store = args.store
    binary = os.environ.get("SHOP_BIN") or os.path.join(ROOT, ".build", "debug", "shop")
    if not os.path.isabs(binary):
        binary = os.path.join(ROOT, binary)
    runner = Runner(store, args.only)
    workdir = tempfile.mkdtemp(prefix="shop-payments-e2e-%s-" % store)
    servers, relays = [], []
    moto = None
    started = time.time()
    say("# payments e2e (%s): binary %s, work dir %s" % (store, binary, workdir))
    try:
        moto_endpoint = None
        if store == "dynamodb":
            moto = Moto(workdir)
            moto.start()
            moto_endpoint = moto.endpoint
            say("# moto at %s%s" % (moto_endpoint, "" if moto.pid else " (SHOP_TEST_MOTO_ENDPOINT)"))

        def new_server(name, ttl=None, relay=None):
            secret = "whsec_" + secrets.token_hex(16)
            s = Server(name, binary, store, workdir, secret, moto_endpoint, ttl, relay.url if relay else None)
            servers.append(s)
            s.start()
            if relay is not None:
                relay.target = s.base + "/payment/webhook"
            shop = Shop(s)
            shop.setup_accounts()
            say("# server %s at %s%s" % (name, s.base, " (webhooks through %s)" % relay.url if relay else ""))
            return shop

        def setup(name, fn):
            try:
                return fn()
            except CheckFailed as e:
                runner.not_ok("setup of server %s: %s" % (name, e), servers[-1] if servers else None)
                return None

        need_a = any(runner.wanted(n) for n in (1, 2, 3, 4, 9)) or args.bench > 0
        need_b = any(runner.wanted(n) for n in (6, 7, 10))
        need_c = runner.wanted(5)

        # Server A: the simulator delivers to the server itself.
        a = setup("A", lambda: new_server("A")) if need_a else None
        if a:
            sa = a.server
            runner.check(1, "GET /payment/config", sa, check_config, a)
            runner.check(1, "card 4242 pays the order", sa, check_card_ok, a)
            runner.check(1, "another user's order or payment", sa, check_ownership, a)
            runner.check(1, "card 4000000000000002 (generic_decline) then 4242", sa, check_decline, a, CARD_GENERIC_DECLINE, "generic_decline")
            runner.check(1, "card 4000000000009995 (insufficient_funds) then 4242", sa, check_decline, a, CARD_INSUFFICIENT_FUNDS, "insufficient_funds")
            runner.check(1, "card failing the Luhn check", sa, check_invalid_card, a, CARD_BAD_LUHN, False, "card.number")
            runner.check(1, "expired card", sa, check_invalid_card, a, CARD_OK, True, "card.expYear")
            runner.check(2, "3-D Secure card, authentication approved", sa, check_3ds, a, True)
            runner.check(2, "3-D Secure card, authentication failed", sa, check_3ds, a, False)
            if runner.wanted(3):
                subject = None
                try:
                    subject = SignatureSubject(a)
                except CheckFailed as e:
                    runner.not_ok("3. webhook signatures: setup: %s" % e, sa)
                if subject:
                    for variant in ("forged v1", "signed with another secret", "stale timestamp (now-400)",
                                    "future timestamp (now+400)", "missing Stripe-Signature", "body changed after signing"):
                        runner.check(3, "webhook " + variant, sa, check_bad_signature, subject, variant)
                    runner.check(3, "webhook with a valid signature", sa, check_good_signature, subject)
            runner.check(4, "replayed, duplicated and out-of-order events after a success", sa, check_replays_after_success, a)
            runner.check(4, "a success event before any confirm", sa, check_success_before_confirm, a)
            runner.check(9, "extra: the owner cancels a PAID order", sa, check_cancel_paid, a)
            runner.check(9, "extra: the owner cancels a PENDING_PAYMENT order with an open payment", sa, check_cancel_pending, a)
            runner.check(9, "extra: the admin fulfils a PAID order", sa, check_fulfil, a)
            if args.bench > 0:
                runner.check(8, "checkout benchmark (server's own webhook delivery)", sa, check_bench, a, args.bench, args.bench_threads)
            if not sa.alive():
                runner.not_ok("server A died during the run (exit %s)" % sa.proc.returncode, sa)

        # Server B: webhooks through a relay; races, and an endpoint that is down then recovers.
        if need_b:
            relay_b = Relay("B")
            relays.append(relay_b)
            b = setup("B", lambda: new_server("B", relay=relay_b))
            if b:
                sb = b.server
                race = Race(b, relay_b, args.rounds)
                raced = runner.check(6, "races: webhook vs owner cancel vs admin cancel (simulator delivery held back)", sb, check_race, race) \
                    if runner.wanted(6) else None
                relay_b.release()
                runner.check(7, "webhook endpoint down for 2 tries, then up", sb, check_recovering_endpoint, b, relay_b, 2)
                if raced:
                    runner.check(6, "races, after the held-back simulator events are released", sb, check_race_after_release, race)
                runner.check(10, "extra: an event held back over a restart is delivered after the next start", sb,
                             check_restart_delivery, b, relay_b)
                if not sb.alive():
                    runner.not_ok("server B died during the run (exit %s)" % sb.proc.returncode, sb)

        # Server C: short TTL, webhooks through a relay; a success that arrives after expiry.
        if need_c:
            relay_c = Relay("C")
            relays.append(relay_c)
            ttl = 4
            c = setup("C", lambda: new_server("C", ttl=ttl, relay=relay_c))
            if c:
                runner.check(5, "late success after expiry (TTL %d s, success held back by the relay)" % ttl, c.server,
                             check_late_success, c, relay_c, ttl)
                if not c.server.alive():
                    runner.not_ok("server C died during the run (exit %s)" % c.server.proc.returncode, c.server)
    except CheckFailed as e:
        runner.not_ok("setup: %s" % e, servers[-1] if servers else None)
    except KeyboardInterrupt:
        runner.not_ok("interrupted")
    finally:
        for s in servers:
            try:
                s.stop()
            except Exception as e:  # noqa: BLE001
                say("# could not stop server %s: %s" % (s.name, e))
        for r in relays:
            r.close()
        if moto is not None:
            moto.stop()
        if args.keep or runner.failed:
            say("# logs kept in %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    say("# %s run took %.1f s" % (store, time.time() - started))
    say("payments (%s): %d passed, %d failed" % (store, runner.passed, runner.failed))
    return runner.failed == 0


def _terminate(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def main(argv):
    global VERBOSE
    signal.signal(signal.SIGTERM, _terminate)
    parser = argparse.ArgumentParser(description="End-to-end payments test against a real `shop serve`.")
    parser.add_argument("--store", choices=["sqlite", "dynamodb"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=30, help="race rounds (default 30)")
    parser.add_argument("--bench", type=float, default=0, metavar="SECONDS", help="run the checkout benchmark for SECONDS")
    parser.add_argument("--bench-threads", type=int, default=4)
    parser.add_argument("--only", default=None, help="comma-separated check numbers to run (1-8 as in the brief; 9, 10 extra)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, data)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    VERBOSE = args.verbose
    if args.only:
        try:
            args.only = {int(x) for x in args.only.split(",") if x.strip()}
        except ValueError:
            parser.error("--only takes numbers, e.g. 1,3,6")
        if 8 in args.only and args.bench <= 0:
            parser.error("check 8 needs --bench SECONDS")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return 0 if run_store(args) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
