"""Checks 3 and 4: webhook signatures (forged, stale, missing, changed) and replayed, duplicated and out-of-order
events."""
import json
import secrets
import time

from payments.common import CARD_OK, payment_of, require, short
from payments.stripe_events import encode_event, event_id, intent_event, sign


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
