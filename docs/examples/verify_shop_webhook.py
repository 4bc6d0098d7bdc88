"""Verifies a ServerlessShop webhook (docs/EVENTS.md, "Verifying a webhook"). Standard library only.

    python verify_shop_webhook.py 8000    # a receiver on :8000 that needs SHOP_EVENTS_WEBHOOK_SECRET set
"""
import hashlib
import hmac
import json
import time


def verify(payload: bytes, header: str, secret: str, tolerance=300) -> dict:
    """The event in `payload` (the raw request body, unparsed) if `header` (the Shop-Signature header) signs it
    with `secret` and was made within `tolerance` seconds of now; raises ValueError otherwise."""
    timestamp, signatures = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value.encode("ascii", "replace"))
    if timestamp is None or not (timestamp.isascii() and timestamp.isdigit()) or not signatures:
        raise ValueError("malformed Shop-Signature header")
    signed = timestamp.encode() + b"." + payload
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest().encode()
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise ValueError("no valid signature")
    if abs(time.time() - int(timestamp)) > tolerance:
        raise ValueError("timestamp outside the tolerance")
    return json.loads(payload)


if __name__ == "__main__":
    import http.server, os, sys

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                event = verify(body, self.headers.get("Shop-Signature", ""), os.environ["SHOP_EVENTS_WEBHOOK_SECRET"])
            except ValueError as e:
                self.send_response(400)  # not from the shop, or replayed late: reject
                self.end_headers()
                self.wfile.write(str(e).encode())
                return
            # Delivery is at least once: act on each event id once (e.g. a unique key in your database).
            print(event["id"], event["type"], event["orderId"], flush=True)
            self.send_response(204)
            self.end_headers()

    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()
