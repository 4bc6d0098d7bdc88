#!/usr/bin/env python3
"""Signing oracle: botocore's own signers sign a fixed set of cases.

- "cases": presigned URLs from S3SigV4QueryAuth, {inputs..., "expectedURL"};
- "headerCases": header signatures from SigV4Auth (DynamoDB, Cognito) and S3SigV4Auth (S3, with
  X-Amz-Content-SHA256), {inputs..., "expectedHeaders"}.

Writes JSON {"botocore": version, "cases": [...], "headerCases": [...]} to the path given as the
only argument (stdout without one). The Swift tests (Tests/AWSWireTests) sign the same inputs with
AWSWire and must produce the very same bytes.

Run it with the project venv (scripts/venv), which pins botocore.
"""
import datetime
import json
import sys
from unittest import mock

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = (
    "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDn+token/with=odd+chars"
)


def case(name, *, method="PUT", endpoint="https://s3.us-east-1.amazonaws.com",
         bucket="shop-images", key=None, query="", url=None, headers=(), expires=900,
         region="us-east-1", token=None, when=(2024, 5, 17, 8, 30, 45)):
    if url is None:
        # What botocore's S3 serializer does with a {Key+} URI label.
        url = f"{endpoint}/{bucket}/{percent_encode(key, safe='/~')}"
        if query:
            url += "?" + query
    return {
        "name": name,
        "method": method,
        "endpoint": endpoint,
        "bucket": bucket,
        "key": key,
        "query": query,
        "url": url,
        "headers": [list(h) for h in headers],
        "expires": expires,
        "region": region,
        "service": "s3",
        "accessKeyId": ACCESS_KEY,
        "secretAccessKey": SECRET_KEY,
        "sessionToken": token,
        "epochSeconds": int(datetime.datetime(*when, tzinfo=datetime.timezone.utc).timestamp()),
    }


CASES = [
    case("put with content type", key="products/p-123/3f9a.png",
         headers=[("Content-Type", "image/png")]),
    case("key with spaces and unicode", key="products/p 1/café ünïcode ☃ 写真.jpg",
         headers=[("Content-Type", "image/jpeg")], expires=300),
    case("reserved characters in key", key="a+b=c&d/(e)!*'~;:@$,.webp",
         headers=[("Content-Type", "image/webp")], expires=60),
    case("double slash and dots kept for S3", key="x//y/./z/../k.png", method="GET", expires=3600),
    case("session token", key="products/p-9/img.jpeg", headers=[("Content-Type", "image/jpeg")],
         token=SESSION_TOKEN, expires=900),
    case("get with query already present", method="GET", key="products/p-1/a b.png",
         query="versionId=3HL4kqtJlcpXroDTDmJ%2Bs&response-content-disposition="
               "attachment%3B%20filename%3D%22a%20b.png%22&response-content-type=image/png",
         expires=600),
    case("query with blank values, plus and repeats", method="GET", key="k.png",
         query="acl&tagging=&a=b+c&a=second&%E2%9C%93=%E2%9C%93", expires=120),
    case("moto endpoint with port", endpoint="http://127.0.0.1:5123", key="products/p-2/x.png",
         headers=[("Content-Type", "image/png")], region="us-west-2", token="testing"),
    case("virtual-hosted style, other region", method="HEAD",
         url="https://shop-images.s3.eu-west-1.amazonaws.com/products/p-3/y.png",
         region="eu-west-1", expires=604800, when=(2023, 12, 31, 23, 59, 59)),
    case("extra signed headers, whitespace collapsed", key="products/p-4/z.png",
         headers=[("Content-Type", "image/png"), ("x-amz-meta-product",  "  p-4   main  "),
                  ("Cache-Control", "max-age=31536000")], when=(2020, 2, 29, 0, 0, 0)),
    case("botocore's default form content type is dropped", key="form.bin",
         headers=[("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]),
    case("uppercase host and default port", method="GET",
         url="https://S3.US-EAST-1.AMAZONAWS.COM:443/shop-images/UPPER.png", expires=30),
]


def header_case(name, *, method="POST", url, service, headers=(), body="", region="us-east-1",
                token=None, when=(2024, 5, 17, 8, 30, 45)):
    return {
        "name": name,
        "method": method,
        "url": url,
        "service": service,
        "headers": [list(h) for h in headers],
        "body": body,
        "region": region,
        "accessKeyId": ACCESS_KEY,
        "secretAccessKey": SECRET_KEY,
        "sessionToken": token,
        "epochSeconds": int(datetime.datetime(*when, tzinfo=datetime.timezone.utc).timestamp()),
    }


HEADER_CASES = [
    header_case("dynamodb PutItem with session token", url="https://dynamodb.us-east-1.amazonaws.com/",
                service="dynamodb", token=SESSION_TOKEN,
                headers=[("Content-Type", "application/x-amz-json-1.0"),
                         ("X-Amz-Target", "DynamoDB_20120810.PutItem")],
                body='{"TableName":"Products","Item":{"ProductID":{"S":"p-1"},"Name":{"S":"Caf\u00e9 \u2603"}}}'),
    header_case("dynamodb on moto, port kept in host", url="http://127.0.0.1:5123/", service="dynamodb",
                region="us-west-2", token="testing",
                headers=[("Content-Type", "application/x-amz-json-1.0"),
                         ("X-Amz-Target", "DynamoDB_20120810.Query")],
                body='{"TableName":"Orders","Limit":20}'),
    header_case("cognito-idp InitiateAuth (JSON 1.1), no token",
                url="https://cognito-idp.eu-central-1.amazonaws.com/", service="cognito-idp",
                region="eu-central-1",
                headers=[("Content-Type", "application/x-amz-json-1.1"),
                         ("X-Amz-Target", "AWSCognitoIdentityProviderService.InitiateAuth")],
                body='{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"abc"}', when=(2021, 1, 1, 0, 0, 0)),
    header_case("s3 PUT object, key with spaces, content sha256", method="PUT",
                url="https://s3.us-east-1.amazonaws.com/shop-images/" + percent_encode("products/p 1/é.png", safe="/~"),
                service="s3", headers=[("Content-Type", "image/png")], body="not really a png"),
    header_case("s3 HEAD object, double slash kept", method="HEAD",
                url="https://s3.us-east-1.amazonaws.com/shop-images/x//y/../z.png", service="s3",
                token=SESSION_TOKEN),
    header_case("s3 ListObjectsV2 with query", method="GET",
                url="https://s3.us-east-1.amazonaws.com/shop-images?list-type=2&prefix=products%2Fp%201%2F&max-keys=10",
                service="s3"),
]


def sign_headers(c):
    credentials = Credentials(c["accessKeyId"], c["secretAccessKey"], c["sessionToken"])
    cls = botocore.auth.S3SigV4Auth if c["service"] == "s3" else botocore.auth.SigV4Auth
    signer = cls(credentials, c["service"], c["region"])
    request = AWSRequest(method=c["method"], url=c["url"], headers=dict(c["headers"]),
                         data=c["body"].encode("utf-8"))
    given = {name.lower() for name, _ in c["headers"]}
    now = datetime.datetime.fromtimestamp(c["epochSeconds"], tz=datetime.timezone.utc)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=now):
        signer.add_auth(request)
    return [[name, value] for name, value in request.headers.items() if name.lower() not in given]


def sign(c):
    credentials = Credentials(c["accessKeyId"], c["secretAccessKey"], c["sessionToken"])
    signer = botocore.auth.S3SigV4QueryAuth(credentials, c["service"], c["region"], expires=c["expires"])
    request = AWSRequest(method=c["method"], url=c["url"], headers=dict(c["headers"]))
    now = datetime.datetime.fromtimestamp(c["epochSeconds"], tz=datetime.timezone.utc)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=now):
        signer.add_auth(request)
    return request.url


def main():
    cases = []
    for c in CASES:
        c = dict(c)
        c["expectedURL"] = sign(c)
        cases.append(c)
    header_cases = []
    for c in HEADER_CASES:
        c = dict(c)
        c["expectedHeaders"] = sign_headers(c)
        header_cases.append(c)
    out = json.dumps({"botocore": botocore.__version__, "cases": cases, "headerCases": header_cases},
                     indent=2, ensure_ascii=False)
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w", encoding="utf-8") as f:
            f.write(out + "\n")
    else:
        print(out)


if __name__ == "__main__":
    main()
