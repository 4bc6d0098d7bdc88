"""The cases of scripts/lambda-test: ShopLambda under the Runtime Interface Emulator.

Runs the functions with scripts/lambda_harness.py. Reads SHOP_TEST_LAMBDA and SHOP_TEST_LOG_DIR; the emulator, sam and
moto are SHOP_TEST_RIE, SHOP_TEST_SAM and SHOP_TEST_MOTO_ENDPOINT (scripts/lambda-test), else scripts/shoptest.py's.
Tokens are minted here with the same RSA key the function gets in SHOP_TOKEN_SIGNING_KEY_PEM.
"""
import base64, json, os, re, socket, sys, time, uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import lambda_harness  # scripts/lambda_harness.py and scripts/shoptest.py; scripts/ is on sys.path when run as a script
import shoptest
from lambda_harness import AWS_TEST_ENV, InvokeFailed
from lambda_harness import http_event as v2, rest_event as v1, result_body as body

LAMBDA = os.environ["SHOP_TEST_LAMBDA"]
LOG_DIR = os.environ.get("SHOP_TEST_LOG_DIR", ".cache/lambda-test")
os.makedirs(LOG_DIR, exist_ok=True)
MOTO = shoptest.moto_endpoint(os.path.join(LOG_DIR, "moto.log"))

ISSUER = "https://shop.lambda.test"
CLIENT_ID = "serverlessshop-lambda-test"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()

check = shoptest.Checks()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(kid, sub, groups):
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    claims = {"iss": ISSUER, "sub": sub, "aud": CLIENT_ID, "token_use": "id", "cognito:groups": groups,
              "email": f"{sub}@example.com", "iat": now, "exp": now + 600}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = KEY.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


def gateway_claims(sub, groups, issuer=ISSUER):
    """Claims as API Gateway's JWT authorizer hands them on: every value a string, lists as [a b]."""
    now = int(time.time())
    return {"iss": issuer, "sub": sub, "aud": CLIENT_ID, "token_use": "id", "cognito:groups": "[" + " ".join(groups) + "]",
            "email": f"{sub}@example.com", "iat": str(now), "exp": str(now + 600)}


class Emulator(lambda_harness.Function):
    """One RIE running ShopLambda with _HANDLER=handler."""

    def __init__(self, handler, extra_env=None, bootstrap=LAMBDA):
        self.handler = handler
        env = dict(os.environ)
        env.update(AWS_TEST_ENV)
        env.update({
            "_HANDLER": handler, "SHOP_STORE": "dynamodb", "SHOP_DYNAMODB_ENDPOINT": MOTO, "SHOP_IDENTITY": "local",
            "SHOP_SECRETS": "environment", "SHOP_TOKEN_SIGNING_KEY_PEM": PEM, "SHOP_CURSOR_SECRET": "lambda-cases-cursor-secret", "SHOP_TOKEN_ISSUER": ISSUER, "SHOP_CLIENT_ID": CLIENT_ID,
            "SHOP_BCRYPT_COST": "4", "SHOP_LOG_LEVEL": "info",
            # Functions take Stripe only (the simulator needs shop serve); nothing here calls it.
            "SHOP_PAYMENTS": "stripe", "SHOP_STRIPE_SECRET_KEY": "sk_test_lambda_cases",
            "SHOP_STRIPE_PUBLISHABLE_KEY": "pk_test_lambda_cases", "SHOP_PAYMENTS_WEBHOOK_SECRET": "whsec_lambda_cases",
            "SHOP_STRIPE_API_BASE": "http://127.0.0.1:9",
        })
        env.update(extra_env or {})
        super().__init__(handler, bootstrap, env, LOG_DIR)


def error_code(result):
    try:
        return body(result)["error"]["code"]
    except Exception:
        return None


# --- metrics (CloudWatch embedded metric format) and traces (X-Ray subsegments) -------------------------------------------

def emf_objects(output):
    """The EMF objects among a function's output lines (JSON objects with `_aws`)."""
    objects = []
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("{") and '"_aws"' in line:
            try:
                objects.append(json.loads(line))
            except ValueError:
                objects.append({"unparsable": line})
    return objects


def emf_problems(obj):
    """What breaks the EMF specification's rules in one object (an empty list when nothing does)."""
    problems = []
    aws = obj.get("_aws")
    if not isinstance(aws, dict):
        return ["no _aws object"]
    timestamp = aws.get("Timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or abs(timestamp - time.time() * 1000) > 3600_000:
        problems.append("_aws.Timestamp is not the time in milliseconds since the epoch: %r" % (timestamp,))
    directives = aws.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return problems + ["_aws.CloudWatchMetrics is not a non-empty array"]
    for directive in directives:
        if not isinstance(directive, dict):
            problems.append("a directive is not an object")
            continue
        namespace = directive.get("Namespace")
        if not isinstance(namespace, str) or not 1 <= len(namespace) <= 1024:
            problems.append("Namespace %r" % (namespace,))
        if namespace != "ServerlessShop":
            problems.append("Namespace is %r, not ServerlessShop" % (namespace,))
        dimension_sets = directive.get("Dimensions")
        if not isinstance(dimension_sets, list):
            problems.append("Dimensions is not an array")
            dimension_sets = []
        for dimension_set in dimension_sets:
            if not isinstance(dimension_set, list) or len(dimension_set) > 30:
                problems.append("a dimension set is not an array of at most 30 names: %r" % (dimension_set,))
                continue
            for name in dimension_set:
                if not isinstance(name, str) or not isinstance(obj.get(name), str) or not 1 <= len(obj[name]) <= 1024:
                    problems.append("dimension %r has no string value at the root" % (name,))
        metrics = directive.get("Metrics")
        if not isinstance(metrics, list) or not 1 <= len(metrics) <= 100:
            problems.append("Metrics is not an array of 1 to 100 definitions")
            metrics = []
        for metric in metrics:
            name = metric.get("Name") if isinstance(metric, dict) else None
            if not isinstance(name, str) or not 1 <= len(name) <= 1024:
                problems.append("a metric definition without a Name: %r" % (metric,))
                continue
            value = obj.get(name)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            numbers = isinstance(value, list) and len(value) <= 100 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            if not (number or numbers):
                problems.append("metric %s is %r, not a number or an array of at most 100 numbers" % (name, value))
            unit = metric.get("Unit")
            if unit is not None and unit not in ("Count", "Milliseconds", "Seconds", "None", "Bytes", "Percent"):
                problems.append("metric %s has unit %r" % (name, unit))
    return problems


def check_emf(label, fn, expect):
    """Every EMF line of this emulator's function follows the rules; `expect(objects)` is the session's own check."""
    objects = emf_objects(fn.output())
    problems = [p for o in objects for p in emf_problems(o)]
    check("%s: %d EMF objects, each by the specification's rules" % (label, len(objects)), objects and not problems, problems[:5])
    return expect(objects)


def metric_sum(objects, name):
    """A counter's sum over the objects."""
    return sum(obj.get(name, 0) for obj in objects if not isinstance(obj.get(name), list))


def samples(objects, name):
    """How many values a timer recorded over the objects (a number is one, an array its length)."""
    return sum(len(obj[name]) if isinstance(obj[name], list) else 1 for obj in objects if name in obj)


TRACE_FILE = os.path.join(LOG_DIR, "trace-header")


def traced_bootstrap():
    """ShopLambda behind scripts/runtime_trace_proxy.py, which adds the Lambda-Runtime-Trace-Id header the emulator
    leaves out, from TRACE_FILE."""
    path = os.path.join(LOG_DIR, "traced-bootstrap")
    proxy = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runtime_trace_proxy.py")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexec '%s' '%s' '%s' '%s'\n" % (sys.executable, proxy, TRACE_FILE, LAMBDA))
    os.chmod(path, 0o755)
    open(TRACE_FILE, "w").close()
    return path


class FakeXRayDaemon:
    """A UDP socket on 127.0.0.1 standing in for the X-Ray daemon; `documents()` parses what arrived."""

    def __init__(self):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.5)
        self.address = "127.0.0.1:%d" % self.socket.getsockname()[1]

    def documents(self):
        found = []
        while True:
            try:
                datagram = self.socket.recv(65536).decode()
            except socket.timeout:
                return found
            header, _, body = datagram.partition("\n")
            found.append((json.loads(header), json.loads(body)))

    def close(self):
        self.socket.close()


def run():
    # auth: the JWKS (for the key id of the tokens minted here), and another area's path refused.
    # (Logs at critical only: the metrics are written all the same.)
    with Emulator("auth", {"SHOP_LOG_LEVEL": "critical", "AWS_LAMBDA_FUNCTION_NAME": "shop-auth"}) as fn:
        r = fn.invoke(v2("GET", "/.well-known/jwks.json"))
        check("auth: GET /.well-known/jwks.json 200", r.get("statusCode") == 200, r)
        kid = body(r)["keys"][0]["kid"]
        r = fn.invoke(v2("GET", "/products"))
        check("auth: GET /products is another area's: 404 envelope",
              r.get("statusCode") == 404 and error_code(r) == "route_not_found" and "x-request-id" in {k.lower() for k in r["headers"]}, r)
        r = fn.invoke(v2("GET", "/health"))
        check("auth: GET /health 200", r.get("statusCode") == 200 and body(r) == {"status": "ok"}, r)
        fn.invoke(v2("GET", "/nowhere-%s" % uuid.uuid4().hex))

        def auth_metrics(objects):
            routes = [o.get("route") for o in objects]
            check("auth (SHOP_LOG_LEVEL=critical): one EMF object per invocation, with function and route dimensions",
                  len(objects) == 4 and all(o.get("function") == "shop-auth" for o in objects)
                  and routes == ["GET /.well-known/jwks.json", "GET unmatched", "GET /health", "GET unmatched"], routes)
            check("auth: the first invocation is the cold start, with the init phase's duration",
                  objects and objects[0].get("ColdStarts") == 1 and isinstance(objects[0].get("InitDuration"), (int, float))
                  and all("ColdStarts" not in o for o in objects[1:]), objects[:1])
            check("auth: 2xx and 4xx counted by status class, with each request's duration in ms",
                  metric_sum(objects, "Requests2xx") == 2 and metric_sum(objects, "Requests4xx") == 2
                  and samples(objects, "RequestDuration") == 4, objects)
            dimensions = {json.dumps(d) for o in objects for directive in o["_aws"]["CloudWatchMetrics"] for d in directive["Dimensions"]}
            check("auth: dimension sets are [function] and [function, route] only",
                  dimensions == {json.dumps(["function"]), json.dumps(["function", "route"])}, dimensions)
        check_emf("auth", fn, auth_metrics)
    admin = {"authorization": "Bearer " + token(kid, "admin-1", ["admin"])}
    shopper = {"authorization": "Bearer " + token(kid, "shopper-1", [])}

    with Emulator("products") as fn:
        product = {"name": "Lambda mug", "description": "d", "price": 1250, "currency": "USD", "quantity": 5, "category": "mugs"}
        r = fn.invoke(v2("POST", "/products", json.dumps(product)))
        check("products: create without a token 401", r.get("statusCode") == 401, r)
        r = fn.invoke(v2("POST", "/products", json.dumps(product), headers=shopper))
        check("products: create as a non-admin 403", r.get("statusCode") == 403, r)
        r = fn.invoke(v2("POST", "/products", json.dumps(product), headers=admin))
        check("products: create as admin 201", r.get("statusCode") == 201 and body(r)["name"] == "Lambda mug", r)
        pid = body(r)["id"]
        r = fn.invoke(v2("POST", "/products", json.dumps({**product, "name": "Base64 bowl"}), headers=admin, b64=True))
        check("products: base64-encoded body 201", r.get("statusCode") == 201 and body(r)["name"] == "Base64 bowl", r)
        r = fn.invoke(v2("GET", "/products", query="limit=10"))
        names = sorted(p["name"] for p in body(r)["items"]) if r.get("statusCode") == 200 else []
        check("products: list 200 with both", names == ["Base64 bowl", "Lambda mug"], r)
        r = fn.invoke(v2("GET", "/products", query="limit=1"))
        check("products: limit=1 gives a cursor", r.get("statusCode") == 200 and len(body(r)["items"]) == 1 and body(r)["nextCursor"], r)
        r = fn.invoke(v2("GET", f"/products/{pid}"))
        check("products: get one 200 with ETag",
              r.get("statusCode") == 200 and body(r)["id"] == pid and "etag" in {k.lower() for k in r["headers"]}, r)
        r = fn.invoke(v2("GET", "/products/nope"))
        check("products: unknown product 404", r.get("statusCode") == 404, r)
        r = fn.invoke(v2("GET", "/nowhere"))
        check("products: unknown route 404 envelope", r.get("statusCode") == 404 and error_code(r) == "route_not_found", r)
        r = fn.invoke(v2("POST", "/products", "{not json", headers=admin))
        check("products: malformed JSON 400 envelope", r.get("statusCode") == 400 and error_code(r) is not None, r)
        r = fn.invoke(v1("GET", f"/products/{pid}"))
        check("products: v1 aws-proxy get one 200",
              r.get("statusCode") == 200 and body(r)["id"] == pid and "multiValueHeaders" in r, r)
        r = fn.invoke(v1("GET", "/products", query={"limit": "1"}))
        check("products: v1 query string", r.get("statusCode") == 200 and len(body(r)["items"]) == 1, r)
        r = fn.invoke(b'"not an API Gateway event"')
        check("products: a bad event is a function error", isinstance(r, dict) and "errorType" in r and "errorMessage" in r, r)
        r = fn.invoke(v2("GET", "/health"))
        check("products: next invocation after the error 200", r.get("statusCode") == 200, r)

        r = fn.invoke(v2("POST", "/products", json.dumps(product), claims=gateway_claims("admin-1", ["admin"])))
        check("products: authorizer claims are ignored unless trusted (401)", r.get("statusCode") == 401, r)

    with Emulator("products", {"SHOP_TRUST_AUTHORIZER_CLAIMS": "true"}) as fn:
        product = {"name": "Trusted teapot", "description": "d", "price": 2500, "currency": "USD", "quantity": 2, "category": "mugs"}
        r = fn.invoke(v2("POST", "/products", json.dumps(product), claims=gateway_claims("admin-1", ["admin", "staff"])))
        check("products (trusting the authorizer): admin claims without a token 201",
              r.get("statusCode") == 201 and body(r)["name"] == "Trusted teapot", r)
        r = fn.invoke(v2("POST", "/products", json.dumps(product), claims=gateway_claims("shopper-1", [])))
        check("products (trusting the authorizer): shopper claims 403", r.get("statusCode") == 403, r)
        r = fn.invoke(v2("POST", "/products", json.dumps(product), claims=gateway_claims("admin-1", ["admin"], issuer="https://elsewhere")))
        check("products (trusting the authorizer): another issuer's claims 401", r.get("statusCode") == 401, r)
        r = fn.invoke(v2("POST", "/products", json.dumps(product)))
        check("products (trusting the authorizer): no claims and no token 401", r.get("statusCode") == 401, r)
        r = fn.invoke(v2("POST", "/products", json.dumps(product), headers=admin))
        check("products (trusting the authorizer): no claims, a valid token 201", r.get("statusCode") == 201, r)

    daemon = FakeXRayDaemon()
    trace_root = "1-%08x-%s" % (int(time.time()), uuid.uuid4().hex[:24])
    trace_parent = uuid.uuid4().hex[:16]
    trace_header = "Root=%s;Parent=%s;Sampled=1" % (trace_root, trace_parent)
    with Emulator("orders", {"SHOP_ORDER_TTL_SECONDS": "1", "AWS_XRAY_DAEMON_ADDRESS": daemon.address,
                             "AWS_LAMBDA_FUNCTION_NAME": "shop-orders"}, bootstrap=traced_bootstrap()) as fn:
        # To Oregon by standard with the built-in settings: no tax, shipping 500 (free only from 5000), so
        # 2 x 1250 is 2500 + 500 = 3000. To California, 7.25 % on the lines only: r(2500 x 7250 / 100000) = 181.
        order = {"lines": [{"productId": pid, "quantity": 2}], "shippingAddress": OREGON, "shippingMethodId": "standard"}
        r = fn.invoke(v2("POST", "/orders/quote", json.dumps({**order, "shippingAddress": CALIFORNIA})))
        check("orders: quote without a token 200, by the money rules (2500 + 500 + 181 = 3181)",
              r.get("statusCode") == 200 and [body(r).get(k) for k in ("subtotal", "shippingTotal", "taxTotal", "total")] == [2500, 500, 181, 3181], r)
        r = fn.invoke(v2("POST", "/orders", json.dumps(order)))
        check("orders: place without a token 401", r.get("statusCode") == 401, r)
        r = fn.invoke(v2("POST", "/orders", json.dumps({"lines": order["lines"], "shippingAddress": OREGON}), headers=shopper))
        check("orders: place without shippingMethodId 400", r.get("statusCode") == 400 and error_code(r) == "validation_failed", r)
        daemon.documents()  # only the traced invocation's calls count
        with open(TRACE_FILE, "w") as f:
            f.write(trace_header)
        r = fn.invoke(v2("POST", "/orders", json.dumps(order), headers=shopper))
        open(TRACE_FILE, "w").close()
        traced = daemon.documents()
        check("orders: place 201 PENDING_PAYMENT, total 2500 + 500 shipping",
              r.get("statusCode") == 201 and body(r)["status"] == "PENDING_PAYMENT" and body(r)["subtotal"] == 2500
              and body(r)["shippingTotal"] == 500 and body(r)["taxTotal"] == 0 and body(r)["total"] == 3000, r)
        oid = body(r)["id"]
        r = fn.invoke(v2("GET", f"/orders/{oid}", headers=shopper))
        check("orders: get own order 200", r.get("statusCode") == 200 and body(r)["id"] == oid, r)
        r = fn.invoke(v2("GET", f"/products/{pid}"))
        check("orders: /products is another area's: 404 envelope", r.get("statusCode") == 404 and error_code(r) == "route_not_found", r)
        r = fn.invoke(v2("POST", "/orders", json.dumps({**order, "lines": [{"productId": pid, "quantity": 10}]}), headers=shopper))
        check("orders: beyond the stock 409 out_of_stock", r.get("statusCode") == 409 and error_code(r) == "out_of_stock", r)
        untraced = daemon.documents()

        def orders_metrics(objects):
            placed = [o for o in objects if o.get("route") == "POST /orders" and o.get("Requests2xx") == 1]
            check("orders: the order's invocation counts OrdersPlaced 1 and its DynamoDB calls",
                  len(placed) == 1 and placed[0].get("OrdersPlaced") == 1 and placed[0].get("AWSCallsOk", 0) >= 2
                  and isinstance(placed[0].get("AWSCallDuration"), list), placed)
            check("orders: OrdersPlaced 1 and StockOuts 1 in all", metric_sum(objects, "OrdersPlaced") == 1 and metric_sum(objects, "StockOuts") == 1,
                  [(o.get("route"), o.get("OrdersPlaced"), o.get("StockOuts")) for o in objects])
        check_emf("orders", fn, orders_metrics)

    # X-Ray: the traced invocation's AWS calls as subsegments to the daemon's UDP port, under the invocation's trace.
    documents = [d for _, d in traced]
    check("x-ray: every datagram starts with {\"format\":\"json\",\"version\":1}",
          traced and all(h == {"format": "json", "version": 1} for h, _ in traced), traced[:2])
    check("x-ray: each subsegment carries the invocation's trace id and parent",
          documents and all(d.get("trace_id") == trace_root and d.get("parent_id") == trace_parent and d.get("type") == "subsegment"
                            for d in documents), documents[:2])
    check("x-ray: subsegments are DynamoDB calls, named by operation, with table, region, times and status",
          all(d.get("name") == "DynamoDB" and d.get("namespace") == "aws" and d["aws"].get("operation") and d["aws"].get("region") == "us-east-1"
              and d["aws"].get("table_name") and re.fullmatch(r"[0-9a-f]{16}", d.get("id", "")) and d["end_time"] >= d["start_time"] > 1.6e9
              and d.get("http", {}).get("response", {}).get("status") == 200 for d in documents), documents)
    operations = sorted({d["aws"]["operation"] for d in documents})
    check("x-ray: placing an order traces its reads and its transaction (%s)" % ", ".join(operations),
          "TransactWriteItems" in operations and len(operations) >= 2, operations)
    check("x-ray: invocations without a trace header send nothing", untraced == [], untraced[:2])
    daemon.close()

    time.sleep(2)
    with Emulator("sweep") as fn:
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
                 "resources": ["arn:aws:events:us-east-1:123456789012:rule/sweep"], "detail": {}}
        r = fn.invoke(event)
        check("sweep: expires the overdue order", isinstance(r, dict) and r.get("expired", 0) >= 1, r)
        check_emf("sweep", fn, lambda objects: check(
            "sweep: OrdersCancelled counted (expiry), no route dimension",
            metric_sum(objects, "OrdersCancelled") >= 1 and all("route" not in o for o in objects), objects))

    with Emulator("products") as fn:
        r = fn.invoke(v2("GET", f"/products/{pid}"))
        check("products: stock returned after expiry", r.get("statusCode") == 200 and body(r)["quantity"] == 5, r)

    with Emulator("payment") as fn:
        r = fn.invoke(v2("GET", "/orders"))
        check("payment: /orders is another area's: 404 envelope", r.get("statusCode") == 404 and error_code(r) == "route_not_found", r)
        r = fn.invoke(v2("GET", "/payment/config"))
        check("payment: GET /payment/config names Stripe and its publishable key",
              r.get("statusCode") == 200 and body(r) == {"provider": "stripe", "publishableKey": "pk_test_lambda_cases"}, r)
        r = fn.invoke(v2("POST", "/payment/webhook", body='{"id":"evt_1"}', headers={"stripe-signature": "t=1,v1=00"}))
        check("payment: a forged webhook signature is a 400", r.get("statusCode") == 400 and error_code(r) == "invalid_signature", r)
        r = fn.invoke(v2("POST", "/payment/simulator/confirm", body="{}"))
        check("payment: no simulator routes in a function", r.get("statusCode") == 404, r)

    authorization_matrix(admin, shopper)

    r, log = failed_init("payment", {"SHOP_PAYMENTS": "simulated"})
    check("SHOP_PAYMENTS=simulated: init failure naming SHOP_PAYMENTS", "INIT RTDONE(status: error)" in log and "SHOP_PAYMENTS" in log, r)

    r, log = failed_init("nonsense")
    check("bad _HANDLER: init failure reported on /runtime/init/error, process exits non-zero",
          (r.get("httpStatus", 0) >= 500 or "errorType" in r) and "INIT RTDONE(status: error)" in log
          and "exit status 1" in log, r)


# The per-area part of the authorization matrix (Tests/ShopAPITests/AuthorizationMatrixTests.swift has
# the whole of it): (area, method, path, body, {caller: expected status}) for a missing resource or a
# public route, run against each function.
MISSING = "0193a1b2-0000-7000-8000-000000000000"
OREGON = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Portland", "region": "OR", "postalCode": "97201", "country": "US"}
CALIFORNIA = {"name": "Grace Hopper", "line1": "2 Ocean Ave", "city": "Los Angeles", "region": "CA", "postalCode": "90001", "country": "US"}
MATRIX = [
    ("products", "GET", "/products", None, {"anonymous": 200, "shopper": 200, "admin": 200}),
    ("products", "GET", f"/products/{MISSING}", None, {"anonymous": 404, "shopper": 404, "admin": 404}),
    ("products", "PUT", f"/products/{MISSING}", '{"name":"X","price":1,"category":"c"}', {"anonymous": 401, "shopper": 403, "admin": 404}),
    ("products", "DELETE", f"/products/{MISSING}", None, {"anonymous": 401, "shopper": 403, "admin": 404}),
    ("products", "POST", f"/products/{MISSING}/stock", '{"delta":1}', {"anonymous": 401, "shopper": 403, "admin": 404}),
    ("orders", "GET", "/orders", None, {"anonymous": 401, "shopper": 200, "admin": 200}),
    ("orders", "GET", "/orders?all=true", None, {"anonymous": 401, "shopper": 403, "admin": 200}),
    ("orders", "GET", f"/orders/{MISSING}", None, {"anonymous": 401, "shopper": 404, "admin": 404}),
    ("orders", "POST", f"/orders/{MISSING}/cancel", None, {"anonymous": 401, "shopper": 404, "admin": 404}),
    ("orders", "POST", f"/orders/{MISSING}/fulfil", None, {"anonymous": 401, "shopper": 403, "admin": 404}),
    ("orders", "POST", "/orders/quote", "{}", {"anonymous": 400, "shopper": 400, "admin": 400}),
    ("orders", "GET", "/account/addresses", None, {"anonymous": 401, "shopper": 200, "admin": 200}),
    ("orders", "PUT", f"/account/addresses/{MISSING}", json.dumps(OREGON), {"anonymous": 401, "shopper": 404, "admin": 404}),
    ("orders", "DELETE", f"/account/addresses/{MISSING}", None, {"anonymous": 401, "shopper": 404, "admin": 404}),
    ("products", "GET", "/settings", None, {"anonymous": 200, "shopper": 200, "admin": 200}),
    ("products", "PUT", "/settings", "{}", {"anonymous": 401, "shopper": 403, "admin": 400}),
    ("auth", "GET", "/auth/me", None, {"anonymous": 401}),
    ("auth", "POST", "/auth/logout", '{"refreshToken":"x"}', {"anonymous": 401}),
    ("payment", "GET", "/payment/config", None, {"anonymous": 200, "shopper": 200, "admin": 200}),
    ("payment", "POST", "/payment", f'{{"orderId":"{MISSING}"}}', {"anonymous": 401, "shopper": 404, "admin": 404}),
    ("payment", "POST", "/payment/webhook", "{}", {"anonymous": 400, "shopper": 400, "admin": 400}),
]


def authorization_matrix(admin, shopper):
    callers = {"anonymous": {}, "shopper": shopper, "admin": admin}
    for area in ["products", "orders", "auth", "payment"]:
        with Emulator(area) as fn:
            for row_area, method, path, body_text, expected in MATRIX:
                if row_area != area:
                    continue
                for caller, status in expected.items():
                    query = path.split("?", 1)[1] if "?" in path else ""
                    r = fn.invoke(v2(method, path.split("?", 1)[0], body_text, headers=callers[caller], query=query))
                    check(f"matrix: {area} {method} {path.replace(MISSING, '<missing>')} as {caller} {status}", r.get("statusCode") == status, r)


def failed_init(handler, extra_env=None):
    """Invokes a function whose init is expected to fail; returns the answer and the emulator's log."""
    with Emulator(handler, extra_env) as fn:
        try:
            r = fn.invoke(v2("GET", "/health"))
        except InvokeFailed as error:
            r = {"httpStatus": error.status}
        log = fn.log_text()
    return r, log


try:
    run()
except Exception as error:  # a crash is a failure, not a pass
    check("lambda-test ran to the end", False, f"crashed: {error!r}")
check.finish("lambda")
