"""Shared by the payments end-to-end checks: the order every check places (Oregon, standard shipping), the test
cards, output (`say`), and the failure every check raises (`CheckFailed`, `require`)."""
import datetime
import json
import threading


HTTP_TIMEOUT = 15.0
PAID_TIMEOUT = 10.0

# Every order ships to Oregon by standard shipping (issue 18). With the built-in store settings Oregon has no
# sales tax and standard costs 500, free from a subtotal of 5000, so an order's total is its subtotal plus that.
SHIPPING_ADDRESS = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Portland", "region": "OR",
                    "postalCode": "97201", "country": "US"}
SHIPPING_METHOD = "standard"
STANDARD_PRICE, STANDARD_FREE_OVER = 500, 5000


def expected_total(lines):
    """The money rules for an untaxed destination by standard: subtotal (sum of unitPrice x quantity) + shipping."""
    subtotal = sum(line["unitPrice"] * line["quantity"] for line in lines)
    return subtotal + (0 if subtotal >= STANDARD_FREE_OVER else STANDARD_PRICE)


CARD_OK = "4242424242424242"
CARD_GENERIC_DECLINE = "4000000000000002"
CARD_INSUFFICIENT_FUNDS = "4000000000009995"
CARD_3DS = "4000002500003155"
CARD_BAD_LUHN = "4242424242424241"

TABLES = ("PRODUCTS", "ORDERS", "IDEMPOTENCY", "USERS", "PAYMENTS", "PAYMENT_EVENTS")

_print_lock = threading.Lock()
VERBOSE = False


def say(line=""):
    with _print_lock:
        print(line, flush=True)


def debug(line):
    if VERBOSE:
        say("# " + line)


class CheckFailed(Exception):
    pass


def require(condition, message):
    if not condition:
        raise CheckFailed(message)


def card(number, expired=False):
    year = datetime.date.today().year
    if expired:
        return {"number": number, "expMonth": 1, "expYear": year - 1, "cvc": "123"}
    return {"number": number, "expMonth": 12, "expYear": year + 3, "cvc": "123"}


def short(data, limit=1500):
    if isinstance(data, (bytes, bytearray)):
        data = data.decode("utf-8", "replace")
    if not isinstance(data, str):
        data = json.dumps(data, sort_keys=True)
    return data if len(data) <= limit else data[:limit] + "...(%d more chars)" % (len(data) - limit)


def payment_of(order):
    return order.get("payment") or {}
