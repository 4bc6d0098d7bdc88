"""Check 8: checkouts per second (place, pay, wait for PAID) from several shoppers at once."""
import concurrent.futures
import threading
import time

from payments.common import CARD_OK, require, say


def check_bench(shop, seconds, threads):
    product = shop.create_product(1_000_000, price=500)
    tokens = [shop.register("bench%d" % i) for i in range(threads)]
    stop_at = time.time() + seconds
    lock = threading.Lock()
    done, errors, examples = [0], [0], []

    def worker(token):
        while time.time() < stop_at:
            try:
                order = shop.place_order(token, product, 1)
                p = shop.start_payment(token, order["id"])
                r = shop.confirm(token, p["paymentId"], CARD_OK).expect(200, what="confirm")
                shop.wait_status(token, order["id"], "PAID")
                with lock:
                    done[0] += 1
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors[0] += 1
                    if len(examples) < 3:
                        examples.append(str(e))

    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(worker, tokens))
    elapsed = time.time() - started
    rate = done[0] / elapsed if elapsed else 0.0
    say("checkouts/s: %.1f (%d checkouts, %d errors, %d threads, %.1f s)" % (rate, done[0], errors[0], threads, elapsed))
    require(done[0] > 0 and errors[0] == 0, "%d checkouts, %d errors: %s" % (done[0], errors[0], "; ".join(examples)))
    return "%.1f checkouts/s (%d in %.1f s with %d threads, 0 errors)" % (rate, done[0], elapsed, threads)
