"""Webhook delivery: 5, a success that arrives after the order expired; 7, an endpoint that is down and then
recovers; 10 (extra), events held back over a restart delivered after the next start."""
import time

from payments.common import CARD_OK, CheckFailed, payment_of, require, short


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
