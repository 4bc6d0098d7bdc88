"""The template's DynamoDB tables agree with the tables `shop aws create-tables` makes.

Runs `shop aws create-tables` on moto with the table names the template's own environment
variables name (so a wrong variable name shows up here too), reads the tables back with
DescribeTable and DescribeTimeToLive, and compares key schema, attribute definitions, global
secondary indexes (keys and projection), billing mode, the stream (its view type) and the TTL attribute with the template's
AWS::DynamoDB::Table resources. Also checks what only the template says: point-in-time recovery
on, and deletion protection from the TableDeletionProtection parameter.

Usage: python scripts/template_tables.py TEMPLATE SHOP_BINARY MOTO_ENDPOINT
(run with .cache/sam-venv's python: it reads the template with cfn-lint's decoder and moto with boto3).
Prints "template tables: N passed, M failed".
"""
import os, subprocess, sys, uuid

import boto3
from cfnlint.decode import decode

import shoptest  # scripts/shoptest.py (this script's folder is on sys.path)

template_path, shop, moto = sys.argv[1:4]
template, problems = decode(template_path)
if problems:
    print("\n".join(str(p) for p in problems))
    sys.exit(1)

check = shoptest.Checks()


resources = template["Resources"]
tables = {lid: r for lid, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"}
env = template["Globals"]["Function"]["Environment"]["Variables"]
# SHOP_DYNAMODB_<X>_TABLE: {"Ref": "<logical id>"} -> the logical id each variable names.
variable_of = {v["Ref"]: k for k, v in env.items() if k.startswith("SHOP_DYNAMODB_") and k.endswith("_TABLE") and isinstance(v, dict)}
check("every table in the template is named to the functions by a SHOP_DYNAMODB_*_TABLE variable",
      set(variable_of) == set(tables), f"tables {sorted(tables)}, variables name {sorted(variable_of)}")

prefix = f"tmpl-{uuid.uuid4().hex[:8]}-"
names = {lid: prefix + lid for lid in tables}
run_env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="",
               AWS_REGION="us-east-1", SHOP_LOG_LEVEL="warning")
for lid, variable in variable_of.items():
    run_env[variable] = names[lid]
subprocess.run([shop, "aws", "create-tables", "--endpoint", moto], check=True, env=run_env, stdout=subprocess.DEVNULL)

ddb = boto3.client("dynamodb", endpoint_url=moto, region_name="us-east-1", aws_access_key_id="testing",
                   aws_secret_access_key="testing")
existing = {name for page in ddb.get_paginator("list_tables").paginate() for name in page["TableNames"]}
made = sorted(n[len(prefix):] for n in existing if n.startswith(prefix))
check("create-tables made exactly the template's tables", made == sorted(tables), f"made {made}, template {sorted(tables)}")


def key_schema(items):
    return [(k["AttributeName"], k["KeyType"]) for k in items]


def attributes(items):
    return sorted((a["AttributeName"], a["AttributeType"]) for a in items)


def indexes(items):
    return {i["IndexName"]: (key_schema(i["KeySchema"]), i["Projection"]["ProjectionType"]) for i in items or []}


for lid, resource in sorted(tables.items()):
    if lid not in made:
        continue
    props = resource["Properties"]
    described = ddb.describe_table(TableName=names[lid])["Table"]
    check(f"{lid}: key schema", key_schema(props["KeySchema"]) == key_schema(described["KeySchema"]),
          f"template {key_schema(props['KeySchema'])}, create-tables {key_schema(described['KeySchema'])}")
    check(f"{lid}: attribute definitions",
          attributes(props["AttributeDefinitions"]) == attributes(described["AttributeDefinitions"]),
          f"template {attributes(props['AttributeDefinitions'])}, create-tables {attributes(described['AttributeDefinitions'])}")
    check(f"{lid}: global secondary indexes",
          indexes(props.get("GlobalSecondaryIndexes")) == indexes(described.get("GlobalSecondaryIndexes")),
          f"template {indexes(props.get('GlobalSecondaryIndexes'))}, create-tables {indexes(described.get('GlobalSecondaryIndexes'))}")
    billing = described.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    check(f"{lid}: billing mode", props.get("BillingMode") == billing, f"template {props.get('BillingMode')}, create-tables {billing}")
    ttl = ddb.describe_time_to_live(TableName=names[lid])["TimeToLiveDescription"]
    made_ttl = ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") else None
    spec = props.get("TimeToLiveSpecification")
    template_ttl = spec["AttributeName"] if spec and spec.get("Enabled") else None
    check(f"{lid}: TTL attribute", template_ttl == made_ttl, f"template {template_ttl}, create-tables {made_ttl}")
    made_stream = described.get("StreamSpecification") or {}
    made_stream = made_stream.get("StreamViewType") if made_stream.get("StreamEnabled") else None
    template_stream = (props.get("StreamSpecification") or {}).get("StreamViewType")
    check(f"{lid}: stream", template_stream == made_stream, f"template {template_stream}, create-tables {made_stream}")
    check(f"{lid}: point-in-time recovery on",
          props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled") is True)
    check(f"{lid}: deletion protection from the TableDeletionProtection parameter",
          props.get("DeletionProtectionEnabled") == {"Ref": "TableDeletionProtection"}, props.get("DeletionProtectionEnabled"))

for name in existing:
    if name.startswith(prefix):
        ddb.delete_table(TableName=name)
check.finish("template tables")
