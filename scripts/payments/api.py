"""The store's API as the checks call it: `http_request` (an answer as `Resp`) and `Shop`, a started server with an
admin and two shoppers, placing orders, paying them through the simulator's routes and waiting for their status."""
import http.client
import http.server
import json
import re
import secrets
import time
import urllib.error
import urllib.request
import uuid

from payments.common import CheckFailed, HTTP_TIMEOUT, PAID_TIMEOUT, SHIPPING_ADDRESS, SHIPPING_METHOD, card, expected_total, require, short
from payments.servers import run_tool
from payments.stripe_events import encode_event, sign


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
