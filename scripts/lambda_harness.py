"""The one harness that runs ShopLambda's functions under AWS's Lambda Runtime Interface Emulator, shared by
scripts/lambda_cases.py (scripts/lambda-test), scripts/stack_test.py (scripts/stack-test), scripts/events_stream.py
(scripts/events-stream) and bench/lambda.py:

    Function(name, bootstrap, env, log_dir)   one function under the emulator (shoptest.Emulator, shoptest.rie()),
                                              its output in log_dir/rie-NAME.log; `invoke(event)` answers its result
                                              or raises InvokeFailed naming the init failure its log shows
    sample(*kind)                             an event `sam local generate-event KIND...` makes (shoptest.sam())
    http_event(method, path, ...)             an API Gateway HTTP API (payload 2.0) event, from that sample
    rest_event(method, path, ...)             an API Gateway REST API (aws-proxy, payload 1.0) event
    result_body(result)                       a proxy result's body: JSON, else the text
    AWS_TEST_ENV                              the credentials and region moto takes

scripts/ must be on sys.path (it is for a script run from there).
"""
import base64
import copy
import json
import os
import subprocess
import urllib.error
import uuid

import shoptest

AWS_TEST_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "",
                "AWS_REGION": "us-east-1"}


class InvokeFailed(RuntimeError):
    """The emulator answered an HTTP error instead of the function's result (its init failed); `status` is the code."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


class Function(shoptest.Emulator):
    """One function under the emulator: `bootstrap` with the environment `env` (the whole of it: callers set
    _HANDLER), its output appended to log_dir/rie-NAME.log (emptied first if `fresh`)."""

    def __init__(self, name, bootstrap, env, log_dir, fresh=False):
        self.name = name
        os.makedirs(log_dir, exist_ok=True)
        log_path = os.path.join(log_dir, "rie-%s.log" % name)
        if fresh:
            open(log_path, "w").close()
        super().__init__(shoptest.rie(), bootstrap, env, log_path)

    def invoke(self, event, timeout=60):
        try:
            return super().invoke(event, timeout=timeout)
        except urllib.error.HTTPError as error:
            failures = [line.strip() for line in self.output().splitlines() if "initialization failed" in line]
            raise InvokeFailed("%s: the emulator answered %d; %s" % (self.name, error.code, failures[-1] if failures else "see " + self.log_path),
                               error.code) from None

    def log_text(self):
        """The whole log file, this emulator's output and what earlier ones of the same name wrote."""
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()


_SAMPLES = {}


def sample(*kind):
    """A fresh copy of the event `sam local generate-event KIND...` makes (sam is run once per kind)."""
    if kind not in _SAMPLES:
        out = subprocess.run([shoptest.sam(), "local", "generate-event", *kind], check=True, capture_output=True, text=True,
                             env=dict(os.environ, SAM_CLI_TELEMETRY="0")).stdout
        _SAMPLES[kind] = json.loads(out[out.index("{"):out.rindex("}") + 1])
    return copy.deepcopy(_SAMPLES[kind])


def http_event(method, path, body=None, headers=None, query="", b64=False, cookies=None, claims=None, route_key=None):
    """An HTTP API (payload 2.0) event for METHOD PATH?QUERY: a JSON content type plus `headers`, `cookies`, the JWT
    authorizer's `claims` if given (none otherwise), `body` (a string, else JSON-encoded; base64 if `b64`), a fresh
    request id, and `route_key` if given (the sample's otherwise)."""
    event = sample("apigateway", "http-api-proxy")
    if route_key is not None:
        event["routeKey"] = route_key
    event["rawPath"], event["rawQueryString"] = path, query
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
    event["isBase64Encoded"] = False
    if body is None:
        event.pop("body", None)
    else:
        text = body if isinstance(body, str) else json.dumps(body)
        if b64:
            event["body"], event["isBase64Encoded"] = base64.b64encode(text.encode()).decode(), True
        else:
            event["body"] = text
    return event


def rest_event(method, path, body=None, headers=None, query=None):
    """A REST API (aws-proxy, payload 1.0) event on the /{proxy+} resource."""
    event = sample("apigateway", "aws-proxy")
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


def result_body(result):
    """The body of an API Gateway proxy result, base64 undone: parsed JSON, the text if it is not JSON, None if empty."""
    raw = result.get("body") or ""
    if result.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw
