"""The deployed wiring, emulated, and least privilege, proved (scripts/stack-test).

1. Reads deploy/template.yaml (cfn-lint's decoder) and makes what it declares on moto: the tables (with
   `shop aws create-tables`, named through the template's own SHOP_DYNAMODB_*_TABLE variables; the Events
   table's stream), the user pool, app client and admin group, the buckets, the secrets, the EventBridge bus,
   the dead-letter queue and the alarm topic, with the parameters below (the optional ones set, so that every
   conditional grant is in play: an SES identity, which is made on moto as a deployer would have verified
   it, and an events webhook).
2. Builds each function's environment from the template alone (Globals plus the function's own
   variables, every !Ref / !GetAtt / !Sub resolved to those moto resources), then adds only what
   stands for AWS itself: endpoints (through the recording proxy below), credentials, the region,
   localstripe for api.stripe.com, and `_HANDLER` = the function's Handler, as Lambda sets it.
   A setting the code needs but the template forgets fails here.
3. Runs the debug ShopLambda under AWS's Runtime Interface Emulator for every function, with events
   from `sam local generate-event` (apigateway http-api-proxy; cloudwatch scheduled-event for the
   sweep), over every route the template gives that function, with the claims API Gateway's JWT
   authorizer would pass on for the routes the template puts behind it. The events function gets the
   Events table's stream records, read through the proxy with its own credentials as its event source
   mapping reads them (DescribeStream, GetShardIterator, GetRecords); one paid order's event is held back
   and made 10 minutes old, so that the sweep is the one that dispatches it and sends its email.
4. A recording proxy between the functions and moto notes every AWS action each function calls
   (each function signs with its own access key id): DynamoDB's X-Amz-Target with its table or index
   (TransactWriteItems split into the per-item actions IAM checks) and DynamoDB Streams' with the stream,
   Cognito, Secrets Manager and S3 operations with their resources, EventBridge's PutEvents with the bus,
   SES v2 SendEmail with the identity of its From address, and the attribute names a DynamoDB write touches.
5. Compares them with the statements of the function's role in the template: every call is granted
   (conditions on dynamodb:Attributes included), and every grant is used, except the exceptions
   named below with their reasons.

The functions run under scripts/lambda_harness.py. Environment: SHOP_TEST_LAMBDA, SHOP_TEST_SHOP, SHOP_TEST_LOG_DIR; the
emulator, sam, moto and localstripe are SHOP_TEST_RIE, SHOP_TEST_SAM, SHOP_TEST_MOTO_ENDPOINT and SHOP_TEST_LOCALSTRIPE
(scripts/stack-test), else scripts/shoptest.py's. Prints "stack: N passed, M failed".
"""
import base64, fnmatch, hashlib, hmac, http.server, json, os, re, secrets, socket, subprocess, sys, threading
import time, urllib.error, urllib.parse, urllib.request, uuid

import boto3
from cfnlint.decode import decode

import lambda_harness  # scripts/lambda_harness.py and scripts/shoptest.py (this script's folder is on sys.path)
import shoptest
from lambda_harness import result_body as payload
from shoptest import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAMBDA = os.environ["SHOP_TEST_LAMBDA"]
SHOP = os.environ["SHOP_TEST_SHOP"]
LOG_DIR = os.environ.get("SHOP_TEST_LOG_DIR", os.path.join(ROOT, ".cache/stack-test"))
os.makedirs(LOG_DIR, exist_ok=True)
MOTO = shoptest.moto_endpoint(os.path.join(LOG_DIR, "moto.log"))
STRIPE = shoptest.localstripe_endpoint(os.path.join(LOG_DIR, "localstripe.log"))
TEMPLATE = os.environ.get("SHOP_TEST_TEMPLATE", os.path.join(ROOT, "deploy/template.yaml"))
REGION, ACCOUNT = "us-east-1", "123456789012"  # moto's default account

check = shoptest.Checks()


# ---------------------------------------------------------------------------------------------- proxy

DDB_EXPRESSION_WORDS = {"SET", "ADD", "REMOVE", "DELETE", "AND", "OR", "NOT", "BETWEEN", "IN", "attribute_exists",
                        "attribute_not_exists", "attribute_type", "begins_with", "contains", "size", "if_not_exists",
                        "list_append"}


def expression_attributes(request):
    """The attribute names a DynamoDB request touches (what IAM's dynamodb:Attributes key holds)."""
    names = set((request.get("Key") or {}).keys()) | set((request.get("Item") or {}).keys())
    aliases = request.get("ExpressionAttributeNames") or {}
    for field in ("UpdateExpression", "ConditionExpression", "ProjectionExpression", "KeyConditionExpression", "FilterExpression"):
        text = request.get(field) or ""
        text = re.sub(r":[A-Za-z0-9_]+", " ", text)  # values
        for token in re.findall(r"#?[A-Za-z_][A-Za-z0-9_]*", text):
            if token in DDB_EXPRESSION_WORDS:
                continue
            names.add(aliases.get(token, token) if token.startswith("#") else token)
    return names


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []  # (key id, action, resource, attributes or None)
        self.iterators = {}  # DynamoDB Streams shard iterator -> its stream's ARN (GetRecords names only the iterator)

    def add(self, key, action, resource, attributes=None):
        with self.lock:
            self.calls.append((key, action, resource, frozenset(attributes) if attributes is not None else None))

    def of(self, key):
        with self.lock:
            return [c[1:] for c in self.calls if c[0] == key]


RECORDER = Recorder()


def table_arn(name):
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


# SES identities made on moto: a From address is sent as the address's own identity if it is one, else its domain's.
SES_IDENTITIES = set()


def ses_identity_arn(address):
    address = address.split("<")[-1].rstrip(">").strip()
    name = address if address in SES_IDENTITIES else address.rpartition("@")[2]
    return f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{name}"


def note_response(headers, body, answer):
    """Remembers which stream each shard iterator moto hands out reads (GetRecords names only the iterator)."""
    target = headers.get("X-Amz-Target", "")
    if not target.startswith("DynamoDBStreams_"):
        return
    try:
        request, response = json.loads(body or b"{}"), json.loads(answer or b"{}")
    except ValueError:
        return
    with RECORDER.lock:
        stream = request.get("StreamArn") or RECORDER.iterators.get(request.get("ShardIterator"))
        for key in ("ShardIterator", "NextShardIterator"):
            if response.get(key) and stream:
                RECORDER.iterators[response[key]] = stream


def record(headers, method, path, query, body):
    """Turns one signed request into the IAM actions it needs, attributed to the signing key id."""
    auth = headers.get("Authorization", "")
    match = re.search(r"Credential=([^/]+)/\d+/[^/]+/([^/]+)/", auth)
    if match:
        key, service = match.groups()
    else:
        credential = urllib.parse.parse_qs(query).get("X-Amz-Credential", [""])[0]
        parts = credential.split("/")
        if len(parts) < 4:
            return  # unsigned (moto's own API, JWKS): not a call IAM would see
        key, service = parts[0], parts[3]
    target = headers.get("X-Amz-Target", "")
    operation = target.split(".")[-1]
    payload = json.loads(body or b"{}") if service in ("dynamodb", "cognito-idp", "secretsmanager", "events") else {}
    if service == "dynamodb" and target.startswith("DynamoDBStreams_"):
        if operation == "ListStreams":
            RECORDER.add(key, "dynamodb:ListStreams", table_arn(payload.get("TableName", "?")) + "/stream/*")
        elif operation == "GetRecords":
            with RECORDER.lock:
                stream = RECORDER.iterators.get(payload.get("ShardIterator"), "unknown-iterator")
            RECORDER.add(key, "dynamodb:GetRecords", stream)
        else:
            RECORDER.add(key, f"dynamodb:{operation}", payload.get("StreamArn", "?"))
    elif service == "dynamodb":
        if operation == "TransactWriteItems":
            for item in payload.get("TransactItems", []):
                for kind, action in (("Put", "PutItem"), ("Update", "UpdateItem"), ("Delete", "DeleteItem"),
                                     ("ConditionCheck", "ConditionCheckItem")):
                    if kind in item:
                        RECORDER.add(key, f"dynamodb:{action}", table_arn(item[kind]["TableName"]), expression_attributes(item[kind]))
        elif operation in ("BatchGetItem", "BatchWriteItem"):
            for table in payload.get("RequestItems", {}):
                RECORDER.add(key, f"dynamodb:{operation}", table_arn(table))
        else:
            resource = table_arn(payload.get("TableName", "?"))
            if payload.get("IndexName"):
                resource += "/index/" + payload["IndexName"]
            RECORDER.add(key, f"dynamodb:{operation}", resource, expression_attributes(payload))
    elif service == "cognito-idp":
        pool = payload.get("UserPoolId")
        RECORDER.add(key, f"cognito-idp:{operation}",
                     f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{pool}" if pool else "client:" + payload.get("ClientId", "?"))
    elif service == "secretsmanager":
        RECORDER.add(key, f"secretsmanager:{operation}", payload.get("SecretId", "?"))
    elif service == "events":
        for entry in payload.get("Entries", []):
            bus = entry.get("EventBusName") or "default"
            RECORDER.add(key, f"events:{operation}", bus if bus.startswith("arn:") else f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}")
    elif service == "ses" and method == "POST" and path == "/v2/email/outbound-emails":
        RECORDER.add(key, "ses:SendEmail", ses_identity_arn(json.loads(body or b"{}").get("FromEmailAddress", "?")))
    elif service == "s3":
        bucket_key = urllib.parse.unquote(path.lstrip("/"))
        arn = "arn:aws:s3:::" + bucket_key
        if method in ("GET", "HEAD"):
            RECORDER.add(key, "s3:GetObject", arn)  # HeadObject is authorised as s3:GetObject
        elif method == "PUT" and "x-amz-copy-source" in {h.lower() for h in headers}:
            source = urllib.parse.unquote(headers.get("x-amz-copy-source", "")).lstrip("/")
            RECORDER.add(key, "s3:GetObject", "arn:aws:s3:::" + source)
            RECORDER.add(key, "s3:PutObject", arn)
        elif method == "PUT":
            RECORDER.add(key, "s3:PutObject", arn)
        elif method == "DELETE":
            RECORDER.add(key, "s3:DeleteObject", arn)
    else:
        RECORDER.add(key, f"{service}:{method}", path)


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parsed = urllib.parse.urlsplit(self.path)
        record(self.headers, self.command, parsed.path, parsed.query, body)
        request = urllib.request.Request(MOTO + self.path, data=body if self.command in ("POST", "PUT") else None, method=self.command)
        for name, value in self.headers.items():
            if name.lower() not in ("host", "content-length", "connection"):
                request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, headers, data = response.status, response.getheaders(), response.read()
        except urllib.error.HTTPError as error:
            status, headers, data = error.code, error.headers.items(), error.read()
        if status == 200:
            note_response(self.headers, body, data)
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(name, value)
        # A HEAD answer announces the object's length without a body.
        length = dict((k.lower(), v) for k, v in headers).get("content-length", "0") if self.command == "HEAD" else str(len(data))
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward


def start_proxy():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# ---------------------------------------------------------------------------------------------- the stack on moto

template, problems = decode(TEMPLATE)
if problems:
    sys.exit("\n".join(map(str, problems)))
RESOURCES = template["Resources"]
RUN = uuid.uuid4().hex[:8]


def refusing_listener():
    """A port that accepts connections and closes them at once: the events webhook's TLS handshake fails there
    immediately (a closed port would make the HTTP client retry its connection for the request's 10 s)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)

    def serve():
        while True:
            connection, _ = listener.accept()
            connection.close()
    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


PARAMETERS = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}
# The optional parameters set, so that their conditional grants are in play: mail through an SES identity (made on
# moto below, as the deployer verifies it in SES), and an events webhook (a port that hangs up: each POST fails at once
# and is retried later, which is all the grants need; scripts/events-stream checks deliveries).
OVERRIDES = {"MailIdentity": f"shop-{RUN}.example.test", "MailFrom": f"shop@shop-{RUN}.example.test",
             "EventsWebhookUrl": f"https://127.0.0.1:{refusing_listener()}/hook", "AlarmEmail": "ops@example.test"}
for name, value in OVERRIDES.items():
    pattern = template["Parameters"][name].get("AllowedPattern")
    if pattern and not re.fullmatch(pattern, value):
        sys.exit(f"stack-test: {name}={value!r} does not match the template's AllowedPattern {pattern!r}")
PARAMETERS.update(OVERRIDES)
FUNCTIONS = {lid: r for lid, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
GLOBAL_ENV = template["Globals"]["Function"]["Environment"]["Variables"]
aws = dict(endpoint_url=MOTO, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
ddb, idp, s3, sm = (boto3.client(n, **aws) for n in ("dynamodb", "cognito-idp", "s3", "secretsmanager"))
events_client, sqs, sns, sesv2 = (boto3.client(n, **aws) for n in ("events", "sqs", "sns", "sesv2"))
PHYSICAL = {}      # logical id -> what !Ref gives
ATTRIBUTES = {}    # (logical id, attribute) -> what !GetAtt gives
NO_VALUE = object()  # AWS::NoValue: the property (or list item) is left out


def condition(name):
    """A template condition, evaluated with PARAMETERS (Fn::Equals of parameters and strings, Fn::Not, Fn::And, Fn::Or,
    Condition)."""
    def literal(value):
        if isinstance(value, dict) and list(value) == ["Ref"] and value["Ref"] in PARAMETERS:
            return PARAMETERS[value["Ref"]]
        if isinstance(value, str):
            return value
        raise KeyError(f"condition {name}: {value} not emulated")

    def evaluate(value):
        if isinstance(value, dict) and len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Fn::Equals":
                return literal(arg[0]) == literal(arg[1])
            if fn == "Fn::Not":
                return not evaluate(arg[0])
            if fn == "Fn::And":
                return all(evaluate(a) for a in arg)
            if fn == "Fn::Or":
                return any(evaluate(a) for a in arg)
            if fn == "Condition":
                return condition(arg)
        raise KeyError(f"condition {name}: {value} not emulated")
    return evaluate(template["Conditions"][name])


def exists(lid):
    """Whether the stack would have the resource (its Condition, if any, holds)."""
    return "Condition" not in RESOURCES[lid] or condition(RESOURCES[lid]["Condition"])

# Tables, through create-tables and the template's variable names.
tables = {lid for lid, r in RESOURCES.items() if r["Type"] == "AWS::DynamoDB::Table"}
create_env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="", AWS_REGION=REGION)
for variable, value in GLOBAL_ENV.items():
    if isinstance(value, dict) and value.get("Ref") in tables:
        create_env[variable] = f"stack-{RUN}-{value['Ref']}"
for lid in tables:
    PHYSICAL[lid] = f"stack-{RUN}-{lid}"
    ATTRIBUTES[(lid, "Arn")] = table_arn(PHYSICAL[lid])
subprocess.run([SHOP, "aws", "create-tables", "--endpoint", MOTO], check=True, env=create_env, stdout=subprocess.DEVNULL)

# The user pool, its client and group, as the template describes them.
for lid, r in RESOURCES.items():
    props = r.get("Properties", {})
    if r["Type"] == "AWS::Cognito::UserPool":
        pool = idp.create_user_pool(PoolName=f"stack-{RUN}", UsernameAttributes=props["UsernameAttributes"],
                                    AutoVerifiedAttributes=props["AutoVerifiedAttributes"],
                                    Policies={"PasswordPolicy": props["Policies"]["PasswordPolicy"]})["UserPool"]
        PHYSICAL[lid] = pool["Id"]
        ATTRIBUTES[(lid, "Arn")] = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{pool['Id']}"
for lid, r in RESOURCES.items():
    props = r.get("Properties", {})
    if r["Type"] == "AWS::Cognito::UserPoolClient":
        client = idp.create_user_pool_client(
            UserPoolId=PHYSICAL[props["UserPoolId"]["Ref"]], ClientName="web", GenerateSecret=props["GenerateSecret"],
            ExplicitAuthFlows=props["ExplicitAuthFlows"], ReadAttributes=props["ReadAttributes"],
            WriteAttributes=props["WriteAttributes"])["UserPoolClient"]
        PHYSICAL[lid] = client["ClientId"]
    elif r["Type"] == "AWS::Cognito::UserPoolGroup":
        idp.create_group(GroupName=props["GroupName"], UserPoolId=PHYSICAL[props["UserPoolId"]["Ref"]])
        PHYSICAL[lid] = props["GroupName"]
POOL = next(PHYSICAL[lid] for lid, r in RESOURCES.items() if r["Type"] == "AWS::Cognito::UserPool")
CLIENT = next(PHYSICAL[lid] for lid, r in RESOURCES.items() if r["Type"] == "AWS::Cognito::UserPoolClient")

# The Events table's stream, as !GetAtt EventsTable.StreamArn gives it.
for lid in tables:
    stream = ddb.describe_table(TableName=PHYSICAL[lid])["Table"].get("LatestStreamArn")
    if stream:
        ATTRIBUTES[(lid, "StreamArn")] = stream

# Buckets, distributions, secrets.
for lid, r in RESOURCES.items():
    if r["Type"] == "AWS::S3::Bucket":
        PHYSICAL[lid] = f"stack-{RUN}-{lid.lower()}"
        s3.create_bucket(Bucket=PHYSICAL[lid])
        ATTRIBUTES[(lid, "Arn")] = "arn:aws:s3:::" + PHYSICAL[lid]
    elif r["Type"] == "AWS::CloudFront::Distribution":
        PHYSICAL[lid] = "E" + RUN.upper()
        ATTRIBUTES[(lid, "DomainName")] = f"{lid.lower()}.cloudfront.test"
    elif r["Type"] == "AWS::Logs::LogGroup":
        PHYSICAL[lid] = f"/stack/{RUN}/{lid}"
        ATTRIBUTES[(lid, "Arn")] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{PHYSICAL[lid]}"
STRIPE_KEY, WEBHOOK_SECRET = "sk_test_stack_" + RUN, "whsec_stack_" + RUN
SECRET_VALUES = {"CursorSecret": secrets.token_urlsafe(36), "EventsWebhookSecret": secrets.token_urlsafe(36),
                 "StripeSecret": json.dumps({"secretKey": STRIPE_KEY, "webhookSecret": WEBHOOK_SECRET})}
for lid, r in RESOURCES.items():
    if r["Type"] == "AWS::SecretsManager::Secret" and exists(lid):
        PHYSICAL[lid] = sm.create_secret(Name=f"stack-{RUN}/{lid}", SecretString=SECRET_VALUES[lid])["ARN"]

PSEUDO = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws", "AWS::StackName": f"stack-{RUN}",
          "AWS::URLSuffix": "amazonaws.com"}



def resolve(value):
    """A template value with its intrinsic functions replaced by the emulated stack's values."""
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Fn::If":
            chosen = resolve(arg[1] if condition(arg[0]) else arg[2])
            return chosen
        if fn == "Ref" and arg == "AWS::NoValue":
            return NO_VALUE
        if fn == "Ref":
            if arg in PARAMETERS:
                return PARAMETERS[arg]
            if arg in PSEUDO:
                return PSEUDO[arg]
            if arg not in PHYSICAL:
                raise KeyError(f"!Ref {arg}: not emulated")
            return PHYSICAL[arg]
        if fn == "Fn::GetAtt":
            lid, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            if (lid, attribute) not in ATTRIBUTES:
                raise KeyError(f"!GetAtt {lid}.{attribute}: not emulated")
            return ATTRIBUTES[(lid, attribute)]
        if fn == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]

            def one(match):
                name = match.group(1)
                return resolve({"Fn::GetAtt": name} if "." in name and not name.startswith("AWS::") else {"Ref": name})
            return re.sub(r"\$\{([^}]+)\}", one, text)
        raise KeyError(f"{fn}: not emulated")
    if isinstance(value, list):
        return [x for x in (resolve(v) for v in value) if x is not NO_VALUE]
    if isinstance(value, dict):
        return {k: x for k, x in ((k, resolve(v)) for k, v in value.items()) if x is not NO_VALUE}
    return str(value) if isinstance(value, (int, float, bool)) and not isinstance(value, bool) else value


# The order events' bus, dead-letter queue and alarm topic (after resolve: their names are !Subs of the stack's).
for lid, r in RESOURCES.items():
    props = r.get("Properties", {})
    if not exists(lid):
        continue
    if r["Type"] == "AWS::Events::EventBus":
        PHYSICAL[lid] = resolve(props["Name"])
        ATTRIBUTES[(lid, "Arn")] = events_client.create_event_bus(Name=PHYSICAL[lid])["EventBusArn"]
    elif r["Type"] == "AWS::SQS::Queue":
        PHYSICAL[lid] = sqs.create_queue(QueueName=f"stack-{RUN}-{lid}")["QueueUrl"]
        ATTRIBUTES[(lid, "Arn")] = sqs.get_queue_attributes(QueueUrl=PHYSICAL[lid], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        ATTRIBUTES[(lid, "QueueName")] = f"stack-{RUN}-{lid}"
    elif r["Type"] == "AWS::SNS::Topic":
        PHYSICAL[lid] = sns.create_topic(Name=f"stack-{RUN}-{lid}")["TopicArn"]
# The SES identity MailIdentity names: verified by the deployer, not made by the template.
if PARAMETERS.get("MailIdentity"):
    sesv2.create_email_identity(EmailIdentity=PARAMETERS["MailIdentity"])
    SES_IDENTITIES.add(PARAMETERS["MailIdentity"])


def function_environment(lid, proxy):
    """Only the template's variables, plus what stands for AWS: endpoints, credentials, region, _HANDLER."""
    props = FUNCTIONS[lid]["Properties"]
    env = {k: resolve(v) for k, v in GLOBAL_ENV.items()}
    env.update({k: resolve(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()})
    env = {k: v for k, v in env.items() if v is not NO_VALUE}
    aws_itself = {
        "_HANDLER": props.get("Handler", template["Globals"]["Function"].get("Handler")),
        "AWS_ACCESS_KEY_ID": lid, "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "session-" + lid,
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_LAMBDA_FUNCTION_NAME": lid,
        "SHOP_DYNAMODB_ENDPOINT": proxy, "SHOP_COGNITO_ENDPOINT": proxy, "SHOP_S3_ENDPOINT": proxy,
        "SHOP_SECRETSMANAGER_ENDPOINT": proxy, "SHOP_EVENTBRIDGE_ENDPOINT": proxy, "SHOP_SES_ENDPOINT": proxy,
        "SHOP_COGNITO_JWKS_URL": f"{MOTO}/{POOL}/.well-known/jwks.json",
        "SHOP_STRIPE_API_BASE": STRIPE, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    overlap = set(env) & set(aws_itself)
    if overlap:
        raise RuntimeError(f"{lid}: the template sets {sorted(overlap)}, which only the emulation should")
    env.update(aws_itself)
    return env


# ---------------------------------------------------------------------------------------------- functions under RIE

SCHEDULED_EVENT = lambda_harness.sample("cloudwatch", "scheduled-event")


class Function(lambda_harness.Function):
    """One function of the template under the emulator, with the environment the template gives it."""

    def __init__(self, lid, env):
        self.lid = lid
        super().__init__(lid, LAMBDA, env, LOG_DIR, fresh=True)

    def invoke(self, event):
        # As long as Lambda would wait: the function's Timeout (its own, else the template's global one), and a little.
        props = FUNCTIONS[self.lid]["Properties"]
        limit = int(props.get("Timeout", template["Globals"]["Function"].get("Timeout", 3)))
        return super().invoke(event, timeout=limit + 5)


def routes_of(lid):
    """(method, path, authorizer) of each HttpApi event the template gives the function."""
    out = []
    for event in FUNCTIONS[lid]["Properties"].get("Events", {}).values():
        if event["Type"] == "HttpApi":
            p = event["Properties"]
            out.append((p["Method"], p["Path"], p.get("Auth", {}).get("Authorizer", "CognitoAuthorizer")))
    return out


def claims_of(token):
    """What API Gateway's JWT authorizer hands on: the token's claims, every value a string, lists as [a b]."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return {k: ("[" + " ".join(v) + "]") if isinstance(v, list) else str(v) for k, v in claims.items()}


class Stack:
    def __init__(self, proxy):
        self.proxy = proxy
        self.functions = {}
        try:
            for lid in FUNCTIONS:
                self.functions[lid] = Function(lid, function_environment(lid, proxy))
        except Exception:
            self.stop()  # none left running
            raise
        self.route_owner = {}
        for lid in FUNCTIONS:
            for method, path, auth in routes_of(lid):
                self.route_owner[(method, path)] = (lid, auth)
        self.exercised = set()

    def request(self, method, path, body=None, token=None, headers=None, query=""):
        """As API Gateway would route it: the template's route decides the function and the authorizer."""
        route = next(((m, p) for (m, p) in self.route_owner
                      if m == method and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", p), path)), None)
        if route is None:
            raise KeyError(f"the template has no route {method} {path}")
        lid, auth = self.route_owner[route]
        self.exercised.add(route)
        headers, claims = dict(headers or {}), None
        if auth != "NONE":
            if token is None:
                return {"statusCode": 401, "body": '{"message":"Unauthorized"}'}  # the authorizer's own answer
            claims = claims_of(token)
        if token is not None:
            headers["authorization"] = "Bearer " + token
        event = lambda_harness.http_event(method, path, body, headers, query, claims=claims, route_key=f"{method} {route[1]}")
        return self.functions[lid].invoke(event)

    def stop(self):
        for fn in self.functions.values():
            fn.stop()


def stripe(path, form):
    request = urllib.request.Request(STRIPE + path, data=form.encode(), method="POST",
                                     headers={"Authorization": "Bearer " + STRIPE_KEY,
                                              "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def signed_event(intent, order_id):
    event = {"id": "evt_stack" + secrets.token_hex(8), "object": "event", "type": "payment_intent.succeeded",
             "created": int(time.time()),
             "data": {"object": {"id": intent["id"], "object": "payment_intent", "amount": intent["amount"],
                                 "currency": intent["currency"], "status": "succeeded", "metadata": {"orderId": order_id},
                                 "last_payment_error": None}}}
    body = json.dumps(event, separators=(",", ":"))
    t = int(time.time())
    signature = hmac.new(WEBHOOK_SECRET.encode(), f"{t}.".encode() + body.encode(), hashlib.sha256).hexdigest()
    return body, f"t={t},v1={signature}"


PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def scenario(stack):
    r = stack.request

    def ok(name, result, status, detail=None):
        return check(name, result.get("statusCode") == status, detail or result)

    # auth: sign-up, confirmation (moto takes any code), sign-in, refresh, profile, sign-out.
    def account(email):
        ok(f"auth: register {email}", r("POST", "/auth/register", {"email": email, "password": "Passw0rd!", "name": "Stack"}), 202)
        ok("auth: confirm", r("POST", "/auth/confirm", {"email": email, "code": "123456"}), 204)
        result = r("POST", "/auth/login", {"email": email, "password": "Passw0rd!"})
        ok("auth: login", result, 200)
        return payload(result)

    shopper = account(f"shopper-{RUN}@example.com")
    admin_email = f"admin-{RUN}@example.com"
    account(admin_email)
    # Making an admin is `shop admin create`'s job, not a function's: done here on moto directly.
    idp.admin_add_user_to_group(UserPoolId=POOL, Username=admin_email, GroupName="admin")
    admin = payload(r("POST", "/auth/login", {"email": admin_email, "password": "Passw0rd!"}))
    ok("auth: refresh", r("POST", "/auth/refresh", {"refreshToken": shopper["refreshToken"]}), 200)
    me = r("GET", "/auth/me", token=shopper["accessToken"])
    ok("auth: me with an access token (AdminGetUser)", me, 200)
    ok("auth: me without a token is the authorizer's 401", r("GET", "/auth/me"), 401)
    spare = payload(r("POST", "/auth/login", {"email": f"shopper-{RUN}@example.com", "password": "Passw0rd!"}))
    # moto 5.2.1 has no RevokeToken (it answers 500, which the API turns into 503 identity_unavailable after its
    # retries); Tests/ShopAPITests/CognitoAuthTests.swift tests logout against a scripted Cognito. Here the
    # route is reached and its Cognito call recorded; the status shows the moto gap, not the wiring.
    before = len([c for c in RECORDER.of("AuthFunction") if c[0] == "cognito-idp:RevokeToken"])
    logout = r("POST", "/auth/logout", {"refreshToken": spare["refreshToken"]}, token=spare["accessToken"])
    check("auth: logout reaches Cognito's RevokeToken (moto lacks it: 503)",
          logout.get("statusCode") in (204, 503) and len([c for c in RECORDER.of("AuthFunction") if c[0] == "cognito-idp:RevokeToken"]) > before,
          logout)

    # products: the public reads, the admin's writes, an image through a presigned URL.
    ok("products: health", r("GET", "/health"), 200)
    ok("products: openapi.json", r("GET", "/openapi.json"), 200)
    created = r("POST", "/products", {"name": "Stack mug", "price": 1200, "currency": "USD", "category": "mugs", "quantity": 10},
                token=admin["idToken"])
    ok("products: create as admin", created, 201)
    pid = payload(created)["id"]
    ok("products: create as a shopper is 403", r("POST", "/products", {"name": "x", "price": 1, "category": "c"}, token=shopper["idToken"]), 403)
    ok("products: list", r("GET", "/products", query="limit=5"), 200)
    ok("products: list by category", r("GET", "/products", query="category=mugs"), 200)
    ok("products: get", r("GET", f"/products/{pid}"), 200)
    ok("products: update", r("PUT", f"/products/{pid}", {"name": "Stack mug II", "price": 1250, "currency": "USD", "category": "mugs"},
                             token=admin["idToken"]), 200)
    ok("products: stock", r("POST", f"/products/{pid}/stock", {"delta": 5}, token=admin["idToken"]), 200)
    upload = r("POST", f"/products/{pid}/image", {"contentType": "image/png"}, token=admin["idToken"])
    if ok("products: start an image upload", upload, 200):
        u = payload(upload)
        request = urllib.request.Request(u["uploadUrl"], data=PNG, method="PUT", headers=u["headers"])
        with urllib.request.urlopen(request, timeout=10) as response:  # the browser, through the proxy
            check("products: the browser PUTs to the presigned URL", response.status == 200, response.status)
        committed = r("POST", f"/products/{pid}/image/commit", {"key": u["key"]}, token=admin["idToken"])
        ok("products: commit the image", committed, 200)
        check("products: the image is served from the template's SHOP_IMAGE_BASE_URL",
              (payload(committed) or {}).get("imageUrl", "").startswith("https://imagesdistribution.cloudfront.test/"), payload(committed))
    other = payload(r("POST", "/products", {"name": "Doomed", "price": 100, "category": "mugs", "quantity": 1}, token=admin["idToken"]))
    ok("products: delete", r("DELETE", f"/products/{other['id']}", token=admin["idToken"]), 204)
    # Variants: a product in two sizes, one size's stock, then an edit that removes the other (which first asks the
    # Orders table's ByStatus index whether an unpaid order holds it).
    sized = payload(r("POST", "/products", {"name": "Stack tee", "category": "mugs", "options": [{"name": "Size", "values": ["S", "M"]}],
                                           "variants": [{"options": {"Size": "S"}, "price": 900, "quantity": 3},
                                                        {"options": {"Size": "M"}, "price": 900, "quantity": 4}]}, token=admin["idToken"]))
    if sized:
        small = sized["variants"][0]
        ok("products: a variant's stock", r("POST", f"/products/{sized['id']}/variants/{small['id']}/stock", {"delta": 2},
                                            token=admin["idToken"]), 200)
        trimmed = r("PUT", f"/products/{sized['id']}", {"name": "Stack tee", "category": "mugs", "options": [{"name": "Size", "values": ["S"]}],
                                                        "variants": [{"id": small["id"], "options": {"Size": "S"}, "price": 900}]},
                    token=admin["idToken"])
        ok("products: an edit removes a variant", trimmed, 200)
        vupload = r("POST", f"/products/{sized['id']}/variants/{small['id']}/image", {"contentType": "image/png"}, token=admin["idToken"])
        if ok("products: start a variant's image upload", vupload, 200):
            vu = payload(vupload)
            request = urllib.request.Request(vu["uploadUrl"], data=PNG, method="PUT", headers=vu["headers"])
            with urllib.request.urlopen(request, timeout=10) as response:
                check("products: the browser PUTs the variant's image", response.status == 200, response.status)
            vcommitted = r("POST", f"/products/{sized['id']}/variants/{small['id']}/image/commit", {"key": vu["key"]}, token=admin["idToken"])
            ok("products: commit the variant's image", vcommitted, 200)
            check("products: the variant has its image, the product none", [bool(v["imageUrl"]) for v in (payload(vcommitted) or {}).get("variants", [])]
                  == [True] and (payload(vcommitted) or {}).get("imageUrl") is None, payload(vcommitted))
        check("products: the kept variant keeps its stock", [v["quantity"] for v in (payload(trimmed) or {}).get("variants", [])] == [5],
              payload(trimmed))
    else:
        check("products: create a product with variants", False, "no product")

    # orders: place (with an idempotency key), list, get, cancel (stock back), fulfil a paid one. Every order
    # ships to Oregon by standard (an address and a method are required since issue 18).
    shipping = {"shippingAddress": {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Portland", "region": "OR",
                                    "postalCode": "97201", "country": "US"},
                "shippingMethodId": "standard"}

    def place(quantity=1):
        result = r("POST", "/orders", {"lines": [{"productId": pid, "quantity": quantity}], **shipping}, token=shopper["accessToken"],
                   headers={"idempotency-key": "stack-" + uuid.uuid4().hex})
        ok("orders: place", result, 201)
        return payload(result)

    first = place()
    replay_key = "stack-replay-" + RUN
    replayed = [r("POST", "/orders", {"lines": [{"productId": pid, "quantity": 1}], **shipping}, token=shopper["accessToken"],
                  headers={"idempotency-key": replay_key}) for _ in range(2)]
    check("orders: a replayed Idempotency-Key answers the same order",
          [x.get("statusCode") for x in replayed][0] == 201 and payload(replayed[0])["id"] == payload(replayed[1])["id"],
          replayed)
    ok("orders: cancel the replayed order", r("POST", f"/orders/{payload(replayed[0])['id']}/cancel", token=shopper["accessToken"]), 200)
    ok("orders: list mine", r("GET", "/orders", token=shopper["accessToken"]), 200)
    ok("orders: list mine by status", r("GET", "/orders", token=shopper["accessToken"], query="status=PENDING_PAYMENT"), 200)
    ok("orders: list all as admin", r("GET", "/orders", token=admin["idToken"], query="all=true"), 200)
    ok("orders: list all by status as admin", r("GET", "/orders", token=admin["idToken"], query="all=true&status=CANCELLED"), 200)
    # The merchant's figures: the Stats table and the products' ByStock index.
    ok("orders: the merchant's figures (GET /admin/stats)", r("GET", "/admin/stats", token=admin["idToken"]), 200)
    ok("orders: get", r("GET", f"/orders/{first['id']}", token=shopper["accessToken"]), 200)
    ok("orders: cancel an unpaid order", r("POST", f"/orders/{first['id']}/cancel", token=shopper["accessToken"]), 200)

    # payment: config, start (Stripe = localstripe), the card confirmed as Stripe.js would, the signed webhook.
    ok("payment: config", r("GET", "/payment/config"), 200)

    def pay(order):
        started = r("POST", "/payment", {"orderId": order["id"]}, token=shopper["accessToken"])
        ok("payment: start", started, 201)
        intent_id = payload(started)["paymentId"]
        stripe(f"/v1/payment_intents/{intent_id}", "payment_method=pm_card_visa")
        intent = stripe(f"/v1/payment_intents/{intent_id}/confirm", "")
        body, signature = signed_event(intent, order["id"])
        ok("payment: the signed webhook", r("POST", "/payment/webhook", body, headers={"stripe-signature": signature}), 200)
        ok("payment: a forged webhook is 400", r("POST", "/payment/webhook", body, headers={"stripe-signature": "t=1,v1=00"}), 400)
        order_now = payload(r("GET", f"/orders/{order['id']}", token=shopper["accessToken"]))
        check("payment: the order is PAID", order_now.get("status") == "PAID", order_now)

    second = place()
    pay(second)
    fulfilled = r("POST", f"/orders/{second['id']}/fulfil", {"carrier": "UPS", "trackingNumber": "1Z999", "trackingUrl": "https://ups.example/1Z999"},
                  token=admin["idToken"])
    ok("orders: fulfil a paid order with tracking", fulfilled, 200)
    check("orders: the shopper sees the shipment",
          (payload(r("GET", f"/orders/{second['id']}", token=shopper["accessToken"])) or {}).get("shipment", {}).get("trackingNumber") == "1Z999",
          fulfilled)
    timeline = r("GET", f"/orders/{second['id']}/events", token=shopper["accessToken"])
    ok("orders: the order's events (GET /orders/{id}/events)", timeline, 200)
    check("orders: its events so far are placed, paid, fulfilled",
          [e.get("type") for e in (payload(timeline) or {}).get("items", [])] == ["order.placed", "order.paid", "order.fulfilled"],
          payload(timeline))

    # settings (products function) and quotes and address books (orders function), on their own tables.
    settings = r("GET", "/settings")
    ok("settings: the built-in default, public", settings, 200)
    document = {k: v for k, v in payload(settings).items() if k not in ("version", "updatedAt")}
    ok("settings: a shopper may not replace them", r("PUT", "/settings", document, token=shopper["idToken"]), 403)
    stored = r("PUT", "/settings", document, token=admin["idToken"], headers={"if-match": '"s0"'})
    ok("settings: the admin stores them (If-Match s0)", stored, 200)
    ok("settings: a stale If-Match is 412", r("PUT", "/settings", document, token=admin["idToken"], headers={"if-match": '"s0"'}), 412)
    quote = r("POST", "/orders/quote", {"lines": [{"productId": pid, "quantity": 1}], **shipping})
    ok("orders: a public quote", quote, 200)
    saved = r("POST", "/account/addresses", shipping["shippingAddress"], token=shopper["accessToken"])
    ok("account: save an address", saved, 201)
    aid = (payload(saved) or {}).get("id", "missing")
    ok("account: list addresses", r("GET", "/account/addresses", token=shopper["accessToken"]), 200)
    ok("account: update an address", r("PUT", f"/account/addresses/{aid}", {**shipping["shippingAddress"], "line2": "Apt 4"},
                                       token=shopper["accessToken"]), 200)
    by_id = r("POST", "/orders", {"lines": [{"productId": pid, "quantity": 1}], "addressId": aid, "shippingMethodId": "standard"},
              token=shopper["accessToken"])
    ok("orders: place with a saved address", by_id, 201)
    ok("orders: cancel it", r("POST", f"/orders/{payload(by_id)['id']}/cancel", token=shopper["accessToken"]), 200)
    ok("account: delete an address", r("DELETE", f"/account/addresses/{aid}", token=shopper["accessToken"]), 204)
    third = place()
    pay(third)
    cancelled = r("POST", f"/orders/{third['id']}/cancel", token=shopper["accessToken"])
    ok("orders: cancel a paid order (refunded through Stripe)", cancelled, 200)


    # A refund that fails at Stripe stays due, and the sweep retries it: an order marked PAID by a signed
    # success event whose PaymentIntent localstripe never confirmed (so it has no charge to refund).
    unrefundable = place()
    started = r("POST", "/payment", {"orderId": unrefundable["id"]}, token=shopper["accessToken"])
    ok("payment: start (never charged at Stripe)", started, 201)
    p = payload(started)
    body, signature = signed_event({"id": p["paymentId"], "amount": p["amount"], "currency": p["currency"].lower()}, unrefundable["id"])
    ok("payment: its success event", r("POST", "/payment/webhook", body, headers={"stripe-signature": signature}), 200)
    cancelled = payload(r("POST", f"/orders/{unrefundable['id']}/cancel", token=shopper["accessToken"]))
    check("orders: cancelling it leaves its refund due (Stripe refused it)",
          cancelled.get("status") == "CANCELLED" and (cancelled.get("payment") or {}).get("refundedAmount") == 0, cancelled)

    # sweep: an overdue order (its ExpiresAt moved into the past on moto) is expired by the schedule's event.
    overdue = place(2)
    ddb.update_item(TableName=PHYSICAL["OrdersTable"], Key={"OrderID": {"S": overdue["id"]}},
                    UpdateExpression="SET ExpiresAt = :past", ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 60)}})
    swept = stack.functions["SweepFunction"].invoke(SCHEDULED_EVENT)
    check("sweep: the scheduled event expires the overdue order and retries the due refund",
          isinstance(swept, dict) and swept.get("expired", 0) >= 1 and swept.get("refundsRetried", 0) >= 1, swept)
    expired = payload(r("GET", f"/orders/{overdue['id']}", token=shopper["accessToken"]))
    check("sweep: the overdue order is CANCELLED", expired.get("status") == "CANCELLED", expired)

    # The outbox on AWS: the Events table's stream to the events function, as its event source mapping reads it (with
    # the function's own credentials, through the recording proxy). One paid order's event is held back and made 10
    # minutes old, as if the stream had given up on it: the sweep dispatches it and sends its email.
    poller = boto3.client("dynamodbstreams", endpoint_url=stack.proxy, region_name=REGION, aws_access_key_id="EventsFunction",
                          aws_secret_access_key="testing", aws_session_token="session-EventsFunction")
    stream = ATTRIBUTES[("EventsTable", "StreamArn")]
    records = []
    for shard in poller.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"]:
        iterator = poller.get_shard_iterator(StreamArn=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            page = poller.get_records(ShardIterator=iterator, Limit=1000)
            if not page["Records"]:
                break
            records += [dict(json.loads(json.dumps(x, default=lambda d: d.timestamp())), eventSourceARN=stream) for x in page["Records"]]
            iterator = page.get("NextShardIterator")
    def is_event(x, order_id=None, key=None):
        image = x["dynamodb"].get("NewImage") or {}
        return (x["eventName"] == "INSERT" and image.get("Kind") == {"S": "event"}
                and (order_id is None or image.get("OrderID") == {"S": order_id}) and (key is None or image.get("Key") == {"S": key}))
    check("events: the stream has the orders' events (placed, paid, fulfilled, cancelled, refunded)",
          {x["dynamodb"]["NewImage"]["Type"]["S"] for x in records if is_event(x)}
          >= {"order.placed", "order.paid", "order.fulfilled", "order.cancelled", "order.refunded"},
          sorted({x["dynamodb"]["NewImage"]["Type"]["S"] for x in records if is_event(x)}))
    held = [x for x in records if is_event(x, second["id"], "2")]
    check("events: the stream has the held-back order.paid", len(held) == 1, len(held))
    old = str(int(time.time() * 1000) - 600_000)
    ddb.update_item(TableName=PHYSICAL["EventsTable"], Key={"OrderID": {"S": second["id"]}, "Key": {"S": "2"}},
                    UpdateExpression="SET OccurredAt = :old, DueAt = :old", ExpressionAttributeValues={":old": {"N": old}})
    batch = [x for x in records if x not in held]
    size = FUNCTIONS["EventsFunction"]["Properties"]["Events"]["Stream"]["Properties"]["BatchSize"]
    failures = []
    for start in range(0, len(batch), size):
        # In the template's batches, each within the template's Timeout (or the emulator's wait fails the run).
        answer = stack.functions["EventsFunction"].invoke({"Records": batch[start:start + size]})
        failures += (answer or {}).get("batchItemFailures", ["no answer: %r" % (answer,)])
    check(f"events: the function took {len(batch)} stream records with no batchItemFailures", not failures, failures)
    swept = stack.functions["SweepFunction"].invoke(SCHEDULED_EVENT)
    check("sweep: it dispatches the event the stream did not, and sends its email",
          isinstance(swept, dict) and swept.get("eventsDispatched", 0) >= 1 and swept.get("deliveriesSent", 0) >= 1, swept)
    timeline = payload(r("GET", f"/orders/{second['id']}/events", token=admin["idToken"])) or {}
    emails = [(e.get("type"), m.get("template"), m.get("status")) for e in timeline.get("items", []) for m in e.get("emails", [])]
    check("events: the fulfilled order's confirmation (by the sweep) and shipping email (by the events function) are sent",
          sorted(emails) == [("order.fulfilled", "order-shipped", "sent"), ("order.paid", "order-confirmation", "sent")], timeline)

    missing = set(stack.route_owner) - stack.exercised
    check("every route of the template was exercised", not missing, sorted(missing))


# ---------------------------------------------------------------------------------------------- least privilege

# Granted but never called on moto, each with its reason.
UNUSED_GRANTS = {
    "*": {
        ("logs:CreateLogStream", "*"): "written by Lambda's own log delivery with the function's role, never by the code",
        ("logs:PutLogEvents", "*"): "written by Lambda's own log delivery with the function's role, never by the code",
        ("xray:PutTraceSegments", "*"): "sent by Lambda's X-Ray daemon with the function's role (active tracing); the code "
                                        "sends its subsegments to the daemon over UDP (scripts/lambda_cases.py checks them)",
        ("xray:PutTelemetryRecords", "*"): "sent by Lambda's X-Ray daemon with the function's role (active tracing), never by the code",
        ("ses:SendRawEmail", "*:identity/*"): "SES v2's SendEmail (raw content) is authorised as ses:SendEmail, which is "
                                              "proved; SendRawEmail is granted beside it, as AWS's own CDK grants both to "
                                              "an identity's senders, in case IAM checks raw content as that",
    },
    "EventsFunction": {
        ("dynamodb:GetItem", "*:table/*-EventsTable"): "read back only when a conditional write of the outbox fails (an event "
                                                      "dispatched already, a delivery another worker moved), which these runs do not provoke",
        ("dynamodb:ListStreams", "*/stream/*"): "in AWS's documented permissions for a DynamoDB stream's event source "
                                                "mapping (AWSLambdaDynamoDBExecutionRole); the mapping (and the poller "
                                                "emulated here) reads the stream by its ARN",
        ("sqs:SendMessage", "*"): "sent by the event source mapping's OnFailure destination with the function's role when "
                                  "a batch fails for good, never by the code (scripts/template_checks.py holds the mapping to it)",
    },
}
# Actions granted on "*" because their service has no resource-level permissions, each with its reason.
STAR_RESOURCES = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
}
# Called by the code but authorised by no IAM policy, each with its reason.
NOT_IAM = {
    "cognito-idp:SignUp": "a public Cognito operation: IAM does not authorise it",
    "cognito-idp:ConfirmSignUp": "a public Cognito operation: IAM does not authorise it",
    "cognito-idp:InitiateAuth": "a public Cognito operation: IAM does not authorise it",
    "cognito-idp:RevokeToken": "a public Cognito operation: IAM does not authorise it",
}


def statements(lid):
    role = FUNCTIONS[lid]["Properties"]["Role"]
    role_id = role["Fn::GetAtt"][0] if isinstance(role["Fn::GetAtt"], list) else role["Fn::GetAtt"].split(".")[0]
    out = []
    for policy in RESOURCES[role_id]["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if isinstance(statement, dict) and list(statement) == ["Fn::If"]:
                statement = statement["Fn::If"][1] if condition(statement["Fn::If"][0]) else statement["Fn::If"][2]
                if statement == {"Ref": "AWS::NoValue"}:
                    continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            raw = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            star = any(isinstance(x, str) and x.strip() == "*" for x in raw)
            if star and all(action in STAR_RESOURCES for action in actions):
                print(f"note {lid}: {statement.get('Sid', '?')} grants {', '.join(actions)} on '*': "
                      f"{'; '.join(sorted({STAR_RESOURCES[a] for a in actions}))}")
            else:
                check(f"{lid}: statement {statement.get('Sid', '?')} names no '*' resource", not star, raw)
            resources = [resolve(x) for x in raw]
            out.append((statement.get("Sid", "?"), statement["Effect"], actions, resources, statement.get("Condition")))
    return out


def condition_allows(condition, attributes):
    if not condition:
        return True
    for operator, keys in condition.items():
        for key, allowed in keys.items():
            allowed = allowed if isinstance(allowed, list) else [allowed]
            if operator == "ForAllValues:StringEquals" and key == "dynamodb:Attributes":
                if attributes is None or not set(attributes) <= set(allowed):
                    return False
            elif operator == "ForAllValues:StringLike" and key == "dynamodb:Attributes":
                # IAM's StringLike: `*` any run of characters, `?` one (fnmatchcase's `[` is not IAM's: none are used).
                if attributes is None or any("[" in pattern for pattern in allowed) \
                        or not all(any(fnmatch.fnmatchcase(a, pattern) for pattern in allowed) for a in attributes):
                    return False
            elif operator == "StringEqualsIfExists" and key == "dynamodb:ReturnValues":
                continue  # the code never asks for ReturnValues other than these (none at all on these writes)
            else:
                raise RuntimeError(f"condition {operator} {key} is not evaluated by this test: teach it")
    return True


USED_EXCEPTIONS = set()


def compare(lid):
    granted = statements(lid)
    calls = set(RECORDER.of(lid))
    used = set()
    for action, resource, attributes in sorted(calls, key=str):
        if action in NOT_IAM:
            continue
        matching = [i for i, (_, effect, actions, resources, condition) in enumerate(granted)
                    if effect == "Allow" and action in actions and any(fnmatch.fnmatchcase(resource, r) for r in resources)
                    and condition_allows(condition, attributes)]
        check(f"{lid}: calls {action} on {resource.split(':')[-1]}" + (f" touching {sorted(attributes)}" if attributes else "") + " and is granted it",
              bool(matching), "no statement of its role grants it")
        for i in matching:
            used.add((i, action, next(r for r in granted[i][3] if fnmatch.fnmatchcase(resource, r))))
    for i, (sid, effect, actions, resources, _) in enumerate(granted):
        for action in actions:
            for resource in resources:
                if (i, action, resource) in used:
                    continue
                found = next(((scope, a, pattern) for scope in ("*", lid) for (a, pattern) in UNUSED_GRANTS.get(scope, {})
                              if a == action and fnmatch.fnmatchcase(resource, pattern)), None)
                reason = UNUSED_GRANTS[found[0]][found[1:]] if found else None
                if found:
                    USED_EXCEPTIONS.add(found)
                if reason:
                    print(f"note {lid}: {sid} grants {action} on {resource.split(':')[-1]}, not called here: {reason}")
                else:
                    check(f"{lid}: {sid} grants {action} on {resource.split(':')[-1]}, which the code calls", False,
                          "granted but never called (remove it, or name it with a reason in UNUSED_GRANTS)")


def main():
    server, proxy = start_proxy()
    stack = None
    try:
        stack = Stack(proxy)
        scenario(stack)
    except Exception as error:  # a crash is a failure, not a pass
        import traceback
        traceback.print_exc()
        check("the emulated stack ran", False, repr(error))
    finally:
        if stack:
            stack.stop()
        server.shutdown()
    for lid in sorted(FUNCTIONS):
        compare(lid)
    stale = [(scope, a, p) for scope, grants in UNUSED_GRANTS.items() for (a, p) in grants if (scope, a, p) not in USED_EXCEPTIONS]
    check("every named exception is still needed", not stale, stale)
    with open(os.path.join(LOG_DIR, "recorded-actions.json"), "w") as f:
        json.dump({lid: sorted([a, r, sorted(x) if x else None] for a, r, x in set(RECORDER.of(lid))) for lid in FUNCTIONS}, f, indent=1)
    check.finish("stack")


main()
