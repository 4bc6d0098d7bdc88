"""The cases of scripts/lambda-test: ShopLambda under the Runtime Interface Emulator.

Reads SHOP_TEST_RIE, SHOP_TEST_SAM, SHOP_TEST_LAMBDA, SHOP_TEST_MOTO_ENDPOINT, SHOP_TEST_LOG_DIR.
Tokens are minted here with the same RSA key the function gets in SHOP_TOKEN_SIGNING_KEY_PEM.
"""
import base64, copy, json, os, socket, subprocess, sys, time, urllib.error, urllib.request, uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import shoptest  # scripts/shoptest.py; scripts/ is on sys.path when run as a script

RIE = os.environ["SHOP_TEST_RIE"]
SAM = os.environ["SHOP_TEST_SAM"]
LAMBDA = os.environ["SHOP_TEST_LAMBDA"]
MOTO = os.environ["SHOP_TEST_MOTO_ENDPOINT"]
LOG_DIR = os.environ.get("SHOP_TEST_LOG_DIR", ".cache/lambda-test")
os.makedirs(LOG_DIR, exist_ok=True)

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


def sample(kind):
    out = subprocess.run([SAM, "local", "generate-event", "apigateway", kind], check=True, capture_output=True, text=True,
                         env=dict(os.environ, SAM_CLI_TELEMETRY="0")).stdout
    return json.loads(out[out.index("{"):out.rindex("}") + 1])


V2 = sample("http-api-proxy")
V1 = sample("aws-proxy")


def gateway_claims(sub, groups, issuer=ISSUER):
    """Claims as API Gateway's JWT authorizer hands them on: every value a string, lists as [a b]."""
    now = int(time.time())
    return {"iss": issuer, "sub": sub, "aud": CLIENT_ID, "token_use": "id", "cognito:groups": "[" + " ".join(groups) + "]",
            "email": f"{sub}@example.com", "iat": str(now), "exp": str(now + 600)}


def v2(method, path, body=None, headers=None, query="", b64=False, cookies=None, claims=None):
    event = copy.deepcopy(V2)
    event["rawPath"] = path
    event["rawQueryString"] = query
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = path
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    event["requestContext"].pop("authorizer", None)
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    event["headers"] = {"content-type": "application/json", **(headers or {})}
    event["cookies"] = cookies or []
    event.pop("queryStringParameters", None)
    event.pop("pathParameters", None)
    if body is None:
        event.pop("body", None)
        event["isBase64Encoded"] = False
    elif b64:
        event["body"] = base64.b64encode(body.encode()).decode()
        event["isBase64Encoded"] = True
    else:
        event["body"] = body
        event["isBase64Encoded"] = False
    return event


def v1(method, path, body=None, headers=None, query=None):
    event = copy.deepcopy(V1)
    event["httpMethod"] = method
    event["path"] = path
    event["resource"] = "/{proxy+}"
    event["headers"] = {"Content-Type": "application/json", **(headers or {})}
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    event["body"] = body
    event["isBase64Encoded"] = False
    return event


class Emulator(shoptest.Emulator):
    """One RIE running ShopLambda with _HANDLER=handler."""

    def __init__(self, handler, extra_env=None):
        self.handler = handler
        env = dict(os.environ)
        env.update({
            "_HANDLER": handler, "SHOP_STORE": "dynamodb", "SHOP_DYNAMODB_ENDPOINT": MOTO, "SHOP_IDENTITY": "local",
            "SHOP_SECRETS": "environment", "SHOP_TOKEN_SIGNING_KEY_PEM": PEM, "SHOP_CURSOR_SECRET": "lambda-cases-cursor-secret", "SHOP_TOKEN_ISSUER": ISSUER, "SHOP_CLIENT_ID": CLIENT_ID,
            "SHOP_BCRYPT_COST": "4", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1", "SHOP_LOG_LEVEL": "info",
            # Functions take Stripe only (the simulator needs shop serve); nothing here calls it.
            "SHOP_PAYMENTS": "stripe", "SHOP_STRIPE_SECRET_KEY": "sk_test_lambda_cases",
            "SHOP_STRIPE_PUBLISHABLE_KEY": "pk_test_lambda_cases", "SHOP_PAYMENTS_WEBHOOK_SECRET": "whsec_lambda_cases",
            "SHOP_STRIPE_API_BASE": "http://127.0.0.1:9",
        })
        env.update(extra_env or {})
        super().__init__(RIE, LAMBDA, env, os.path.join(LOG_DIR, f"rie-{handler}.log"))


def body(result):
    raw = result.get("body") or ""
    if result.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    return json.loads(raw) if raw else None


def error_code(result):
    try:
        return body(result)["error"]["code"]
    except Exception:
        return None


def run():
    # auth: the JWKS (for the key id of the tokens minted here), and another area's path refused.
    with Emulator("auth") as fn:
        r = fn.invoke(v2("GET", "/.well-known/jwks.json"))
        check("auth: GET /.well-known/jwks.json 200", r.get("statusCode") == 200, r)
        kid = body(r)["keys"][0]["kid"]
        r = fn.invoke(v2("GET", "/products"))
        check("auth: GET /products is another area's: 404 envelope",
              r.get("statusCode") == 404 and error_code(r) == "route_not_found" and "x-request-id" in {k.lower() for k in r["headers"]}, r)
        r = fn.invoke(v2("GET", "/health"))
        check("auth: GET /health 200", r.get("statusCode") == 200 and body(r) == {"status": "ok"}, r)
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

    with Emulator("orders", {"SHOP_ORDER_TTL_SECONDS": "1"}) as fn:
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
        r = fn.invoke(v2("POST", "/orders", json.dumps(order), headers=shopper))
        check("orders: place 201 PENDING_PAYMENT, total 2500 + 500 shipping",
              r.get("statusCode") == 201 and body(r)["status"] == "PENDING_PAYMENT" and body(r)["subtotal"] == 2500
              and body(r)["shippingTotal"] == 500 and body(r)["taxTotal"] == 0 and body(r)["total"] == 3000, r)
        oid = body(r)["id"]
        r = fn.invoke(v2("GET", f"/orders/{oid}", headers=shopper))
        check("orders: get own order 200", r.get("statusCode") == 200 and body(r)["id"] == oid, r)
        r = fn.invoke(v2("GET", f"/products/{pid}"))
        check("orders: /products is another area's: 404 envelope", r.get("statusCode") == 404 and error_code(r) == "route_not_found", r)

    time.sleep(2)
    with Emulator("sweep") as fn:
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
                 "resources": ["arn:aws:events:us-east-1:123456789012:rule/sweep"], "detail": {}}
        r = fn.invoke(event)
        check("sweep: expires the overdue order", isinstance(r, dict) and r.get("expired", 0) >= 1, r)

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
        except urllib.error.HTTPError as error:
            r = {"httpStatus": error.code}
        log_name = fn.log.name
    return r, open(log_name).read()


try:
    run()
except Exception as error:  # a crash is a failure, not a pass
    check("lambda-test ran to the end", False, f"crashed: {error!r}")
check.finish("lambda")
