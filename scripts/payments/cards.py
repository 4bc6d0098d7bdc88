"""Checks 1 and 2: test cards (success, declines, invalid cards, another user's order) and 3-D Secure."""
import json
import time

from payments.common import CARD_3DS, CARD_OK, STANDARD_PRICE, payment_of, require, short


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
