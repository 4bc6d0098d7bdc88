#!/usr/bin/env python3
"""The DynamoDB capacity model of docs/DYNAMODB.md: per-partition load of the current key design.

For a steady rate of orders a second, it walks through one simulated second of traffic (seeded, so the
figures in the doc can be reproduced): each order is placed, and a share of them is paid, cancelled or
left to expire, each shopper browses product pages first. Every request is turned into the DynamoDB
writes and reads the store makes for it (DynamoDBStore, as scripts/stack-test records them), and every
write is also charged to each global secondary index whose key the item has (all indexes project ALL,
so any change to an indexed item rewrites its index entry; a key change is a delete plus a put).
The load is summed per partition key value and compared with DynamoDB's per-partition ceilings:
1,000 write units and 3,000 read units a second. Monotonic sort keys (creation time, expiry) send every
new entry of one partition key to the same end of it, so DynamoDB's split-for-heat cannot spread them:
one key value is one partition here.

  python3 scripts/capacity_model.py [--rates 100,1000,10000] [--products 500] [--seed 1] [--before]
      [--shards 16] [--catalog-projection keys|all] [--listing-cache-hit 0.0]
"""
import argparse, collections, math, random, zlib

WRITE_LIMIT, READ_LIMIT = 1000, 3000  # units a second per partition

# Item sizes in KB (rounded up per write: 1 write unit per KB, 1 read unit per 4 KB strongly consistent).
ORDER_KB, PRODUCT_KB, SMALL_KB = 1, 1, 1
PAGE_KB = 20 * 0.5  # a page of 20 products of about 0.5 KB

# What happens to an order after it is placed (shares of orders).
OUTCOMES = {"paid_and_fulfilled": 0.80, "cancelled": 0.05, "expired": 0.15}
PAGES_PER_ORDER = 5        # product list pages a shopper reads before ordering
PRODUCT_VIEWS_PER_ORDER = 3
LINES_PER_ORDER = 2
# The design (defaults: as DynamoDBStore and the template are now; --before: as they were):
# --shards N: the order listing keys (ByCreated ORDER#n, ByStatus and Due <status>#n) over N values by a hash of the order id;
# --catalog-projection keys|all: ByCatalog/ByCategory hold only keys (a sale does not rewrite them; a page then reads
#   its products with a consistent BatchGetItem) or every attribute;
# --listing-cache-hit R: the share of product list pages answered by a cache in front of the API (not built).
SHARDS = 16
LISTING_CACHE_HIT = 0.0
CATALOG_WITHOUT_STOCK = True


def shard(value, entity):
    return value if SHARDS == 1 else f"{value}#{zlib.crc32(str(entity).encode()) % SHARDS}"


class Load:
    def __init__(self):
        self.writes = collections.Counter()
        self.reads = collections.Counter()

    def write(self, where, units):
        self.writes[where] += units

    def read(self, where, units):
        self.reads[where] += units


def order_item_writes(load, status_from, status_to, order, transactional=True):
    """An order item written with a new status: the base item and every index entry it touches."""
    units = ORDER_KB * (2 if transactional else 1)
    load.write(("Orders", "OrderID", order), units)
    load.write(("Orders.ByCreated", "Kind", shard("ORDER", order)), ORDER_KB)           # ALL projection: rewritten on every change
    load.write(("Orders.ByUser", "UserID", "user-of-" + order), ORDER_KB)
    for status in filter(None, {status_from, status_to}):
        # A status change moves the entry between partitions of ByStatus and ByUserStatus: a delete and a put.
        load.write(("Orders.ByStatus", "Status", shard(status, order)), ORDER_KB)
        load.write(("Orders.ByUserStatus", "UserStatus", "user#" + status), ORDER_KB / 1000)  # spread over users
    if "PENDING_PAYMENT" in (status_from, status_to):
        load.write(("Orders.Due", "Status", shard("PENDING_PAYMENT", order)), ORDER_KB)  # enters at placing, leaves on any change


def product_stock_write(load, product):
    """A stock change: the product item (in a transaction) and both listing indexes that project it."""
    load.write(("Products", "ProductID", product), PRODUCT_KB * 2)
    if not CATALOG_WITHOUT_STOCK:
        load.write(("Products.ByCatalog", "Catalog", "P"), PRODUCT_KB)
        load.write(("Products.ByCategory", "Category", "category-of-" + product), PRODUCT_KB)


def simulate(rate, products, rng):
    load = Load()
    # Product popularity: Zipf-like (the first product is the best seller).
    weights = [1 / (rank + 1) for rank in range(products)]
    categories = max(1, products // 25)
    for n in range(rate):
        order = f"o{n}"
        lines = rng.choices(range(products), weights=weights, k=LINES_PER_ORDER)
        # Browsing: list pages (eventually consistent GSI queries) and product pages (consistent GetItem).
        for _ in range(PAGES_PER_ORDER):
            if rng.random() < LISTING_CACHE_HIT:
                continue  # answered by the cache
            index_page_kb = 1 if CATALOG_WITHOUT_STOCK else PAGE_KB  # 20 keys, or 20 whole products
            if rng.random() < 0.5:
                load.read(("Products.ByCatalog", "Catalog", "P"), math.ceil(index_page_kb / 4) * 0.5)
            else:
                load.read(("Products.ByCategory", "Category", f"category-of-p{rng.randrange(categories)}"), math.ceil(index_page_kb / 4) * 0.5)
            if CATALOG_WITHOUT_STOCK:
                for _ in range(20):  # the page's products: a consistent BatchGetItem
                    load.read(("Products", "ProductID", f"p{rng.randrange(products)}"), 1)
        for product in rng.choices(range(products), weights=weights, k=PRODUCT_VIEWS_PER_ORDER):
            load.read(("Products", "ProductID", f"p{product}"), 1)
        # Placing: BatchGetItem of the lines, then one transaction (stock per line, order, open counter, idempotency key).
        for product in lines:
            load.read(("Products", "ProductID", f"p{product}"), 1)
            product_stock_write(load, f"p{product}")
        order_item_writes(load, None, "PENDING_PAYMENT", order)
        load.write(("Orders", "OrderID", "OPEN#user-of-" + order), SMALL_KB * 2)
        load.write(("Idempotency", "IdempotencyKey", order), SMALL_KB * 2)
        outcome = rng.choices(list(OUTCOMES), weights=list(OUTCOMES.values()))[0]
        if outcome == "paid_and_fulfilled":
            load.write(("Payments", "PaymentID", "pay-" + order), SMALL_KB)       # the payment record
            load.write(("PaymentEvents", "EventID", "evt-" + order), SMALL_KB)    # the webhook, once
            order_item_writes(load, "PENDING_PAYMENT", "PAID", order)             # payOrder
            load.write(("Orders", "OrderID", "OPEN#user-of-" + order), SMALL_KB * 2)
            order_item_writes(load, "PAID", "FULFILLED", order)                   # fulfil
        else:
            order_item_writes(load, "PENDING_PAYMENT", "CANCELLED", order)        # cancel or expiry
            load.write(("Orders", "OrderID", "OPEN#user-of-" + order), SMALL_KB * 2)
            for product in lines:
                product_stock_write(load, f"p{product}")                           # stock goes back
    # The sweep, once a minute: a Due query and a RefundDue query (negligible).
    return load


def report(rate, load):
    rows = []
    for kind, counter, limit in (("write", load.writes, WRITE_LIMIT), ("read", load.reads, READ_LIMIT)):
        for where, units in counter.items():
            rows.append((units / limit, kind, where, units))
    rows.sort(reverse=True)
    print(f"\n{rate:,} orders a second: the eight busiest partition keys")
    print(f"  {'share of limit':>14}  {'kind':5}  {'units/s':>9}  partition key")
    for share, kind, (table, key, value), units in rows[:8]:
        print(f"  {share:>13.0%}  {kind:5}  {units:>9,.0f}  {table} {key}={value}")
    over = [r for r in rows if r[0] > 1]
    total_w = sum(load.writes.values())
    total_r = sum(load.reads.values())
    print(f"  total: {total_w:,.0f} write units/s, {total_r:,.0f} read units/s; "
          f"{len(over)} partition key(s) over their limit" + (f", first: {over[0][2][0]} {over[0][2][1]}={over[0][2][2]}" if over else ""))
    return over


def first_limit(products, seed):
    """The order rate at which the first partition key reaches its limit (bisection over whole rates)."""
    low, high = 1, 20000
    while low < high:
        mid = (low + high) // 2
        if any(units > (WRITE_LIMIT if kind == "w" else READ_LIMIT)
               for kind, counter in (("w", simulate(mid, products, random.Random(seed)).writes),
                                     ("r", simulate(mid, products, random.Random(seed)).reads))
               for units in counter.values()):
            high = mid
        else:
            low = mid + 1
    load = simulate(low, products, random.Random(seed))
    worst = max([(u / WRITE_LIMIT, "write", w) for w, u in load.writes.items()]
                + [(u / READ_LIMIT, "read", w) for w, u in load.reads.items()])
    return low, worst


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="100,1000,10000")
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shards", type=int, default=16, help="spread the order listing keys over N values")
    parser.add_argument("--catalog-projection", choices=["keys", "all"], default="keys")
    parser.add_argument("--listing-cache-hit", type=float, default=0.0, help="share of product list pages a cache answers")
    parser.add_argument("--before", action="store_true", help="the design before: --shards 1 --catalog-projection all")
    args = parser.parse_args()
    global SHARDS, LISTING_CACHE_HIT, CATALOG_WITHOUT_STOCK
    SHARDS, LISTING_CACHE_HIT, CATALOG_WITHOUT_STOCK = args.shards, args.listing_cache_hit, args.catalog_projection == "keys"
    if args.before:
        SHARDS, CATALOG_WITHOUT_STOCK = 1, False
    print(f"model: {args.products} products (Zipf popularity), {LINES_PER_ORDER} lines an order, "
          f"{PAGES_PER_ORDER} list pages and {PRODUCT_VIEWS_PER_ORDER} product views an order, outcomes {OUTCOMES}, "
          f"order listing keys in {SHARDS} shard(s), listing cache hit {LISTING_CACHE_HIT:.0%}, "
          f"catalog indexes {'keys only' if CATALOG_WITHOUT_STOCK else 'with every attribute'}")
    for rate in (int(r) for r in args.rates.split(",")):
        report(rate, simulate(rate, args.products, random.Random(args.seed)))
    rate, (share, kind, (table, key, value)) = first_limit(args.products, args.seed)
    print(f"\nfirst limit: at {rate:,} orders a second, {table} {key}={value} ({kind}s) reaches its partition's ceiling")


main()
