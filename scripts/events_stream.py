"""Order events on AWS, as near as this machine gets (issue 19, "On AWS"; scripts/events-stream runs it).

The real pieces, on moto: the tables from `shop aws create-tables` (the Events table with its NEW_IMAGE stream), an
EventBridge bus with a rule forwarding `source: serverlessshop` to an SQS queue (how AWS's references test what reaches
a bus), a verified SES identity, and the `events` function (the debug ShopLambda, `_HANDLER=events`) under AWS's Lambda
Runtime Interface Emulator. Orders are placed, paid and fulfilled through `shop serve` (SHOP_STORE=dynamodb, simulated
payments), which stands in for the orders and payment functions: it reaches moto through a proxy that refuses it the
outbox's `Due` index, as those functions' roles do, so its own outbox worker cannot dispatch anything and every event
is left to the stream. The stream is read from moto as Lambda's poller reads it (DescribeStream, GetShardIterator,
GetRecords; a fresh iterator after the last sequence number on each poll: a cancelled transaction makes moto replace
the table, and an old iterator then sees nothing new), and its records are handed to the function as Lambda would.

Checks: each event reaches the bus (the queue) exactly once per invocation, with detail-type = its type, detail.id =
evt_<orderId>_<key> and detail.data.order.status; the Events table shows each event dispatched and its deliveries
planned and tried (the signed webhook to a receiver here, verified with docs/examples/verify_shop_webhook.py; the
shopper's emails through SES, read back from moto); `batchItemFailures` is empty; the same records again plan and send
nothing new; with a bus that does not exist, the records fail from the first on (their SequenceNumbers in
`batchItemFailures`), their events stay undispatched and nothing is sent, and a retry with the bus dispatches them.

The function runs under scripts/lambda_harness.py. Environment: SHOP_TEST_LAMBDA, SHOP_TEST_SHOP, SHOP_TEST_LOG_DIR; the
emulator and moto are SHOP_TEST_RIE and SHOP_TEST_MOTO_ENDPOINT (scripts/events-stream), else scripts/shoptest.py's.
Prints "ok name" / "FAIL name detail", then "events-stream: N passed, M failed"; exits 1 on a failure.
"""
import email, email.policy, email.utils, http.server, json, os, re, secrets, shutil, subprocess, sys, tempfile, threading, time
import urllib.error, urllib.parse, urllib.request, uuid

import boto3

import lambda_harness  # scripts/lambda_harness.py and scripts/shoptest.py (this script's folder is on sys.path)
import shoptest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "docs", "examples"))
from verify_shop_webhook import verify  # noqa: E402  the documented receiver code

LAMBDA = os.environ["SHOP_TEST_LAMBDA"]
SHOP = os.environ["SHOP_TEST_SHOP"]
LOG_DIR = os.environ.get("SHOP_TEST_LOG_DIR", os.path.join(ROOT, ".cache", "events-stream"))
os.makedirs(LOG_DIR, exist_ok=True)
MOTO = shoptest.moto_endpoint(os.path.join(LOG_DIR, "moto.log"))

REGION = "us-east-1"
RUN = secrets.token_hex(4)
TABLES = ("PRODUCTS", "ORDERS", "IDEMPOTENCY", "USERS", "PAYMENTS", "PAYMENT_EVENTS", "SETTINGS", "ADDRESSES", "EVENTS")
TABLE_NAMES = {t: "evs-%s-%s" % (RUN, t.lower().replace("_", "-")) for t in TABLES}
EVENTS_TABLE = TABLE_NAMES["EVENTS"]
BUS = "evs-%s-orders" % RUN
MAIL_DOMAIN = "shop-%s.example.test" % RUN
MAIL_FROM = "Shop <shop@%s>" % MAIL_DOMAIN
WEB_URL = "https://shop.example.test"
OREGON = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Portland", "region": "OR", "postalCode": "97201", "country": "US"}
CARD = {"number": "4242424242424242", "expMonth": 12, "expYear": time.gmtime().tm_year + 3, "cvc": "123"}
STATUS = {"order.placed": "PENDING_PAYMENT", "order.paid": "PAID", "order.fulfilled": "FULFILLED"}
AWS = dict(endpoint_url=MOTO, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
ddb, streams, events, sqs, ses = (boto3.client(n, **AWS) for n in ("dynamodb", "dynamodbstreams", "events", "sqs", "ses"))
sesv2 = boto3.client("sesv2", **AWS)

check = shoptest.Checks()


class Failed(Exception):
    pass


def wait_for(what, predicate, timeout=20, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failed("%s: not within %.0f s" % (what, timeout))
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------- moto, with the outbox's index refused

class DenyingProxy:
    """Forwards to moto, but answers AccessDeniedException to a Query on the Events table's `Due` index, as IAM does for
    the orders and payment functions (their roles have no grant on it). `denied` counts the refusals."""

    def __init__(self):
        self.denied = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("X-Amz-Target", "").endswith(".Query"):
                    request = json.loads(body or b"{}")
                    if request.get("TableName") == EVENTS_TABLE and request.get("IndexName") == "Due":
                        proxy.denied += 1
                        answer = json.dumps({"__type": "com.amazon.coral.service#AccessDeniedException",
                                             "message": "not authorized to perform dynamodb:Query on the Due index"}).encode()
                        self.send_response(400)
                        self.send_header("Content-Type", "application/x-amz-json-1.0")
                        self.send_header("Content-Length", str(len(answer)))
                        self.end_headers()
                        self.wfile.write(answer)
                        return
                upstream = urllib.request.Request(MOTO + self.path, data=body if self.command in ("POST", "PUT") else None,
                                                  method=self.command)
                for name, value in self.headers.items():
                    if name.lower() not in ("host", "content-length", "connection"):
                        upstream.add_header(name, value)
                try:
                    with urllib.request.urlopen(upstream, timeout=30) as response:
                        status, headers, data = response.status, response.getheaders(), response.read()
                except urllib.error.HTTPError as error:
                    status, headers, data = error.code, error.headers.items(), error.read()
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------------------------- the webhook receiver

class Receiver:
    """Takes the events webhook's POSTs, each checked with the documented verify(); 204 to a valid one."""

    def __init__(self):
        self.secret = "whsec_" + secrets.token_hex(12)
        self.arrivals, self.lock = [], threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    event, error = verify(body, self.headers.get("Shop-Signature", ""), receiver.secret), None
                except ValueError as e:
                    event, error = None, str(e)
                with receiver.lock:
                    receiver.arrivals.append({"event": event, "error": error})
                self.send_response(400 if error else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of(self, order_id):
        with self.lock:
            return [a for a in self.arrivals if (a["event"] or {}).get("orderId") == order_id or a["error"]]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------------------------- shop serve (orders, payments)

class Shop:
    def __init__(self, workdir, dynamodb_endpoint):
        self.data = os.path.join(workdir, "data")
        self.log = os.path.join(LOG_DIR, "shop-serve.log")
        open(self.log, "w").close()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOP_", "AWS_"))}
        env.update(SHOP_BCRYPT_COST="4", SHOP_STORE="dynamodb", SHOP_DYNAMODB_ENDPOINT=dynamodb_endpoint,
                   AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="", AWS_REGION=REGION,
                   SHOP_PAYMENTS="simulated", SHOP_PAYMENTS_WEBHOOK_SECRET="whsec_" + secrets.token_hex(8),
                   SHOP_AUTH_RATE_LIMIT_PER_MINUTE="0", SHOP_LOGIN_ACCOUNT_RATE_LIMIT_PER_MINUTE="0",
                   SHOP_MAX_OPEN_ORDERS="0", SHOP_DATA_DIR=self.data, SHOP_MAIL="off")
        env.update({"SHOP_DYNAMODB_%s_TABLE" % t: name for t, name in TABLE_NAMES.items()})
        self.env, self.process = env, None
        os.makedirs(self.data, exist_ok=True)

    def start(self):
        self.process, self.base = shoptest.start_serve(SHOP, self.data, self.env, self.log)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def call(self, method, path, body=None, token=None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = "Bearer " + token
        request = urllib.request.Request(self.base + path, json.dumps(body).encode() if body is not None else None, headers, method=method)
        try:
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, (json.loads(raw) if raw else None)

    def ok(self, method, path, body=None, token=None):
        status, answer = self.call(method, path, body, token)
        if status not in (200, 201, 202, 204):
            raise Failed("%s %s: HTTP %d %s" % (method, path, status, json.dumps(answer)[:500]))
        return answer

    def login(self, address, password):
        answer = self.ok("POST", "/auth/login", {"email": address, "password": password})
        return answer.get("idToken") or answer["accessToken"]

    def setup(self):
        admin, password = "admin-%s@example.test" % RUN, "Adm1n-" + secrets.token_hex(6)
        subprocess.run([SHOP, "admin", "create", "--email", admin, "--password", password, "--data-dir", self.data],
                       env=self.env, check=True, capture_output=True, timeout=120)
        self.admin = self.login(admin, password)
        self.shopper_email, password = "ada-%s@example.test" % RUN, "Sh0p-" + secrets.token_hex(6)
        self.ok("POST", "/auth/register", {"email": self.shopper_email, "password": password, "name": "Ada"})
        self.shopper = self.login(self.shopper_email, password)
        self.product = self.ok("POST", "/products", {"name": "Stream mug", "description": "events-stream", "price": 1234,
                                                     "currency": "USD", "category": "stream", "quantity": 100}, self.admin)["id"]

    def place(self):
        return self.ok("POST", "/orders", {"lines": [{"productId": self.product, "quantity": 1}], "shippingAddress": OREGON,
                                           "shippingMethodId": "standard"}, self.shopper)["id"]

    def pay(self, order_id):
        payment = self.ok("POST", "/payment", {"orderId": order_id}, self.shopper)
        self.ok("POST", "/payment/simulator/confirm", {"paymentId": payment["paymentId"], "card": CARD}, self.shopper)
        wait_for("order %s PAID" % order_id, lambda: self.ok("GET", "/orders/" + order_id, token=self.shopper)["status"] == "PAID")

    def fulfil(self, order_id):
        self.ok("POST", "/orders/%s/fulfil" % order_id, {"carrier": "UPS", "trackingNumber": "1Z999AA10123456784"}, self.admin)


# ---------------------------------------------------------------------------------------------- the stream, as Lambda's poller reads it

class StreamReader:
    """Reads the Events table's stream from where it left off: on each poll the table's current stream and shards, and a
    fresh iterator per shard (TRIM_HORIZON the first time, then AFTER_SEQUENCE_NUMBER of the last record read)."""

    def __init__(self, table):
        self.table, self.last = table, {}

    def poll(self):
        arn = ddb.describe_table(TableName=self.table)["Table"]["LatestStreamArn"]
        out = []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            sid = shard["ShardId"]
            if sid in self.last:
                iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=sid, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                                      SequenceNumber=self.last[sid])["ShardIterator"]
            else:
                iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while iterator:
                page = streams.get_records(ShardIterator=iterator, Limit=1000)
                if not page["Records"]:
                    break
                for record in page["Records"]:
                    out.append(lambda_record(record, arn))
                self.last[sid] = page["Records"][-1]["dynamodb"]["SequenceNumber"]
                iterator = page.get("NextShardIterator")
        return out

    def until(self, what, predicate, timeout=20):
        """Polls until the records read so far (this call's) satisfy predicate(records); returns them."""
        records, deadline = [], time.monotonic() + timeout
        while True:
            records += self.poll()
            if predicate(records):
                return records
            if time.monotonic() > deadline:
                raise Failed("the stream: %s not within %d s (read %s)" % (what, timeout, [describe(r) for r in records]))
            time.sleep(0.2)


def lambda_record(record, stream_arn):
    """A GetRecords record as Lambda hands it to a function: the same fields, numbers for dates, the stream's ARN."""
    out = json.loads(json.dumps(record, default=lambda d: d.timestamp()))
    out["eventSourceARN"] = stream_arn
    return out


def image(record):
    return record["dynamodb"].get("NewImage") or {}


def describe(record):
    item = image(record)
    return "%s %s/%s (%s)" % (record["eventName"], item.get("OrderID", {}).get("S"), item.get("Key", {}).get("S"),
                              item.get("Kind", {}).get("S"))


def event_inserts(records, order_ids):
    """The INSERT records of event items of these orders."""
    return [r for r in records if r["eventName"] == "INSERT" and image(r).get("Kind", {}).get("S") == "event"
            and image(r).get("OrderID", {}).get("S") in order_ids]


# ---------------------------------------------------------------------------------------------- what reached the bus, SES, the table

class BusQueue:
    """An SQS queue behind a rule on the bus that forwards `source: serverlessshop` (EventBridge's own target)."""

    def __init__(self):
        self.url = sqs.create_queue(QueueName="evs-%s-bus" % RUN)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="evs-%s-all" % RUN, EventBusName=BUS, EventPattern=json.dumps({"source": ["serverlessshop"]}))
        events.put_targets(Rule="evs-%s-all" % RUN, EventBusName=BUS, Targets=[{"Id": "queue", "Arn": arn}])

    def drain(self, settle=1.5):
        """Every message in the queue now (read until it stays empty for `settle` s), deleted; parsed EventBridge events."""
        out, quiet_since = [], time.monotonic()
        while time.monotonic() - quiet_since < settle:
            answer = sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = answer.get("Messages", [])
            if not messages:
                time.sleep(0.2)
                continue
            quiet_since = time.monotonic()
            for m in messages:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])
        return out


def ses_messages(to):
    """The raw messages moto's SES sent to `to`, parsed (moto keeps them: /moto-api/data.json)."""
    with urllib.request.urlopen(MOTO + "/moto-api/data.json", timeout=30) as r:
        data = json.load(r)
    raw = [m for m in (data.get("ses") or {}).get("RawMessage", []) if to in (m.get("destinations") or [])
           or to in (m.get("raw_data") or "")]
    return [dict(m, msg=email.message_from_string(m.get("raw_data") or "", policy=email.policy.default)) for m in raw]


def outbox_items(order_id):
    """The order's items in the Events table (consistent): ({key: event item}, {key: delivery item})."""
    items = ddb.query(TableName=EVENTS_TABLE, KeyConditionExpression="OrderID = :o",
                      ExpressionAttributeValues={":o": {"S": order_id}}, ConsistentRead=True)["Items"]
    plain = [{k: list(v.values())[0] for k, v in item.items()} for item in items]
    return ({i["Key"]: i for i in plain if i.get("Kind") == "event"}, {i["Key"]: i for i in plain if i.get("Kind") == "delivery"})


# ---------------------------------------------------------------------------------------------- the function under the emulator

def function_env(bus, receiver):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOP_", "AWS_"))}
    env.update({
        "_HANDLER": "events", "SHOP_SECRETS": "environment", "SHOP_CURSOR_SECRET": "events-stream-cursor-secret",
        "SHOP_STORE": "dynamodb", "SHOP_DYNAMODB_ENDPOINT": MOTO, "SHOP_IDENTITY": "cognito",
        "SHOP_COGNITO_USER_POOL_ID": "us-east-1_eventsstream", "SHOP_COGNITO_CLIENT_ID": "events-stream", "SHOP_PAYMENTS": "none",
        "SHOP_EVENT_BUS_NAME": bus, "SHOP_EVENTBRIDGE_ENDPOINT": MOTO,
        "SHOP_MAIL": "ses", "SHOP_SES_ENDPOINT": MOTO, "SHOP_MAIL_FROM": MAIL_FROM, "SHOP_WEB_URL": WEB_URL,
        "SHOP_EVENTS_WEBHOOK_URL": receiver.url, "SHOP_EVENTS_WEBHOOK_SECRET": receiver.secret,
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "", "AWS_REGION": REGION,
        "SHOP_LOG_LEVEL": "info",
    })
    env.update({"SHOP_DYNAMODB_%s_TABLE" % t: name for t, name in TABLE_NAMES.items()})
    return env


def invoke(function, records):
    answer = function.invoke({"Records": records})
    if not isinstance(answer, dict) or "batchItemFailures" not in answer:
        raise Failed("the events function answered %s" % json.dumps(answer)[:1000])
    return [f.get("itemIdentifier") for f in answer["batchItemFailures"]]


# ---------------------------------------------------------------------------------------------- the run

def run(workdir):
    started = time.monotonic()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="", AWS_REGION=REGION,
               SHOP_LOG_LEVEL="warning", SHOP_DYNAMODB_ENDPOINT=MOTO)
    env.update({"SHOP_DYNAMODB_%s_TABLE" % t: name for t, name in TABLE_NAMES.items()})
    subprocess.run([SHOP, "aws", "create-tables"], check=True, env=env, stdout=subprocess.DEVNULL, timeout=120)
    described = ddb.describe_table(TableName=EVENTS_TABLE)["Table"]
    check("the Events table has a NEW_IMAGE stream (shop aws create-tables)",
          described.get("StreamSpecification", {}).get("StreamViewType") == "NEW_IMAGE" and described.get("LatestStreamArn"),
          described.get("StreamSpecification"))
    events.create_event_bus(Name=BUS)
    queue = BusQueue()
    sesv2.create_email_identity(EmailIdentity=MAIL_DOMAIN)

    proxy, receiver, shop, good, broken = DenyingProxy(), Receiver(), None, None, None
    try:
        shop = Shop(workdir, proxy.url)
        shop.start()
        shop.setup()
        reader = StreamReader(EVENTS_TABLE)

        # 1. An order placed, paid and fulfilled; the stream's records to the function.
        a = shop.place()
        shop.pay(a)
        shop.fulfil(a)
        records = reader.until("order %s's three events" % a, lambda rs: len(event_inserts(rs, {a})) == 3)
        check("shop serve's outbox worker was refused the Due index (the events are the stream's)", proxy.denied > 0, proxy.denied)
        before, _ = outbox_items(a)
        check("before the function runs, none of the order's events is dispatched",
              len(before) == 3 and not any(e.get("Dispatched") for e in before.values()), before)
        good = lambda_harness.Function("events", LAMBDA, function_env(BUS, receiver), LOG_DIR)
        failures = invoke(good, records)
        check("invocation 1: batchItemFailures is empty", failures == [], failures)

        def bus_check(label, got, order_id, types):
            mine = [e for e in got if (e.get("detail") or {}).get("orderId") == order_id]
            check("%s: the bus got each of the order's events exactly once (%s)" % (label, ", ".join(types)),
                  sorted(e.get("detail-type") for e in mine) == sorted(types), [e.get("detail-type") for e in mine])
            for e in mine:
                detail = e.get("detail") or {}
                key = {"order.placed": "1", "order.paid": "2", "order.fulfilled": "3"}.get(e.get("detail-type"))
                check("%s: %s: source serverlessshop, detail.id evt_<orderId>_%s, detail.type, detail.data.order.status %s"
                      % (label, e.get("detail-type"), key, STATUS.get(e.get("detail-type"))),
                      e.get("source") == "serverlessshop" and detail.get("id") == "evt_%s_%s" % (order_id, key)
                      and detail.get("type") == e.get("detail-type")
                      and (detail.get("data") or {}).get("order", {}).get("status") == STATUS.get(e.get("detail-type"))
                      and detail.get("version") == 1, json.dumps(e)[:1500])

        on_bus = queue.drain()
        bus_check("invocation 1", on_bus, a, ["order.placed", "order.paid", "order.fulfilled"])

        evts, deliveries = outbox_items(a)
        check("invocation 1: the order's three events are dispatched",
              sorted(evts) == ["1", "2", "3"] and all(e.get("Dispatched") is True for e in evts.values()), evts)
        hooks = {k: d for k, d in deliveries.items() if d.get("Name") == "webhook"}
        check("invocation 1: a webhook delivery planned and sent for each event",
              sorted(hooks) == ["1#webhook", "2#webhook", "3#webhook"] and all(d.get("DStatus") == "sent" for d in hooks.values()),
              deliveries)
        arrived = receiver.of(a)
        check("invocation 1: the receiver verified each event once, in order (placed, paid, fulfilled)",
              [x["event"]["type"] if x["event"] else x["error"] for x in arrived] == ["order.placed", "order.paid", "order.fulfilled"],
              [x["event"]["type"] if x["event"] else x["error"] for x in arrived])
        emails = {k: d for k, d in deliveries.items() if d.get("Name", "").startswith("email")}
        check("invocation 1: the emails planned: order-confirmation for order.paid, order-shipped for order.fulfilled, "
              "to the shopper, sent through SES",
              sorted(emails) == ["2#email:order-confirmation", "3#email:order-shipped"]
              and all(d.get("Recipient") == shop.shopper_email and d.get("DStatus") == "sent" for d in emails.values()),
              "email deliveries %s; %s" % (json.dumps(emails), "none planned: the function has no mailer (SHOP_MAIL=ses not "
                                           "wired into ShopAssembly's mailer yet?)" if not emails else ""))
        sent = ses_messages(shop.shopper_email)
        subjects = sorted(str(m["msg"]["Subject"]) for m in sent)
        check("invocation 1: SES (moto) sent the shopper two emails naming order %s, from SHOP_MAIL_FROM" % a[-8:],
              len(sent) == 2 and all(a[-8:] in s for s in subjects)
              and all(email.utils.parseaddr(str(m["msg"]["From"]))[1] == email.utils.parseaddr(MAIL_FROM)[1] for m in sent),
              subjects)

        # 2. The same records again (Lambda retries a batch): on the bus once more, nothing planned or sent again.
        failures = invoke(good, records)
        check("invocation 2, the same records: batchItemFailures is empty", failures == [], failures)
        bus_check("invocation 2", queue.drain(), a, ["order.placed", "order.paid", "order.fulfilled"])
        again_events, again = outbox_items(a)
        check("invocation 2: no delivery planned or changed (the same items)", again == deliveries,
              {k: (deliveries.get(k), again.get(k)) for k in set(again) | set(deliveries) if deliveries.get(k) != again.get(k)})
        check("invocation 2: the events' dispatch unchanged",
              {k: e.get("DispatchedAt") for k, e in again_events.items()} == {k: e.get("DispatchedAt") for k, e in evts.items()})
        check("invocation 2: no webhook and no email sent again",
              len(receiver.of(a)) == 3 and len(ses_messages(shop.shopper_email)) == len(sent),
              (len(receiver.of(a)), len(ses_messages(shop.shopper_email))))

        # 3. PutEvents fails (a bus that does not exist): the records fail from the first on, nothing is dispatched.
        b, c = shop.place(), shop.place()
        records = reader.until("orders %s and %s placed" % (b, c), lambda rs: len(event_inserts(rs, {b, c})) == 2)
        inserts = event_inserts(records, {b, c})
        broken = lambda_harness.Function("events-no-bus", LAMBDA, function_env("evs-%s-no-such-bus" % RUN, receiver), LOG_DIR)
        failures = invoke(broken, records)
        first = records.index(inserts[0])
        check("a bus that does not exist: every record from the first event on is in batchItemFailures, by SequenceNumber",
              failures == [r["dynamodb"]["SequenceNumber"] for r in records[first:]] and len(failures) >= 2,
              (failures, [(describe(r), r["dynamodb"]["SequenceNumber"]) for r in records]))
        for order_id in (b, c):
            evts, deliveries = outbox_items(order_id)
            check("a bus that does not exist: %s's order.placed stays undispatched, nothing planned" % order_id,
                  list(evts) == ["1"] and evts["1"].get("Dispatched") is False and "DueShard" in evts["1"] and not deliveries,
                  (evts, deliveries))
        check("a bus that does not exist: nothing reached the bus, nor the receiver",
              not [e for e in queue.drain(settle=1.0) if (e.get("detail") or {}).get("orderId") in (b, c)]
              and not receiver.of(b) and not receiver.of(c))
        broken.stop()
        broken = None
        # Lambda retries the batch from the first failure: with the bus, it goes through.
        failures = invoke(good, records[first:])
        check("the retry with the bus: batchItemFailures is empty", failures == [], failures)
        got = queue.drain()
        for order_id in (b, c):
            bus_check("the retry", got, order_id, ["order.placed"])
            evts, deliveries = outbox_items(order_id)
            check("the retry: %s's order.placed is dispatched, its webhook sent" % order_id,
                  evts["1"].get("Dispatched") is True and (deliveries.get("1#webhook") or {}).get("DStatus") == "sent",
                  (evts, deliveries))
    finally:
        for fn in (good, broken):
            if fn:
                fn.stop()
        if shop:
            shop.stop()
        proxy.stop()
        receiver.stop()
        for name in TABLE_NAMES.values():
            try:
                ddb.delete_table(TableName=name)
            except Exception:  # noqa: BLE001  cleaning up only
                pass
    print("# events-stream took %.0f s" % (time.monotonic() - started))


def main():
    workdir = tempfile.mkdtemp(prefix="events-stream-")
    try:
        run(workdir)
    except Exception as e:  # noqa: BLE001  a crash is a failure, not a pass
        import traceback
        traceback.print_exc()
        check("the run went through (%s)" % type(e).__name__, False, str(e))
    shutil.rmtree(workdir, ignore_errors=True)
    check.finish("events-stream")


if __name__ == "__main__":
    main()
