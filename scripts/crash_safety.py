#!/usr/bin/env python3
"""Crash safety of `shop serve` on SQLite: orders are placed under load while the server is killed with
SIGKILL at random moments, several rounds, restarting it each time on the same data directory.

After every restart: every order that was answered 201 exists (no data lost), and for the product,
stock + units in non-cancelled orders = the initial stock (nothing oversold, nothing taken twice). Orders ship
to Oregon by standard; each 201's total must be subtotal + shipping (no tax there), and no order may be refused
with a 4xx other than 409.
Prints one line per round and ends with "crash: N passed, M failed".
Usage: scripts/crash_safety.py [--rounds 5] [--binary .build/debug/shop]
"""
import argparse, json, os, random, shutil, signal, subprocess, sys, tempfile, threading, time, urllib.error, urllib.request

from shoptest import start_serve  # scripts/shoptest.py; scripts/ is on sys.path when run as a script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STOCK = 100_000
PRICE = 1000
# Every order ships to Oregon by standard (issue 18): no tax there with the built-in settings, and standard
# costs 500, free from a subtotal of 5000.
SHIPPING = {"shippingAddress": {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Portland", "region": "OR",
                                "postalCode": "97201", "country": "US"},
            "shippingMethodId": "standard"}


def expected_total(units):
    subtotal = PRICE * units
    return subtotal + (0 if subtotal >= 5000 else 500)


def call(base, method, path, body=None, token=None, timeout=10):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Server:
    def __init__(self, binary, data_dir):
        self.binary, self.data_dir = binary, data_dir
        self.process = None

    def start(self):
        env = dict(os.environ, SHOP_BCRYPT_COST="4", SHOP_MAX_OPEN_ORDERS="0",
                   SHOP_AUTH_RATE_LIMIT_PER_MINUTE="0", SHOP_LOGIN_ACCOUNT_RATE_LIMIT_PER_MINUTE="0",
                   SHOP_MAX_UNITS_PER_LINE="1000", SHOP_ORDER_TTL_SECONDS="86400", SHOP_LOG_LEVEL="notice")
        self.process, self.base = start_serve(self.binary, self.data_dir, env, os.path.join(self.data_dir, "server.log"), timeout=30)
        return self.base

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--binary", default=os.environ.get("SHOP_BIN", os.path.join(ROOT, ".build", "debug", "shop")))
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="crash-")
    subprocess.run([args.binary, "admin", "create", "--email", "admin@example.com", "--password", "Adm1n-passw0rd", "--data-dir", data],
                   check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, SHOP_BCRYPT_COST="4"))
    server = Server(args.binary, data)
    try:
        run(server, args.rounds)
    finally:
        server.kill()
        shutil.rmtree(data, ignore_errors=True)


def run(server, rounds):
    base = server.start()
    admin = call(base, "POST", "/auth/login", {"email": "admin@example.com", "password": "Adm1n-passw0rd"})[1]["accessToken"]
    status, product = call(base, "POST", "/products", {"name": "Crash kettle", "price": PRICE, "category": "test", "quantity": STOCK}, admin)
    assert status == 201, product
    shoppers = []
    for i in range(4):
        call(base, "POST", "/auth/register", {"email": f"crash{i}@example.com", "password": "Passw0rd!", "name": "Crash"})
        shoppers.append(call(base, "POST", "/auth/login", {"email": f"crash{i}@example.com", "password": "Passw0rd!"})[1]["accessToken"])
    acknowledged = {}  # order id -> units, for every 201
    wrong = []  # answers no load or crash explains: a refused body (4xx other than 409) or a total off the money rules
    lock = threading.Lock()
    passed = failed = 0
    for round_number in range(1, rounds + 1):
        stop = threading.Event()

        def place(token):
            while not stop.is_set():
                units = random.randint(1, 5)
                try:
                    status, order = call(server.base, "POST", "/orders",
                                         {"lines": [{"productId": product["id"], "quantity": units}], **SHIPPING}, token, timeout=5)
                except Exception:
                    continue  # the server died mid-request: not acknowledged
                if 400 <= status < 500 and status != 409:
                    with lock:
                        wrong.append(f"HTTP {status}: {order}")
                if status == 201:
                    with lock:
                        acknowledged[order["id"]] = units
                        if order.get("total") != expected_total(units):
                            wrong.append(f"order {order['id']} of {units} x {PRICE}: total {order.get('total')}, expected {expected_total(units)}")
                    if random.random() < 0.2:  # some cancels, so stock also comes back under fire
                        try:
                            call(server.base, "POST", f"/orders/{order['id']}/cancel", token=token, timeout=5)
                        except Exception:
                            pass

        threads = [threading.Thread(target=place, args=(token,)) for token in shoppers]
        for thread in threads:
            thread.start()
        time.sleep(random.uniform(0.5, 2.0))
        server.kill()  # SIGKILL, mid-load
        stop.set()
        for thread in threads:
            thread.join()
        base = server.start()
        admin = call(base, "POST", "/auth/login", {"email": "admin@example.com", "password": "Adm1n-passw0rd"})[1]["accessToken"]
        lost = [oid for oid in acknowledged if call(base, "GET", f"/orders/{oid}", token=admin)[0] != 200]
        stock = call(base, "GET", f"/products/{product['id']}")[1]["quantity"]
        held = 0
        cursor = None
        while True:
            path = "/orders?all=true&limit=100" + (f"&cursor={cursor}" if cursor else "")
            page = call(base, "GET", path, token=admin)[1]
            held += sum(line["quantity"] for order in page["items"] if order["status"] != "CANCELLED" for line in order["lines"])
            cursor = page["nextCursor"]
            if not cursor:
                break
        ok = not lost and stock + held == STOCK and not wrong and bool(acknowledged)
        passed += ok
        failed += not ok
        print(f"{'ok' if ok else 'not ok'} - round {round_number}: {len(acknowledged)} orders acknowledged so far, lost {len(lost)}; "
              f"stock {stock} + held {held} = {stock + held} (initial {STOCK})"
              + (f"; {len(wrong)} wrong answers, first: {wrong[0]}" if wrong else "")
              + ("" if acknowledged else "; no order was placed at all"), flush=True)
        wrong.clear()
    print(f"crash: {passed} passed, {failed} failed")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
