"""What `sam validate` and cfn-lint cannot see in deploy/template.yaml: the ways a real account breaks it.

  1. Every ScheduleV2 event sets `OmitName: true`: otherwise SAM names the schedule "<Function><Event>",
     a name unique per account and region, and a second stack there fails to create it (SAM issue
     #3109). Checked on the template and on SAM's own transform of it (no AWS::Scheduler::Schedule
     with a fixed Name).
  2. Every stateful resource (DynamoDB tables, Cognito user pools, S3 buckets) has
     `DeletionPolicy: Retain` and `UpdateReplacePolicy: Retain`: a pool with deletion protection on
     and a bucket with objects in it cannot be deleted, so without Retain a failed first create ends
     in ROLLBACK_FAILED and `sam delete` in DELETE_FAILED (and the data would go with a replacement).
     Not RetainExceptOnCreate: it deletes on a failed create, which the pool's protection refuses.
  3. CloudFront's names are account-wide (CloudFront is global), while stack names are unique only
     per region: every name of an origin access control, response-headers, cache or origin-request
     policy, function or key-value store is an `!Sub` that contains `${AWS::Region}`, or absent
     (CloudFormation names it).
  4. Every stream event source (DynamoDB, Kinesis) of a function retries a bounded number of times,
     bisects, reports partial batch failures and sends what still fails to an SQS queue (OnFailure),
     and every such queue has a CloudWatch alarm on ApproximateNumberOfMessagesVisible >= 1 with an
     action: nothing asynchronous fails silently.

  5. Every metric in the `ServerlessShop` namespace that an alarm or the dashboard names is one the code emits (a
     CloudWatch name in deploy/metrics.json, which is `shop metrics table`'s output, held equal to the code's table by
     ShopTelemetryTests), with the dimensions the functions' EMF lines carry ([function] or [function, route]); AWS's
     own namespaces are AWS's. And every function has an Errors alarm and a Throttles alarm with an action.

Each check is first run on copies of the template broken on purpose, and must fail there.

Usage: python scripts/template_checks.py TEMPLATE   (with .cache/sam-venv's python: cfn-lint's decoder
and SAM's translator). Prints "template checks: N passed, M failed".
"""
import copy, json, logging, os, sys

from cfnlint.decode import decode
from samtranslator.translator.transform import transform

import shoptest  # scripts/shoptest.py (this script's folder is on sys.path)

STATEFUL = ("AWS::DynamoDB::Table", "AWS::Cognito::UserPool", "AWS::S3::Bucket")
# CloudFront resource types and where their account-wide name sits in their properties.
CLOUDFRONT_NAMES = {
    "AWS::CloudFront::OriginAccessControl": ("OriginAccessControlConfig", "Name"),
    "AWS::CloudFront::ResponseHeadersPolicy": ("ResponseHeadersPolicyConfig", "Name"),
    "AWS::CloudFront::CachePolicy": ("CachePolicyConfig", "Name"),
    "AWS::CloudFront::OriginRequestPolicy": ("OriginRequestPolicyConfig", "Name"),
    "AWS::CloudFront::Function": ("Name",),
    "AWS::CloudFront::KeyValueStore": ("Name",),
}


def schedule_events(template):
    """(function, event, properties) of every ScheduleV2 event."""
    for lid, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for name, event in (resource.get("Properties", {}).get("Events") or {}).items():
            if event.get("Type") == "ScheduleV2":
                yield lid, name, event.get("Properties", {})


def omit_name_problems(template):
    return [f"{lid}.{name} does not set OmitName: true" for lid, name, props in schedule_events(template)
            if props.get("OmitName") is not True]


def transformed_schedule_problems(template):
    """SAM's transform of the template: no AWS::Scheduler::Schedule may carry a fixed Name."""
    plain = json.loads(json.dumps(template))
    plain.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://bucket/key.zip"  # the makefile build's stand-in
    for resource in plain["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.get("Properties", {}).pop("CodeUri", None)

    class NoManagedPolicies:
        def load(self):
            return {}

    out = transform(plain, {}, NoManagedPolicies())
    schedules = {lid: r for lid, r in out["Resources"].items() if r["Type"] == "AWS::Scheduler::Schedule"}
    return [f"SAM names the schedule {lid} {r['Properties']['Name']!r}" for lid, r in schedules.items() if "Name" in r["Properties"]], len(schedules)


def retain_problems(template):
    problems = []
    for lid, resource in template["Resources"].items():
        if resource.get("Type") in STATEFUL:
            for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
                if resource.get(policy) != "Retain":
                    problems.append(f"{lid} ({resource['Type']}) has {policy}: {resource.get(policy)}")
    return problems


def mentions_region(value):
    """True for an Fn::Sub (string or [string, vars]) whose text has ${AWS::Region}, or a Join that has a Ref to it."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        return "${AWS::Region}" in text
    if isinstance(value, dict) and "Fn::Join" in value:
        return any(part == {"Ref": "AWS::Region"} or mentions_region(part) for part in value["Fn::Join"][1])
    return False


def cloudfront_name_problems(template):
    problems, seen = [], 0
    for lid, resource in template["Resources"].items():
        path = CLOUDFRONT_NAMES.get(resource.get("Type"))
        if not path:
            continue
        seen += 1
        holder = resource.get("Properties", {})
        for step in path[:-1]:
            holder = holder.get(step, {})
        if path[-1] in holder and not mentions_region(holder[path[-1]]):
            problems.append(f"{lid} ({resource['Type']}) is named {json.dumps(holder[path[-1]])}, without the region")
    return problems, seen


STREAM_EVENTS = ("DynamoDB", "Kinesis")


def stream_problems(template):
    """(problems, queues): each stream event source's settings, and the logical ids of its OnFailure queues."""
    problems, queues = [], set()
    for lid, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for name, event in (resource.get("Properties", {}).get("Events") or {}).items():
            if event.get("Type") not in STREAM_EVENTS:
                continue
            props = event.get("Properties", {})
            where = f"{lid}.{name}"
            if not isinstance(props.get("MaximumRetryAttempts"), int) or props["MaximumRetryAttempts"] < 0:
                problems.append(f"{where} has no MaximumRetryAttempts (the default retries until the record expires)")
            if props.get("BisectBatchOnFunctionError") is not True:
                problems.append(f"{where} does not set BisectBatchOnFunctionError: true")
            if "ReportBatchItemFailures" not in (props.get("FunctionResponseTypes") or []):
                problems.append(f"{where} does not report batch item failures")
            destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {})
            target = destination.get("Destination")
            arn_of = target.get("Fn::GetAtt") if isinstance(target, dict) else None
            queue = (arn_of[0] if isinstance(arn_of, list) else str(arn_of).split(".")[0]) if arn_of else None
            if destination.get("Type") != "SQS" or queue not in template["Resources"] \
                    or template["Resources"][queue].get("Type") != "AWS::SQS::Queue":
                problems.append(f"{where} sends no failure to an SQS queue of this template (DestinationConfig.OnFailure)")
            else:
                queues.add(queue)
    return problems, queues


def alarm_problems(template, queues):
    """Each queue in `queues` has an alarm on its visible messages at 1 or more, with an action."""
    problems = []
    for queue in sorted(queues):
        found = False
        for resource in template["Resources"].values():
            props = resource.get("Properties", {})
            if resource.get("Type") != "AWS::CloudWatch::Alarm" or props.get("MetricName") != "ApproximateNumberOfMessagesVisible":
                continue
            names = [d.get("Value") for d in props.get("Dimensions") or [] if d.get("Name") == "QueueName"]
            if names != [{"Fn::GetAtt": [queue, "QueueName"]}] and names != [{"Fn::GetAtt": f"{queue}.QueueName"}]:
                continue
            if props.get("ComparisonOperator") == "GreaterThanOrEqualToThreshold" and float(props.get("Threshold", 99)) <= 1 \
                    and props.get("AlarmActions"):
                found = True
        if not found:
            problems.append(f"{queue} has no alarm on ApproximateNumberOfMessagesVisible >= 1 with an action")
    return problems


NAMESPACE = "ServerlessShop"
EMF_DIMENSION_SETS = ({"function"}, {"function", "route"})


def code_metrics():
    """The CloudWatch names the code emits (deploy/metrics.json, next to the template)."""
    with open(os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), "metrics.json")) as f:
        table = json.load(f)
    assert table["namespace"] == NAMESPACE, table["namespace"]
    return {name for metric in table["metrics"] for name in metric["cloudWatchNames"]}


def substituted(value):
    """A dashboard body's text: the string of an Fn::Sub with each ${...} replaced by a placeholder."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        value = value["Fn::Sub"]
        value = value[0] if isinstance(value, list) else value
    if not isinstance(value, str):
        raise ValueError("a DashboardBody that is not a string or an Fn::Sub of one")
    out, i = [], 0
    while i < len(value):
        if value.startswith("${!", i):
            out.append("${")
            i += 3
        elif value.startswith("${", i):
            end = value.index("}", i)
            out.append("SUB_" + value[i + 2:end].replace(".", "_").replace(":", "_"))
            i = end + 1
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def dashboard_metrics(body):
    """(namespace, name, dimension names) of every metric row of a dashboard body, with its "." shorthands resolved."""
    for widget in body.get("widgets", []):
        previous = []
        for row in widget.get("properties", {}).get("metrics", []) or []:
            values = [v for v in row if not isinstance(v, dict)]
            if not values:
                continue  # an expression ({"expression": ...}): names no metric of its own
            if values[0] == "...":  # the previous row's whole metric (with other options)
                values = previous + values[1:]
            resolved = [previous[i] if v == "." and i < len(previous) else v for i, v in enumerate(values)]
            previous = resolved
            if len(resolved) >= 2:
                yield resolved[0], resolved[1], set(resolved[2::2])


def named_metrics(template):
    """(where, namespace, metric name, dimension names) of every metric an alarm or a dashboard names."""
    for lid, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::CloudWatch::Alarm":
            if "MetricName" in props:
                yield lid, props.get("Namespace"), props["MetricName"], {d.get("Name") for d in props.get("Dimensions") or []}
            for query in props.get("Metrics") or []:
                metric = (query.get("MetricStat") or {}).get("Metric")
                if metric:
                    yield lid, metric.get("Namespace"), metric.get("MetricName"), {d.get("Name") for d in metric.get("Dimensions") or []}
        elif resource.get("Type") == "AWS::CloudWatch::Dashboard":
            body = json.loads(substituted(props["DashboardBody"]))
            for namespace, name, dimensions in dashboard_metrics(body):
                yield lid, namespace, name, dimensions


def metric_problems(template, emitted):
    """Names in our namespace the code does not emit, or with dimensions its EMF lines do not carry."""
    problems, seen = [], 0
    for where, namespace, name, dimensions in named_metrics(template):
        if namespace != NAMESPACE:
            continue
        seen += 1
        if name not in emitted:
            problems.append(f"{where} names {NAMESPACE}/{name}, which the code does not emit")
        elif dimensions not in EMF_DIMENSION_SETS:
            problems.append(f"{where} asks {NAMESPACE}/{name} by {sorted(dimensions)}; EMF lines carry [function] or [function, route]")
    return problems, seen


def function_alarm_problems(template):
    """Every function has an AWS/Lambda Errors alarm and a Throttles alarm, each with an action."""
    problems = []
    for lid, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for metric in ("Errors", "Throttles"):
            if not any(r.get("Type") == "AWS::CloudWatch::Alarm" and r["Properties"].get("Namespace") == "AWS/Lambda"
                       and r["Properties"].get("MetricName") == metric and r["Properties"].get("AlarmActions")
                       and {"Name": "FunctionName", "Value": {"Ref": lid}} in (r["Properties"].get("Dimensions") or [])
                       for r in template["Resources"].values()):
                problems.append(f"{lid} has no {metric} alarm with an action")
    return problems


def main():
    # SAM's translator keeps usage metrics nobody publishes here, and says so at exit.
    logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)
    # SAM's translator wants a region even offline; it reads no credentials.
    if not os.environ.get("AWS_DEFAULT_REGION"):
        os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    template, problems = decode(sys.argv[1])
    if problems:
        print("\n".join(str(p) for p in problems))
        sys.exit(1)
    template = json.loads(json.dumps(template))  # plain dicts and strings
    check = shoptest.Checks()
    resources = template["Resources"]

    # --- the checks must fail on templates broken on purpose -----------------------------------
    broken = copy.deepcopy(template)
    for lid, name, props in schedule_events(broken):
        props.pop("OmitName", None)
    check("self-test: a ScheduleV2 event without OmitName is caught", omit_name_problems(broken) != [])
    check("self-test: SAM's transform of it names the schedule, and that is caught",
          transformed_schedule_problems(broken)[0] != [], "SAM no longer names a schedule without OmitName?")
    missed = []
    for lid, resource in resources.items():
        if resource["Type"] not in STATEFUL:
            continue
        for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
            for value in (None, "Delete", "Snapshot", "RetainExceptOnCreate"):
                broken = copy.deepcopy(template)
                if value is None:
                    broken["Resources"][lid].pop(policy, None)
                else:
                    broken["Resources"][lid][policy] = value
                if not retain_problems(broken):
                    missed.append(f"{lid} {policy} {value or 'absent'}")
    check("self-test: a stateful resource without Retain (absent, Delete, Snapshot, RetainExceptOnCreate) is caught",
          not missed, "missed: " + ", ".join(missed))
    for lid, resource in resources.items():
        path = CLOUDFRONT_NAMES.get(resource["Type"])
        if path:
            broken = copy.deepcopy(template)
            holder = broken["Resources"][lid]["Properties"]
            for step in path[:-1]:
                holder = holder[step]
            holder[path[-1]] = {"Fn::Sub": "${AWS::StackName}-fixed"}
            check(f"self-test: {lid} named without the region is caught", cloudfront_name_problems(broken)[0] != [])

    streams_found, queues = stream_problems(template)
    for lid, resource in resources.items():
        for name, event in ((resource.get("Properties", {}).get("Events") or {}).items()
                            if resource["Type"] == "AWS::Serverless::Function" else []):
            if event.get("Type") not in STREAM_EVENTS:
                continue
            for key in ("MaximumRetryAttempts", "BisectBatchOnFunctionError", "FunctionResponseTypes", "DestinationConfig"):
                broken = copy.deepcopy(template)
                broken["Resources"][lid]["Properties"]["Events"][name]["Properties"].pop(key, None)
                check(f"self-test: {lid}.{name} without {key} is caught", stream_problems(broken)[0] != [])
    for queue in queues:
        broken = copy.deepcopy(template)
        for resource in broken["Resources"].values():
            if resource["Type"] == "AWS::CloudWatch::Alarm":
                resource["Properties"]["Threshold"] = 5
        check(f"self-test: {queue}'s alarm at a threshold of 5 is caught", alarm_problems(broken, queues) != [])
        broken = copy.deepcopy(template)
        for resource in broken["Resources"].values():
            if resource["Type"] == "AWS::CloudWatch::Alarm":
                resource["Properties"].pop("AlarmActions", None)
        check(f"self-test: {queue}'s alarm without an action is caught", alarm_problems(broken, queues) != [])
        broken = copy.deepcopy(template)
        broken["Resources"] = {k: v for k, v in broken["Resources"].items() if v["Type"] != "AWS::CloudWatch::Alarm"}
        check(f"self-test: {queue} without an alarm is caught", alarm_problems(broken, queues) != [])

    emitted = code_metrics()
    for lid, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::CloudWatch::Alarm" and props.get("Namespace") == NAMESPACE:
            broken = copy.deepcopy(template)
            broken["Resources"][lid]["Properties"]["MetricName"] = "OrdersPlacedTypo"
            check(f"self-test: {lid} on a metric the code does not emit is caught", metric_problems(broken, emitted)[0] != [])
            broken = copy.deepcopy(template)
            broken["Resources"][lid]["Properties"]["Dimensions"] = [{"Name": "FunctionName", "Value": "x"}]
            check(f"self-test: {lid} by a dimension the EMF lines do not carry is caught", metric_problems(broken, emitted)[0] != [])
        if resource["Type"] == "AWS::CloudWatch::Dashboard":
            broken = copy.deepcopy(template)
            body = props["DashboardBody"]
            text = body["Fn::Sub"] if isinstance(body, dict) else body
            text = text[0] if isinstance(text, list) else text
            typo = text.replace('"OrdersPaid"', '"OrdersPayed"', 1)
            broken["Resources"][lid]["Properties"]["DashboardBody"] = {"Fn::Sub": typo}
            check(f"self-test: {lid} naming a metric the code does not emit is caught",
                  typo != text and metric_problems(broken, emitted)[0] != [], "no OrdersPaid in the dashboard to break?")
    for lid, resource in resources.items():
        if resource["Type"] == "AWS::Serverless::Function":
            broken = copy.deepcopy(template)
            broken["Resources"] = {k: v for k, v in broken["Resources"].items()
                                   if not (v["Type"] == "AWS::CloudWatch::Alarm" and {"Name": "FunctionName", "Value": {"Ref": lid}}
                                           in (v["Properties"].get("Dimensions") or []))}
            check(f"self-test: {lid} without its alarms is caught", function_alarm_problems(broken) != [])
            break

    # --- the template ------------------------------------------------------------------------
    events = list(schedule_events(template))
    found = omit_name_problems(template)
    check(f"every ScheduleV2 event sets OmitName: true ({', '.join(f'{l}.{n}' for l, n, _ in events)})",
          events and not found, "; ".join(found) or "no ScheduleV2 event found")
    found, count = transformed_schedule_problems(template)
    check(f"SAM's transform names none of its {count} AWS::Scheduler::Schedule (CloudFormation does)",
          count and not found, "; ".join(found) or "no schedule in the transform")
    stateful = sorted(lid for lid, r in resources.items() if r["Type"] in STATEFUL)
    found = retain_problems(template)
    check(f"DeletionPolicy and UpdateReplacePolicy Retain on every stateful resource ({len(stateful)}: {', '.join(stateful)})",
          not found, "; ".join(found))
    for lid in stateful:
        if resources[lid]["Type"] == "AWS::Cognito::UserPool":
            check(f"{lid} keeps deletion protection (why it must be Retain, not RetainExceptOnCreate)",
                  "DeletionProtection" in resources[lid]["Properties"])
    found, seen = cloudfront_name_problems(template)
    check(f"the names of the {seen} account-wide CloudFront resources contain the region (or are absent)",
          seen and not found, "; ".join(found))
    check(f"every stream event source retries a bounded number of times, bisects, reports item failures and "
          f"dead-letters to SQS ({', '.join(sorted(queues)) or 'none'})", queues and not streams_found, "; ".join(streams_found))
    found = alarm_problems(template, queues)
    check(f"every dead-letter queue of a stream has an alarm at one message ({len(queues)})", not found, "; ".join(found))
    found, seen = metric_problems(template, emitted)
    check(f"every {NAMESPACE} metric the alarms and the dashboard name ({seen}) is one the code emits, by its EMF dimensions",
          seen and not found, "; ".join(found) or "no alarm or dashboard names a metric of the code")
    found = function_alarm_problems(template)
    check("every function has an Errors alarm and a Throttles alarm with an action", not found, "; ".join(found))
    check.finish("template checks")


if __name__ == "__main__":
    main()
