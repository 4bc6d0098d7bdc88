"""Stripe events as the simulator (and Stripe) send them, and their Stripe-Signature."""
import hashlib
import hmac
import json
import secrets
import time


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
