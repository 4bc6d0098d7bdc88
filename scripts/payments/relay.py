"""`Relay`: an endpoint between the simulator's webhook deliveries and a server, holding events back or failing them on
request (servers B and C of a run)."""
import http.server
import json
import threading
import time

from payments.api import http_request
from payments.common import CheckFailed


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
