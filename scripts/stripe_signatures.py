"""Stripe webhook signatures, made and checked by Stripe's official Python library (`stripe`,
pinned in scripts/requirements-test.txt), so tests can hold the project's own signing and
verifying to it. Run it with the project venv's Python (scripts/venv makes .venv):

    .venv/bin/python scripts/stripe_signatures.py verify --secret S --header H [--tolerance N] < payload
        stripe.Webhook.construct_event(payload, H, S, tolerance): prints "ok" and exits 0 if
        accepted; prints the exception's message and exits 1 if not. Tolerance defaults to the
        library's 300 s (construct_event rejects only timestamps older than that; it does not
        reject future ones). construct_event also parses the payload as a JSON event, so a
        correctly signed payload that is not a JSON object is rejected too.
    .venv/bin/python scripts/stripe_signatures.py sign --secret S [--timestamp T] < payload
        prints the Stripe-Signature header "t=T,v1=<hex HMAC-SHA256(S, 'T.' + payload)>" made by
        stripe.WebhookSignature.generate_signature_header (T defaults to now).

The payload is stdin's bytes, taken exactly (no newline added or stripped) and decoded as
UTF-8, as the library does with a bytes payload. Usage errors exit 2.
"""
import argparse
import sys

import stripe


def read_payload():
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        print("payload is not UTF-8: %s" % e, file=sys.stderr)
        sys.exit(2)


def cmd_verify(args):
    payload = read_payload()
    try:
        stripe.Webhook.construct_event(payload, args.header, args.secret, tolerance=args.tolerance)
    except Exception as e:  # SignatureVerificationError, or the payload's JSON parse error
        message = getattr(e, "user_message", None) or str(e) or type(e).__name__
        print(message)
        return 1
    print("ok")
    return 0


def cmd_sign(args):
    payload = read_payload()
    print(stripe.WebhookSignature.generate_signature_header(payload, args.secret, timestamp=args.timestamp))
    return 0


def main(argv):
    parser = argparse.ArgumentParser(prog="stripe_signatures.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="check a Stripe-Signature header over stdin's payload")
    v.add_argument("--secret", required=True)
    v.add_argument("--header", required=True)
    v.add_argument("--tolerance", type=int, default=stripe.Webhook.DEFAULT_TOLERANCE)
    v.set_defaults(func=cmd_verify)
    s = sub.add_parser("sign", help="print the Stripe-Signature header for stdin's payload")
    s.add_argument("--secret", required=True)
    s.add_argument("--timestamp", type=int, default=None)
    s.set_defaults(func=cmd_sign)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
