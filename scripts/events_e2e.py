#!/usr/bin/env python3
"""Order events end to end through the real `shop serve` (issue 19, docs/EVENTS.md): customer emails over SMTP to an
aiosmtpd server run here, signed webhooks to a receiver run here, GET /orders/{id}/events against the JSON Schemas.

    .venv/bin/python scripts/events_e2e.py --binary .build/debug/shop
    .venv/bin/python scripts/events_e2e.py --offline     # only what needs no server: h, the schemas, the two fakes

Checks (letters as in the brief): a confirmation; b shipping email; c cancellation and refund emails; d the mail server
down for 10 s; e kill -9 between commit and send; f GET /orders/{id}/events; g webhooks (signed, in order, retried);
h the documented verification example. Needs aiosmtpd and jsonschema (scripts/requirements-test.txt); without either it fails.
Prints "ok name" / "FAIL name detail" per check, then "events-e2e: N passed, M failed"; exits 1 on a failure.
Options: --keep (keep the temporary directory: server log, data dir), --settle S (how long to wait for duplicates).
"""
import argparse, email, email.policy, email.utils, glob, hashlib, hmac, http.server, json, os, re, secrets, shutil
import smtplib, subprocess, sys, tempfile, threading, time, urllib.error, urllib.request

from shoptest import Checks, free_port, start_serve  # scripts/shoptest.py; scripts/ is on sys.path when run as a script

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EXAMPLE = os.path.join(ROOT, "docs", "examples", "verify_shop_webhook.py")
sys.path.insert(0, os.path.dirname(EXAMPLE))
from verify_shop_webhook import verify  # noqa: E402  the documented receiver code, exactly as a user copies it

MAIL_FROM = "Shop <shop@example.test>"
WEB_URL = "http://shop.example.test"
OREGON = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Portland", "region": "OR", "postalCode": "97201", "country": "US"}
PRICE, SHIPPING = 1234, 500  # Oregon by standard: no tax, shipping 500 under 5000, so a total of 1734 ("$17.34")
TRACKING = "1Z999AA10123456784"
CARD = {"number": "4242424242424242", "expMonth": 12, "expYear": time.gmtime().tm_year + 3, "cvc": "123"}
SETTLE = 2.0  # seconds to wait after an email arrived before counting it "exactly once"


def order_number(order_id):
    """How a subject names an order. ShopMail's templates and the website use the id's last 8 characters (the first 8
    of a UUIDv7 are its time, shared by orders placed in the same minute): change this one line if that changes."""
    return order_id[-8:]


# Which template an email is, from a word of its subject, the first that matches (ShopMail's defaults: "Order 1a2b3c4d
# confirmed", "… has shipped", "… cancelled", "Refund for order …"; a cancellation may mention its refund).
SUBJECT_WORDS = [("order-cancelled", "cancel"), ("order-refunded", "refund"), ("order-shipped", "shipped"),
                 ("order-confirmation", "confirmed")]


class Failed(Exception):
    pass


def wait_for(what, predicate, timeout, interval=0.2):
    """Polls predicate() until it answers something truthy, which is returned; raises Failed after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failed("%s: not within %.0f s" % (what, timeout))
        time.sleep(interval)


# --- the SMTP server (aiosmtpd, in this process) ------------------------------------------------------------------------

class MailServer:
    """aiosmtpd on 127.0.0.1:port in a thread, keeping every message; stop() and start() again on the same port make an
    outage. `messages` holds dicts: raw bytes, envelope sender and recipients, the parsed message."""

    def __init__(self):
        self.port = free_port()
        self.messages = []
        self.lock = threading.Lock()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        with self.lock:
            self.messages.append({"raw": raw, "from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                  "msg": email.message_from_bytes(raw, policy=email.policy.default)})
        return "250 OK"

    def start(self):
        from aiosmtpd.controller import Controller
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True)
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    def for_order(self, order_id, template=None):
        with self.lock:
            found = [m for m in self.messages if order_number(order_id) in str(m["msg"]["Subject"] or "")]
        return [m for m in found if template is None or template_of(m) == template]


def template_of(message):
    subject = str(message["msg"]["Subject"] or "").lower()
    return next((name for name, word in SUBJECT_WORDS if word in subject), None)


def text_part(message):
    part = message["msg"].get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def message_id(message):
    return str(message["msg"]["Message-ID"] or "").strip()


# --- the webhook receiver ------------------------------------------------------------------------------------------------

class WebhookReceiver:
    """http.server on 127.0.0.1 in a thread. Every POST is checked with the documented `verify`; `arrivals` keeps, in
    arrival order, dicts: id, type, orderId, event, answered status, verify error, headers. fail_next(n) answers 500 to
    the next n (verified) deliveries."""

    def __init__(self, secret):
        self.secret, self.arrivals, self.lock, self.failures_left = secret, [], threading.Lock(), 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                record = {"path": self.path, "headers": dict(self.headers), "error": None, "event": None, "at": time.time()}
                try:
                    record["event"] = verify(body, self.headers.get("Shop-Signature", ""), receiver.secret)
                except ValueError as e:
                    record["error"] = str(e)
                event = record["event"] or {}
                record.update(id=event.get("id"), type=event.get("type"), orderId=event.get("orderId"))
                with receiver.lock:
                    status = 400 if record["error"] else 204
                    if status == 204 and receiver.failures_left > 0:
                        receiver.failures_left -= 1
                        status = 500
                    record["status"] = status
                    receiver.arrivals.append(record)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fail_next(self, n):
        with self.lock:
            self.failures_left = n

    def snapshot(self):
        with self.lock:
            return list(self.arrivals)

    def delivered_ids(self):
        return {a["id"] for a in self.snapshot() if a["status"] == 204}

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def sign(secret, body, t=None):
    t = int(time.time()) if t is None else t
    return "t=%d,v1=%s" % (t, hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256).hexdigest())


# --- the event schemas -------------------------------------------------------------------------------------------------

def load_validators():
    """{event type: Draft202012Validator} from docs/events/*.schema.json, all in one registry. Without jsonschema the
    run fails: the schema checks never pass by being skipped."""
    try:
        import jsonschema
        from referencing import Registry, Resource
    except ImportError:
        raise SystemExit("events-e2e: jsonschema is missing: scripts/venv installs it (scripts/requirements-test.txt)")
    schemas = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "docs", "events", "*.schema.json"))):
        with open(path) as f:
            schemas[os.path.basename(path)[:-len(".schema.json")]] = json.load(f)
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas.values())
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    return {name: jsonschema.Draft202012Validator(s, registry=registry) for name, s in schemas.items() if name != "order"}


def schema_errors(validators, event):
    """The event's problems against its type's schema (with `emails` and `webhook` of the API left out)."""
    event = {k: v for k, v in event.items() if k not in ("emails", "webhook")}
    validator = validators.get(event.get("type"))
    if validator is None:
        return ["no schema for type %r" % event.get("type")]
    return ["%s: %s" % ("/".join(map(str, e.absolute_path)) or "(top)", e.message) for e in validator.iter_errors(event)][:5]


def example_event(event_type="order.paid", status="PAID"):
    order = {"id": "0193a1c0-0000-7000-8000-000000000001", "userId": "0193a0ff-0000-7000-8000-000000000002",
             "lines": [{"productId": "p1", "variantId": "p1", "sku": "CUP-1", "options": {}, "name": "Cup", "unitPrice": 1234, "quantity": 1, "lineTotal": 1234, "tax": 0}],
             "subtotal": 1234, "shippingTotal": 500, "shippingTax": 0, "taxTotal": 0, "total": 1734, "currency": "USD",
             "status": status, "shippingAddress": dict(OREGON, line2=None, phone=None),
             "shippingMethod": {"id": "standard", "name": "Standard", "price": 500, "minDays": 3, "maxDays": 5},
             "shipment": None, "email": "ada@example.com", "createdAt": "2026-12-06T09:58:12.345Z",
             "updatedAt": "2026-12-06T10:00:00.000Z", "expiresAt": "2026-12-06T10:13:12.345Z"}
    return {"id": "evt_%s_2" % order["id"], "type": event_type, "version": 1, "occurredAt": "2026-12-06T10:00:00.000Z",
            "orderId": order["id"], "userId": order["userId"], "data": {"order": order}}


# --- checks that need no server ------------------------------------------------------------------------------------------

def check_offline(check, validators, mail, hook):
    # h. The doc's code block is the example file, and the example rejects what it should.
    with open(os.path.join(ROOT, "docs", "EVENTS.md"), "rb") as f:
        doc = f.read().decode()
    with open(EXAMPLE, "rb") as f:
        example = f.read().decode()
    blocks = re.findall(r"^### Verifying a webhook\n.*?^```python\n(.*?)^```$", doc, re.S | re.M)
    check("h: EVENTS.md's Python block is byte-identical to docs/examples/verify_shop_webhook.py",
          blocks == [example], "found %d block(s) under 'Verifying a webhook'" % len(blocks))
    secret, body = "whsec_" + secrets.token_hex(8), json.dumps(example_event()).encode()
    ok = verify(body, sign(secret, body), secret)
    check("h: verify() accepts a signed body and returns the event", ok == json.loads(body))
    for name, args in [("a tampered body", (body.replace(b"1734", b"1735"), sign(secret, body), secret)),
                       ("a wrong secret", (body, sign("whsec_wrong", body), secret)),
                       ("a timestamp 10 minutes old", (body, sign(secret, body, int(time.time()) - 600), secret)),
                       ("no header", (body, "", secret))]:
        try:
            verify(*args)
            check("h: verify() rejects %s" % name, False, "it accepted it")
        except ValueError:
            check("h: verify() rejects %s" % name, True)

    # The schemas: valid, and strict enough to catch a wrong shape.
    if validators is None:
        print("SKIP the schema checks: jsonschema is not installed (pip install jsonschema)")
    else:
        good = example_event()
        bad = {"status PENDING_PAYMENT in order.paid": lambda e: e["data"]["order"].update(status="PENDING_PAYMENT"),
               "an unknown top-level field": lambda e: e.update(extra=1),
               "an unknown field in data": lambda e: e["data"].update(payment={}),
               "no data.order.email": lambda e: e["data"]["order"].pop("email"),
               "a total as a string": lambda e: e["data"]["order"].update(total="17.34"),
               "occurredAt without milliseconds": lambda e: e.update(occurredAt="2026-12-06T10:00:00Z"),
               "type order.cancelled without cancelledBy": lambda e: (e.update(type="order.cancelled", id=e["id"][:-1] + "3"),
                                                                      e["data"]["order"].update(status="CANCELLED"))}
        check("schemas: a hand-made order.paid validates", not schema_errors(validators, good), schema_errors(validators, good))
        for name, mutate in bad.items():
            event = json.loads(json.dumps(good))
            mutate(event)
            check("schemas: reject %s" % name, bool(schema_errors(validators, event)))

    # The two fakes, before anything depends on them.
    sent = "From: a@example.test\r\nTo: b@example.test\r\nSubject: Order 12345678 confirmed\r\n\r\nhello\r\n"
    for round_ in ("", " (again, after a restart on the same port)"):
        if round_:
            mail.stop()
            mail.start()
        with smtplib.SMTP("127.0.0.1", mail.port, timeout=10) as smtp:
            smtp.sendmail("a@example.test", ["b@example.test"], sent)
    with mail.lock:
        got, mail.messages[:] = list(mail.messages), []
    check("the SMTP server receives smtplib's messages, also after a restart on the same port",
          len(got) == 2 and all(m["to"] == ["b@example.test"] and "12345678" in str(m["msg"]["Subject"]) for m in got), got)
    body = json.dumps(example_event()).encode()
    statuses = [post_status(hook.url, body, {"Shop-Signature": header}) for header in (sign(hook.secret, body), sign("whsec_wrong", body))]
    with hook.lock:
        arrivals, hook.arrivals[:] = list(hook.arrivals), []
    check("the webhook receiver accepts a signed request (204) and refuses a badly signed one (400)",
          statuses == [204, 400] and [a["id"] for a in arrivals] == [example_event()["id"], None], (statuses, arrivals))


def post_status(url, body, headers):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


# --- the shop ------------------------------------------------------------------------------------------------------------

class Shop:
    """`shop serve` on a temporary data directory, with its accounts; restartable (also after kill -9)."""

    def __init__(self, binary, workdir, mail, hook):
        self.binary, self.data = binary, os.path.join(workdir, "data")
        self.log = os.path.join(workdir, "server.log")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOP_", "AWS_"))}
        env.update(SHOP_BCRYPT_COST="4", SHOP_STORE="sqlite", SHOP_PAYMENTS="simulated",
                   SHOP_PAYMENTS_WEBHOOK_SECRET="whsec_" + secrets.token_hex(8), SHOP_AUTH_RATE_LIMIT_PER_MINUTE="0",
                   SHOP_LOGIN_ACCOUNT_RATE_LIMIT_PER_MINUTE="0", SHOP_MAX_OPEN_ORDERS="0", SHOP_SWEEP_INTERVAL_SECONDS="1",
                   SHOP_DATA_DIR=self.data, SHOP_MAIL="smtp", SHOP_SMTP_HOST="127.0.0.1", SHOP_SMTP_PORT=str(mail.port),
                   SHOP_SMTP_TLS="off", SHOP_MAIL_FROM=MAIL_FROM, SHOP_WEB_URL=WEB_URL, SHOP_MAIL_RETRY_BASE_SECONDS="1",
                   SHOP_EVENTS_WEBHOOK_URL=hook.url, SHOP_EVENTS_WEBHOOK_SECRET=hook.secret,
                   SHOP_EVENTS_WEBHOOK_RETRY_BASE_SECONDS="1")
        self.env, self.process, self.base = env, None, None
        os.makedirs(self.data, exist_ok=True)

    def start(self):
        self.process, self.base = start_serve(self.binary, self.data, self.env, self.log)

    def stop(self, kill=False):
        if self.process and self.process.poll() is None:
            (self.process.kill if kill else self.process.terminate)()
            self.process.wait(timeout=30)

    def call(self, method, path, body=None, token=None):
        """(status, parsed JSON body) of one request."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = "Bearer " + token
        request = urllib.request.Request(self.base + path, json.dumps(body).encode() if body is not None else None,
                                         headers, method=method)
        try:
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=30) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        return status, (json.loads(raw) if raw else None)

    def ok(self, method, path, body=None, token=None, want=(200, 201)):
        status, answer = self.call(method, path, body, token)
        if status not in want:
            raise Failed("%s %s: HTTP %d %s" % (method, path, status, json.dumps(answer)[:500]))
        return answer

    def login(self, mail_address, password):
        answer = self.ok("POST", "/auth/login", {"email": mail_address, "password": password})
        return answer.get("idToken") or answer["accessToken"]

    def setup(self):
        admin, password = "admin-%s@example.test" % secrets.token_hex(3), "Adm1n-" + secrets.token_hex(6)
        subprocess.run([self.binary, "admin", "create", "--email", admin, "--password", password, "--data-dir", self.data],
                       env=self.env, check=True, capture_output=True, timeout=120)
        self.admin = self.login(admin, password)
        self.shopper_email, self.shopper = self.register("shopper")
        self.other = self.register("other")[1]
        self.product = self.ok("POST", "/products", {"name": "Espresso cup", "description": "events e2e", "price": PRICE,
                                                     "currency": "USD", "category": "e2e", "quantity": 1000}, self.admin)["id"]

    def register(self, who):
        address, password = "%s-%s@example.test" % (who, secrets.token_hex(3)), "Sh0p-" + secrets.token_hex(6)
        self.ok("POST", "/auth/register", {"email": address, "password": password, "name": who.title()})
        return address, self.login(address, password)

    def place(self):
        return self.ok("POST", "/orders", {"lines": [{"productId": self.product, "quantity": 1}], "shippingAddress": OREGON,
                                           "shippingMethodId": "standard"}, self.shopper)["id"]

    def pay(self, order_id):
        payment = self.ok("POST", "/payment", {"orderId": order_id}, self.shopper)
        self.ok("POST", "/payment/simulator/confirm", {"paymentId": payment["paymentId"], "card": CARD}, self.shopper)
        wait_for("order %s PAID" % order_id, lambda: self.ok("GET", "/orders/" + order_id, token=self.shopper)["status"] == "PAID", 15)

    def paid_order(self):
        order_id = self.place()
        self.pay(order_id)
        return order_id

    def fulfil(self, order_id):
        self.ok("POST", "/orders/%s/fulfil" % order_id, {"carrier": "UPS", "trackingNumber": TRACKING,
                                                         "trackingUrl": "https://www.ups.com/track?tracknum=" + TRACKING}, self.admin)

    def events(self, order_id, token=None):
        return self.ok("GET", "/orders/%s/events" % order_id, token=token or self.admin)["items"]

    def email_state(self, order_id, template):
        """The admin's view of one email of an order: the first matching entry of any of its events, or None."""
        for event in self.events(order_id):
            for entry in event.get("emails", []):
                if entry.get("template") == template:
                    return entry
        return None


def arrived_once(check, name, mail, order_id, template, timeout, settle=SETTLE):
    """Waits for the order's `template` email, then `settle` s more, and checks there is exactly one. The message or None."""
    try:
        wait_for("the email", lambda: mail.for_order(order_id, template), timeout)
    except Failed as e:
        check(name, False, "%s (mail for the order: %s)" % (e, [str(m["msg"]["Subject"]) for m in mail.for_order(order_id)]))
        return None
    time.sleep(settle)
    got = mail.for_order(order_id, template)
    check(name, len(got) == 1, "%d copies: %s" % (len(got), [message_id(m) for m in got]))
    return got[0]


# --- checks through the server -------------------------------------------------------------------------------------------

def check_confirmation(check, shop, mail, settle):
    """a. One confirmation, well formed; no email for a placement."""
    order_id = shop.place()
    time.sleep(settle)
    check("a: no email for an unpaid placement", not mail.for_order(order_id), [str(m["msg"]["Subject"]) for m in mail.for_order(order_id)])
    shop.pay(order_id)
    m = arrived_once(check, "a: a paid order gets exactly one confirmation (subject names order %s)" % order_number(order_id),
                     mail, order_id, "order-confirmation", 15, settle)
    if m:
        msg, text = m["msg"], text_part(m)
        parts = [p.get_content_type() for p in msg.iter_parts()] if msg.is_multipart() else []
        total = "%d.%02d" % divmod(PRICE + SHIPPING, 100)
        check("a: to the shopper (envelope and To)", m["to"] == [shop.shopper_email] and shop.shopper_email in str(msg["To"]),
              (m["to"], str(msg["To"])))
        check("a: From is SHOP_MAIL_FROM", email.utils.parseaddr(str(msg["From"])) == email.utils.parseaddr(MAIL_FROM), str(msg["From"]))
        check("a: multipart/alternative with text/plain and text/html", msg.get_content_type() == "multipart/alternative"
              and "text/plain" in parts and "text/html" in parts, (msg.get_content_type(), parts))
        check("a: the text names the total (%s) and the city, and links to SHOP_WEB_URL" % total,
              total in text and OREGON["city"] in text and WEB_URL in text, text[:1500])
    return order_id


def check_shipped(check, shop, mail, order_id, settle):
    """b. Fulfilled with a tracking number: one shipping email with it."""
    shop.fulfil(order_id)
    m = arrived_once(check, "b: a fulfilled order gets exactly one shipping email", mail, order_id, "order-shipped", 15, settle)
    if m:
        check("b: it has the tracking number", TRACKING in text_part(m), text_part(m)[:1500])


def check_cancelled(check, shop, mail, settle):
    """c. A paid order cancelled: one cancellation email, and one refund email once the refund event exists."""
    order_id = shop.paid_order()
    arrived_once(check, "c: (its confirmation)", mail, order_id, "order-confirmation", 15, 0)
    shop.ok("POST", "/orders/%s/cancel" % order_id, token=shop.shopper)
    arrived_once(check, "c: a cancelled paid order gets exactly one cancellation email", mail, order_id, "order-cancelled", 15, settle)
    try:
        wait_for("an order.refunded event", lambda: any(e["type"] == "order.refunded" for e in shop.events(order_id)), 10)
    except Failed as e:  # then there may be no refund email, but never two
        check("c: an order.refunded event (the simulator refunds at once)", False, str(e))
        check("c: at most one refund email", len(mail.for_order(order_id, "order-refunded")) <= 1)
    else:
        arrived_once(check, "c: and exactly one refund email (order-refunded)", mail, order_id, "order-refunded", 15, settle)
    ids = [message_id(m) for m in mail.for_order(order_id)]
    check("c: its emails have distinct Message-IDs", len(set(ids)) == len(ids) and all(ids), ids)
    return order_id


def check_events_api(check, shop, validators, order_id, cancelled_id):
    """f. GET /orders/{id}/events: owner, other user, admin; every event against its schema."""
    def settled():  # the emails are recorded a moment after the server's 250
        items = shop.events(order_id, shop.shopper)
        return items if all(e.get("status") == "sent" for i in items for e in i.get("emails", [])) else None
    items = wait_for("the emails of %s recorded as sent" % order_id, settled, 10)
    check("f: owner: types oldest first are placed, paid, fulfilled",
          [i["type"] for i in items] == ["order.placed", "order.paid", "order.fulfilled"], [i["type"] for i in items])
    templates = [[(e.get("template"), e.get("to"), e.get("status")) for e in i.get("emails", [])] for i in items]
    check("f: owner: emails none, confirmation sent, shipped sent", templates == [
        [], [("order-confirmation", shop.shopper_email, "sent")], [("order-shipped", shop.shopper_email, "sent")]], templates)
    check("f: owner: no lastError and no webhook", not any("webhook" in i or any("lastError" in e for e in i["emails"]) for i in items))
    check("f: owner: every email has attempts >= 1", all(e.get("attempts", 0) >= 1 for i in items for e in i["emails"]), items)
    for i in items:
        key = i["id"].rsplit("_", 1)[-1]
        order = i.get("data", {}).get("order", {})
        check("f: %s: id evt_<orderId>_<key>, updatedAt = occurredAt, the order's email" % i["type"],
              i["id"] == "evt_%s_%s" % (order_id, key) and order.get("updatedAt") == i.get("occurredAt")
              and order.get("email") == shop.shopper_email and i.get("orderId") == order_id, json.dumps(i)[:1500])
    status, _ = shop.call("GET", "/orders/%s/events" % order_id, token=shop.other)
    check("f: another user gets 404", status == 404, status)
    admin = shop.events(order_id)
    check("f: admin: a webhook status on each event, lastError on each email",
          all(isinstance(i.get("webhook"), dict) and i["webhook"].get("status") in ("pending", "sent", "failed")
              and all("lastError" in e for e in i["emails"]) for i in admin), json.dumps(admin)[:1500])
    cancelled = shop.events(cancelled_id, shop.shopper)
    check("f: the cancelled order: placed, paid, cancelled (by the shopper, previously PAID), refunded",
          [i["type"] for i in cancelled] == ["order.placed", "order.paid", "order.cancelled", "order.refunded"]
          and cancelled[2]["data"].get("cancelledBy") == "shopper" and cancelled[2]["data"].get("previousStatus") == "PAID",
          json.dumps(cancelled)[:1500])
    if validators is not None:
        for i in items + cancelled:
            errors = schema_errors(validators, i)
            check("f: %s validates against docs/events/%s.schema.json" % (i["id"], i["type"]), not errors, errors)


def check_mail_outage(check, shop, mail, settle):
    """d. The mail server down for 10 s: the confirmation arrives after it returns, once."""
    order_id = shop.place()
    mail.stop()
    try:
        shop.pay(order_id)
        time.sleep(10)
        state = shop.email_state(order_id, "order-confirmation") or {}
        check("d: while the mail server is down the confirmation is pending, tried, with a lastError",
              state.get("status") == "pending" and state.get("attempts", 0) >= 1 and state.get("lastError"), state)
    finally:
        mail.start()
    arrived_once(check, "d: after the outage it arrives, exactly once", mail, order_id, "order-confirmation", 20, settle)
    return order_id


def check_kill9(check, shop, mail, settle):
    """e. kill -9 after the commit, before the send: the confirmation arrives after the restart (at most twice, one id)."""
    order_id = shop.place()
    mail.stop()
    try:
        shop.pay(order_id)
        def pending():
            state = shop.email_state(order_id, "order-confirmation") or {}
            return state.get("status") == "pending" and state.get("attempts", 0) >= 1 and state.get("lastError")
        wait_for("the confirmation pending, tried and failed (so the change committed)", pending, 15)
        shop.stop(kill=True)
    finally:
        mail.start()
    shop.start()
    # Normally within seconds; a send the kill interrupted is tried again once its 120 s lease ends.
    wait_for("the confirmation after the restart", lambda: mail.for_order(order_id, "order-confirmation"), 150)
    time.sleep(settle)
    got = mail.for_order(order_id, "order-confirmation")
    check("e: after kill -9 and a restart the confirmation arrives, at most twice and then with one Message-ID",
          1 <= len(got) <= 2 and len({message_id(m) for m in got}) == 1, [message_id(m) for m in got])
    return order_id


def wait_webhooks(shop, hook, order_ids, timeout):
    """Waits until every event of the orders was delivered to the receiver; {order id: its events (admin view)}."""
    def done():
        events = {o: shop.events(o) for o in order_ids}
        return events if {e["id"] for v in events.values() for e in v} <= hook.delivered_ids() else None
    return wait_for("every event delivered to the webhook", done, timeout, interval=0.5)


def check_webhook_order(check, hook, events, label):
    """g. Per order: no event was sent before the previous one (by key) had been delivered."""
    keys = {o: sorted(e["id"].rsplit("_", 1)[-1] for e in v) for o, v in events.items()}
    delivered, problems = {}, []
    for a in hook.snapshot():
        if a["orderId"] not in keys:
            continue
        key = a["id"].rsplit("_", 1)[-1]
        missing = [k for k in keys[a["orderId"]] if k < key and k not in delivered.get(a["orderId"], set())]
        if missing:
            problems.append("%s sent before %s was delivered" % (a["id"], missing))
        if a["status"] == 204:
            delivered.setdefault(a["orderId"], set()).add(key)
    check("g: %s: each order's events arrived in order (%d orders)" % (label, len(keys)), not problems, problems[:5])


def check_webhooks(check, shop, hook, validators, order_ids):
    events = wait_webhooks(shop, hook, order_ids, 30)
    arrivals = hook.snapshot()
    check("g: every POST verifies with the documented example", arrivals and all(a["error"] is None for a in arrivals),
          [a["error"] for a in arrivals if a["error"]][:5])
    check("g: every POST is to /hook with Content-Type application/json, Shop-Event-Id and Shop-Event-Type",
          all(a["path"] == "/hook" and a["headers"].get("Content-Type", "").startswith("application/json")
              and a["headers"].get("Shop-Event-Id") == a["id"] and a["headers"].get("Shop-Event-Type") == a["type"]
              for a in arrivals), [a["headers"] for a in arrivals][:3])
    check_webhook_order(check, hook, events, "all so far")
    if validators is not None:
        errors = {a["id"]: schema_errors(validators, a["event"]) for a in arrivals if a["event"]}
        check("g: every delivered event validates against its schema", not any(errors.values()),
              {k: v for k, v in errors.items() if v})
    # With the receiver failing the first 3 deliveries: all arrive, in order.
    wait_for("the receiver quiet for 2 s", lambda: not hook.snapshot() or time.time() - hook.snapshot()[-1]["at"] > 2, 10)
    hook.fail_next(3)
    order_id = shop.paid_order()
    shop.fulfil(order_id)
    failing = wait_webhooks(shop, hook, [order_id], 45)
    refused = [a for a in hook.snapshot() if a["status"] == 500]
    check("g: with the first 3 deliveries answered 500, all of the order's events still arrive", len(refused) == 3, refused)
    attempts = sum(e["webhook"]["attempts"] for e in failing[order_id])
    check("g: the admin sees the retries (attempts %d for %d events)" % (attempts, len(failing[order_id])),
          attempts >= len(failing[order_id]) + 3 and all(e["webhook"]["status"] == "sent" for e in failing[order_id]),
          [e["webhook"] for e in failing[order_id]])
    check_webhook_order(check, hook, failing, "after failures")
    return order_id


def check_no_duplicates(check, mail, killed_id):
    """Across the run: each (order, template) once (twice with one Message-ID for the kill -9 order); ids never repeat."""
    by_id, by_kind = {}, {}
    for m in mail.messages:
        by_id.setdefault(message_id(m), set()).add((str(m["msg"]["Subject"]), template_of(m)))
        by_kind.setdefault((str(m["msg"]["Subject"]), template_of(m)), []).append(message_id(m))
    dupes = {k: v for k, v in by_kind.items() if len(v) > 1 and not (order_number(killed_id) in k[0] and len(set(v)) == 1)}
    check("no email was sent twice over the run", not dupes, dupes)
    check("a Message-ID never names two emails", all(len(v) == 1 for v in by_id.values()) and "" not in by_id,
          {k: v for k, v in by_id.items() if len(v) > 1})


def step(check, name, fn, *args, needs=()):
    """Runs one step; one that cannot go on (a timeout, an unexpected answer) is one failure, and answers None.
    `needs`: what earlier steps answered; the step is skipped (a failure) when one of them failed."""
    if any(a is None for a in needs):
        check("%s: skipped, an earlier step failed" % name, False)
        return None
    try:
        return fn(check, *args)
    except Exception as e:  # noqa: BLE001
        check("%s: could not go on (%s)" % (name, type(e).__name__), False, str(e))
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=os.environ.get("SHOP_BIN", os.path.join(ROOT, ".build", "debug", "shop")))
    parser.add_argument("--offline", action="store_true", help="only the checks that need no server")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--settle", type=float, default=SETTLE)
    args = parser.parse_args()
    try:
        import aiosmtpd.controller  # noqa: F401
    except ImportError:
        sys.exit("events_e2e.py needs aiosmtpd (scripts/requirements-test.txt; ./scripts/venv installs it)")
    check, workdir, settle = Checks(), tempfile.mkdtemp(prefix="events-e2e-"), args.settle
    validators = load_validators()
    mail, hook, shop = MailServer(), WebhookReceiver("whsec_" + secrets.token_hex(16)), None
    mail.start()
    try:
        check_offline(check, validators, mail, hook)
        if not args.offline:
            shop = Shop(os.path.abspath(args.binary), workdir, mail, hook)
            shop.start()
            shop.setup()
            unpaid = shop.place()
            fulfilled = step(check, "a", check_confirmation, shop, mail, settle)
            step(check, "b", check_shipped, shop, mail, fulfilled, settle, needs=[fulfilled])
            cancelled = step(check, "c", check_cancelled, shop, mail, settle)
            step(check, "f", check_events_api, shop, validators, fulfilled, cancelled, needs=[fulfilled, cancelled])
            retried = step(check, "g", check_webhooks, shop, hook, validators, [o for o in (unpaid, fulfilled, cancelled) if o])
            outage = step(check, "d", check_mail_outage, shop, mail, settle)
            killed = step(check, "e", check_kill9, shop, mail, settle)
            orders = [o for o in (unpaid, fulfilled, cancelled, retried, outage, killed) if o]
            everything = step(check, "g (whole run)", lambda check: wait_webhooks(shop, hook, orders, 30))
            if everything:
                check_webhook_order(check, hook, everything, "the whole run, a kill -9 included")
            check("a: still no email for the unpaid order placed first", not mail.for_order(unpaid))
            check_no_duplicates(check, mail, killed or "-")
    except Exception as e:  # noqa: BLE001  the setup failed: one failure, with the reason
        check("the run went through (%s)" % type(e).__name__, False, str(e))
    finally:
        if shop:
            shop.stop()
        mail.stop()
        hook.stop()
    if check.failed and shop and os.path.exists(shop.log):
        with open(shop.log, errors="replace") as f:
            print("".join("# " + line for line in f.readlines()[-40:]), end="")
    if args.keep or check.failed:
        print("# kept %s" % workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    check.finish("events-e2e")


if __name__ == "__main__":
    main()
