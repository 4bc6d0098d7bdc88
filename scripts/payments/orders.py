"""Check 9 (extra, from the lifecycle rules): cancelling paid and pending orders, fulfilling a paid one."""
import time

from payments.common import CARD_OK, payment_of, require, short


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
