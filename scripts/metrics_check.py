#!/usr/bin/env python3
"""`shop serve`'s Prometheus metrics (SHOP_METRICS_ADDRESS), as an operator scrapes them (issue 21).

    .venv/bin/python scripts/metrics_check.py --binary .build/debug/shop [--promtool /usr/bin/promtool] [--keep]

Starts the real binary with SHOP_METRICS_ADDRESS=127.0.0.1:0 (the listener logs its port), then: an admin and a shopper
sign in; orders are placed, paid with the simulator's test cards, declined, cancelled by the shopper and by the admin
(a refund), fulfilled, and refused for stock; `traceparent` is sent valid, invalid and not at all. Checks that the
counters moved by exactly what was done, that the answers carry the trace context, that the metrics are only on their
own port, that `promtool check metrics` (Debian's prometheus package) exits 0 on a scrape, and that 1,000 distinct
unknown paths add no series (they are all `route="unmatched"`).
Prints "ok name" / "FAIL name detail" per check, then "metrics-check: N passed, M failed"; exits 1 on a failure.
A missing promtool is a failure, never a skip (scripts/test installs it with apt-get first).
"""
import argparse, hashlib, hmac, json, os, re, secrets, shutil, subprocess, sys, tempfile, time, urllib.error, urllib.request

from shoptest import METRICS_LISTEN_RE, Checks, start_serve  # scripts/shoptest.py

OREGON = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Portland", "region": "OR", "postalCode": "97201", "country": "US"}
YEAR = time.gmtime().tm_year + 3
CARD_OK = {"number": "4242424242424242", "expMonth": 12, "expYear": YEAR, "cvc": "123"}
CARD_DECLINED = {"number": "4000000000000002", "expMonth": 12, "expYear": YEAR, "cvc": "123"}  # generic_decline
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = "00-%s-00f067aa0ba902b7-01" % TRACE_ID
TRACEPARENT_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Failed(Exception):
    pass


# --- Prometheus's text format ---------------------------------------------------------------------------------------------

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, frozenset(labels)): value} of every sample."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE_RE.match(line)
        if not match:
            raise Failed("unparsable sample line: %r" % line)
        labels = frozenset(LABEL_RE.findall(match.group(2) or ""))
        samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def value(samples, name, **labels):
    """The sample's value (0 when the series does not exist yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


# --- the shop -------------------------------------------------------------------------------------------------------------

class Shop:
    def __init__(self, binary, workdir):
        self.binary, self.data = binary, os.path.join(workdir, "data")
        self.log = os.path.join(workdir, "server.log")
        self.webhook_secret = "whsec_" + secrets.token_hex(8)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOP_", "AWS_"))}
        env.update(SHOP_BCRYPT_COST="4", SHOP_STORE="sqlite", SHOP_PAYMENTS="simulated", SHOP_PAYMENTS_WEBHOOK_SECRET=self.webhook_secret,
                   SHOP_AUTH_RATE_LIMIT_PER_MINUTE="0", SHOP_LOGIN_ACCOUNT_RATE_LIMIT_PER_MINUTE="0", SHOP_MAX_OPEN_ORDERS="0",
                   SHOP_DATA_DIR=self.data, SHOP_METRICS_ADDRESS="127.0.0.1:0", SHOP_MAIL="off")
        self.env = env
        os.makedirs(self.data, exist_ok=True)
        self.process, self.base = start_serve(binary, self.data, env, self.log)
        self.metrics_url = self.wait_for_metrics_url()

    def wait_for_metrics_url(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            match = METRICS_LISTEN_RE.search(open(self.log, encoding="utf-8", errors="replace").read())
            if match:
                return match.group(1)
            time.sleep(0.05)
        raise Failed("no 'metrics listening on http://HOST:PORT/metrics' line in %s" % self.log)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def request(self, method, path, body=None, token=None, headers=None, raw=None):
        """(status, headers, parsed JSON body or None)."""
        all_headers = dict(headers or {})
        data = raw
        if body is not None:
            all_headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        if token:
            all_headers["Authorization"] = "Bearer " + token
        request = urllib.request.Request(self.base + path, data, all_headers, method=method)
        try:
            with NO_PROXY.open(request, timeout=30) as r:
                status, answer_headers, content = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, answer_headers, content = e.code, e.headers, e.read()
        try:
            parsed = json.loads(content) if content else None
        except ValueError:
            parsed = None
        return status, answer_headers, parsed

    def ok(self, method, path, body=None, token=None, want=(200, 201)):
        status, _, answer = self.request(method, path, body, token)
        if status not in want:
            raise Failed("%s %s: HTTP %d %s" % (method, path, status, json.dumps(answer)[:400]))
        return answer

    def scrape(self):
        with NO_PROXY.open(self.metrics_url, timeout=10) as r:
            return r.headers.get("Content-Type", ""), r.read().decode()

    def login(self, email, password):
        answer = self.ok("POST", "/auth/login", {"email": email, "password": password})
        return answer.get("idToken") or answer["accessToken"]

    def order(self, token, product, quantity=1, want=(201,)):
        status, _, answer = self.request("POST", "/orders", {"lines": [{"productId": product, "quantity": quantity}],
                                                             "shippingAddress": OREGON, "shippingMethodId": "standard"}, token)
        if status not in want:
            raise Failed("POST /orders: HTTP %d %s" % (status, json.dumps(answer)[:400]))
        return status, answer

    def pay(self, token, order_id, card):
        payment = self.ok("POST", "/payment", {"orderId": order_id}, token)
        status, _, answer = self.request("POST", "/payment/simulator/confirm", {"paymentId": payment["paymentId"], "card": card}, token)
        return status, answer


def wait_for(what, predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise Failed("%s: not within %d s" % (what, timeout))
        time.sleep(0.2)


def find_promtool(given):
    if given:
        return given if os.access(given, os.X_OK) else None
    return shutil.which("promtool") or next((p for p in ["/usr/bin/promtool", "/usr/local/bin/promtool"] if os.access(p, os.X_OK)), None)


def run(check, shop, promtool):
    # --- the metrics are on their own port only -------------------------------------------------------------------------
    status, _, _ = shop.request("GET", "/metrics")
    check("GET /metrics on the store's public port is a 404 (metrics only on SHOP_METRICS_ADDRESS)", status == 404, status)
    content_type, text = shop.scrape()
    check("the metrics listener answers Prometheus's text format", content_type.startswith("text/plain") and "version=0.0.4" in content_type,
          content_type)
    before = parse(text)
    check("the public GET /metrics was counted as route=\"unmatched\" (no raw path as a label)",
          value(before, "shop_http_requests_total", route="unmatched", method="GET", status_class="4xx") == 1
          and not any(("route", "/metrics") in labels for _, labels in before), text_of(before)[:800])

    # --- a shopper's and an admin's day ---------------------------------------------------------------------------------
    admin_email, admin_password = "admin-%s@example.test" % secrets.token_hex(3), "Adm1n-" + secrets.token_hex(6)
    subprocess.run([shop.binary, "admin", "create", "--email", admin_email, "--password", admin_password, "--data-dir", shop.data],
                   env=shop.env, check=True, capture_output=True, timeout=120)
    admin = shop.login(admin_email, admin_password)
    email, password = "shopper-%s@example.test" % secrets.token_hex(3), "Sh0p-" + secrets.token_hex(6)
    shop.ok("POST", "/auth/register", {"email": email, "password": password, "name": "Shopper"})
    shopper = shop.login(email, password)
    product = shop.ok("POST", "/products", {"name": "Metered mug", "description": "metrics", "price": 1500, "currency": "USD",
                                            "category": "metrics", "quantity": 6}, admin)["id"]
    for _ in range(3):
        shop.ok("GET", "/products/" + product)

    def paid(order_id):
        return shop.ok("GET", "/orders/" + order_id, token=shopper)["status"] == "PAID"

    _, fulfilled = shop.order(shopper, product)                  # placed, paid, fulfilled
    status, answer = shop.pay(shopper, fulfilled["id"], CARD_OK)
    check("pay with 4242: confirm 200", status == 200, answer)
    wait_for("order PAID", lambda: paid(fulfilled["id"]))
    shop.ok("POST", "/orders/%s/fulfil" % fulfilled["id"], {"carrier": "UPS", "trackingNumber": "1Z999AA10123456784"}, admin)

    _, refunded = shop.order(shopper, product)                   # placed, paid, cancelled by the admin: a refund
    shop.pay(shopper, refunded["id"], CARD_OK)
    wait_for("order PAID", lambda: paid(refunded["id"]))
    shop.ok("POST", "/orders/%s/cancel" % refunded["id"], token=admin)

    _, cancelled = shop.order(shopper, product)                  # placed, cancelled by the shopper
    shop.ok("POST", "/orders/%s/cancel" % cancelled["id"], token=shopper)

    _, declined = shop.order(shopper, product)                   # placed, the card declined
    status, answer = shop.pay(shopper, declined["id"], CARD_DECLINED)
    check("pay with 4000 0000 0000 0002: declined (402)", status == 402, (status, answer))

    status, answer = shop.order(shopper, product, quantity=20, want=(409,))  # refused for stock
    check("an order beyond the stock: 409 out_of_stock", (answer or {}).get("error", {}).get("code") == "out_of_stock", answer)

    # The webhooks (paid, failed, refunded) arrive from the simulator's delivery loop: wait for the last ones.
    def settled():
        now = parse(shop.scrape()[1])
        return now if (value(now, "shop_payments_failed_total", code="generic_decline") - value(before, "shop_payments_failed_total", code="generic_decline") >= 1
                       and value(now, "shop_refunds_total", outcome="sent") - value(before, "shop_refunds_total", outcome="sent") >= 1) else None
    try:
        after = wait_for("the declined payment's and the refund's counters", settled)
    except Failed as error:
        check("webhook-driven counters moved", False, error)
        after = parse(shop.scrape()[1])

    def moved(name, expected, **labels):
        delta = value(after, name, **labels) - value(before, name, **labels)
        shown = "%s{%s}" % (name, ",".join('%s="%s"' % kv for kv in sorted(labels.items())))
        check("%s moved by %g" % (shown, expected), delta == expected, "moved by %g" % delta)

    moved("shop_orders_placed_total", 4)
    moved("shop_orders_paid_total", 2)
    moved("shop_orders_cancelled_total", 1, reason="shopper")
    moved("shop_orders_cancelled_total", 1, reason="admin")
    moved("shop_orders_cancelled_total", 0, reason="expiry")
    moved("shop_orders_fulfilled_total", 1)
    moved("shop_stock_outs_total", 1)
    moved("shop_payments_failed_total", 1, code="generic_decline")
    moved("shop_refunds_total", 1, outcome="sent")
    moved("shop_http_requests_total", 3, route="/products/{id}", method="GET", status_class="2xx")
    moved("shop_http_requests_total", 4, route="/orders", method="POST", status_class="2xx")
    moved("shop_http_requests_total", 1, route="/orders", method="POST", status_class="4xx")
    moved("shop_http_requests_total", 2, route="/orders/{id}/cancel", method="POST", status_class="2xx")
    moved("shop_http_request_duration_seconds_count", 4, route="/orders", method="POST", status_class="2xx")
    check("no series is labelled with an order id or a raw path",
          not any(o in text_of(after) for o in (fulfilled["id"], refunded["id"], cancelled["id"], declined["id"], product)), "")

    # --- traces ---------------------------------------------------------------------------------------------------------
    status, headers, _ = shop.request("GET", "/health", headers={"traceparent": TRACEPARENT})
    answer = TRACEPARENT_RE.match(headers.get("traceparent") or "")
    check("a valid traceparent is continued: same trace id, a new span id",
          answer is not None and answer.group(1) == TRACE_ID and answer.group(2) != "00f067aa0ba902b7", headers.get("traceparent"))
    status, headers, _ = shop.request("GET", "/health")
    answer = TRACEPARENT_RE.match(headers.get("traceparent") or "")
    check("without a traceparent the answer starts a trace", answer is not None and answer.group(1) != TRACE_ID, headers.get("traceparent"))
    invalid = "00-%s-00f067aa0ba902b7-01" % TRACE_ID.upper()
    status, headers, _ = shop.request("GET", "/health", headers={"traceparent": invalid})
    answer = TRACEPARENT_RE.match(headers.get("traceparent") or "")
    check("an invalid traceparent (upper-case hex) is ignored: a new trace", answer is not None and answer.group(1) != TRACE_ID.lower(),
          headers.get("traceparent"))
    # A request that logs (a webhook for a payment not known yet is a 503, logged with the request's metadata).
    trace_id = secrets.token_hex(16)
    event = json.dumps({"id": "evt_" + secrets.token_hex(8), "object": "event", "type": "payment_intent.payment_failed",
                        "created": int(time.time()), "data": {"object": {"id": "pi_" + secrets.token_hex(8), "object": "payment_intent",
                                                                         "status": "requires_payment_method"}}}).encode()
    stamp = str(int(time.time()))
    signature = hmac.new(shop.webhook_secret.encode(), stamp.encode() + b"." + event, hashlib.sha256).hexdigest()
    status, headers, _ = shop.request("POST", "/payment/webhook", raw=event, headers={
        "Content-Type": "application/json", "Stripe-Signature": "t=%s,v1=%s" % (stamp, signature),
        "traceparent": "00-%s-1111111111111111-01" % trace_id})
    log = open(shop.log, encoding="utf-8", errors="replace").read()
    logged = [line for line in log.splitlines() if "request failed" in line and trace_id in line]
    check("the request's log line carries its trace id (trace_id=...)", status == 503 and any("trace_id" in line for line in logged),
          (status, logged[-1:] or log[-600:]))

    # --- promtool -------------------------------------------------------------------------------------------------------
    _, text = shop.scrape()
    if promtool is None:
        check("promtool is installed (Debian's prometheus package; scripts/test installs it)", False, "no promtool on PATH")
    else:
        result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
        check("promtool check metrics exits 0 on a scrape", result.returncode == 0,
              "exit %d: %s" % (result.returncode, (result.stdout + result.stderr)[:1500]))
    check("every metric has a HELP line", all(("# HELP %s " % name) in text for name in metric_names(text)), "")

    # --- cardinality ----------------------------------------------------------------------------------------------------
    baseline = parse(shop.scrape()[1])
    for i in range(1000):
        status, _, _ = shop.request("GET", "/no-such-page-%d/%s" % (i, secrets.token_hex(4)))
        if status != 404:
            check("unknown path %d answered 404" % i, False, status)
            break
    grown = parse(shop.scrape()[1])
    new_series = sorted(set(grown) - set(baseline), key=str)
    check("1,000 distinct unknown paths add no series", len(grown) == len(baseline) and not new_series,
          "%d -> %d series; new: %s" % (len(baseline), len(grown), new_series[:5]))
    moved_by = value(grown, "shop_http_requests_total", route="unmatched", method="GET", status_class="4xx") \
        - value(baseline, "shop_http_requests_total", route="unmatched", method="GET", status_class="4xx")
    check("... all counted under route=\"unmatched\"", moved_by == 1000, moved_by)


def text_of(samples):
    return "\n".join("%s %s" % (name, sorted(labels)) for name, labels in samples)


def metric_names(text):
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
    return names


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--promtool")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    check = Checks()
    promtool = find_promtool(args.promtool)
    workdir = tempfile.mkdtemp(prefix="metrics-check-")
    shop = None
    try:
        shop = Shop(args.binary, workdir)
        run(check, shop, promtool)
    except Exception as error:  # a crash is a failure, not a pass
        check("metrics-check ran to the end", False, "%r (server log: %s)" % (error, os.path.join(workdir, "server.log")))
        args.keep = True
    finally:
        if shop:
            shop.stop()
        if args.keep:
            print("kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    check.finish("metrics-check")


if __name__ == "__main__":
    main()
