#!/usr/bin/env python3
"""End-to-end test of the payments feature against the real `shop serve` binary.

    .venv/bin/python scripts/payments_e2e.py --store sqlite
    .venv/bin/python scripts/payments_e2e.py --store dynamodb     # moto: $SHOP_TEST_MOTO_ENDPOINT or scripts/moto-server
    .venv/bin/python scripts/payments_e2e.py --store sqlite --bench 10
    scripts/payments-e2e                                          # both stores, one after the other

Per store it starts three servers (each with its own data directory, and on DynamoDB its own tables):
  A  the simulator delivers its webhooks to the server itself (test cards, 3-D Secure, signatures,
     replays and out-of-order events, and the optional checkout benchmark);
  B  the simulator delivers through a relay run by this script (races between the webhook and two
     cancels; a webhook endpoint that is down and then recovers; delivery across a restart);
  C  like B with a short order TTL (a success that arrives after the order expired).
Everything started is stopped in `finally`. Standard library only (urllib, threads, hmac).

Prints "ok - ..." / "not ok - ..." per check (on a failure the reason with the response body, and
the last 50 lines of that server's log as "#" lines), then "payments (<store>): N passed, M failed";
exits 1 if anything failed, 2 on a usage error.

Options: --rounds N (race rounds, default 30), --bench SECONDS (default 0: off), --bench-threads N,
--only 1,3,6 (run only those numbered checks: 1-8 as in the brief; 9 cancel/fulfil and 10 delivery
over a restart are extra), --keep (keep the temporary directory with the logs), --verbose. Environment: SHOP_BIN (default .build/debug/shop),
SHOP_TEST_MOTO_ENDPOINT (use that moto instead of starting one: shoptest.moto_endpoint).

The checks live in scripts/payments/, by what they test: cards.py (1 test cards, 2 3-D Secure), webhooks.py
(3 signatures, 4 replays), delivery.py (5 a late success, 7 an endpoint that recovers, 10 delivery over a restart),
races.py (6), bench.py (8), orders.py (9 cancel and fulfil); api.py, servers.py, relay.py, stripe_events.py, runner.py
and common.py are what they share. This file runs them against servers A, B and C.
"""
import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import shoptest  # scripts/shoptest.py and scripts/payments/; scripts/ is on sys.path when run as a script
from payments import common
from payments.api import Shop
from payments.bench import check_bench
from payments.cards import check_3ds, check_card_ok, check_config, check_decline, check_invalid_card, check_ownership
from payments.common import CARD_BAD_LUHN, CARD_GENERIC_DECLINE, CARD_INSUFFICIENT_FUNDS, CARD_OK, CheckFailed, say
from payments.delivery import check_late_success, check_recovering_endpoint, check_restart_delivery
from payments.orders import check_cancel_paid, check_cancel_pending, check_fulfil
from payments.races import Race, check_race, check_race_after_release
from payments.relay import Relay
from payments.runner import Runner
from payments.servers import Server
from payments.webhooks import (SignatureSubject, check_bad_signature, check_good_signature, check_replays_after_success,
                               check_success_before_confirm)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- main --------------------------------------------------------------------------------------------

def run_store(args):
    store = args.store
    binary = os.environ.get("SHOP_BIN") or os.path.join(ROOT, ".build", "debug", "shop")
    if not os.path.isabs(binary):
        binary = os.path.join(ROOT, binary)
    runner = Runner(store, args.only)
    workdir = tempfile.mkdtemp(prefix="shop-payments-e2e-%s-" % store)
    servers, relays = [], []
    started = time.time()
    say("# payments e2e (%s): binary %s, work dir %s" % (store, binary, workdir))
    try:
        moto_endpoint = None
        if store == "dynamodb":
            given = os.environ.get("SHOP_TEST_MOTO_ENDPOINT")
            try:
                moto_endpoint = shoptest.moto_endpoint(os.path.join(workdir, "moto.log"))  # stopped when this process exits
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                raise CheckFailed(str(e))
            say("# moto at %s%s" % (moto_endpoint, " (SHOP_TEST_MOTO_ENDPOINT)" if given else ""))

        def new_server(name, ttl=None, relay=None):
            secret = "whsec_" + secrets.token_hex(16)
            s = Server(name, binary, store, workdir, secret, moto_endpoint, ttl, relay.url if relay else None)
            servers.append(s)
            s.start()
            if relay is not None:
                relay.target = s.base + "/payment/webhook"
            shop = Shop(s)
            shop.setup_accounts()
            say("# server %s at %s%s" % (name, s.base, " (webhooks through %s)" % relay.url if relay else ""))
            return shop

        def setup(name, fn):
            try:
                return fn()
            except CheckFailed as e:
                runner.not_ok("setup of server %s: %s" % (name, e), servers[-1] if servers else None)
                return None

        need_a = any(runner.wanted(n) for n in (1, 2, 3, 4, 9)) or args.bench > 0
        need_b = any(runner.wanted(n) for n in (6, 7, 10))
        need_c = runner.wanted(5)

        # Server A: the simulator delivers to the server itself.
        a = setup("A", lambda: new_server("A")) if need_a else None
        if a:
            sa = a.server
            runner.check(1, "GET /payment/config", sa, check_config, a)
            runner.check(1, "card 4242 pays the order", sa, check_card_ok, a)
            runner.check(1, "another user's order or payment", sa, check_ownership, a)
            runner.check(1, "card 4000000000000002 (generic_decline) then 4242", sa, check_decline, a, CARD_GENERIC_DECLINE, "generic_decline")
            runner.check(1, "card 4000000000009995 (insufficient_funds) then 4242", sa, check_decline, a, CARD_INSUFFICIENT_FUNDS, "insufficient_funds")
            runner.check(1, "card failing the Luhn check", sa, check_invalid_card, a, CARD_BAD_LUHN, False, "card.number")
            runner.check(1, "expired card", sa, check_invalid_card, a, CARD_OK, True, "card.expYear")
            runner.check(2, "3-D Secure card, authentication approved", sa, check_3ds, a, True)
            runner.check(2, "3-D Secure card, authentication failed", sa, check_3ds, a, False)
            if runner.wanted(3):
                subject = None
                try:
                    subject = SignatureSubject(a)
                except CheckFailed as e:
                    runner.not_ok("3. webhook signatures: setup: %s" % e, sa)
                if subject:
                    for variant in ("forged v1", "signed with another secret", "stale timestamp (now-400)",
                                    "future timestamp (now+400)", "missing Stripe-Signature", "body changed after signing"):
                        runner.check(3, "webhook " + variant, sa, check_bad_signature, subject, variant)
                    runner.check(3, "webhook with a valid signature", sa, check_good_signature, subject)
            runner.check(4, "replayed, duplicated and out-of-order events after a success", sa, check_replays_after_success, a)
            runner.check(4, "a success event before any confirm", sa, check_success_before_confirm, a)
            runner.check(9, "extra: the owner cancels a PAID order", sa, check_cancel_paid, a)
            runner.check(9, "extra: the owner cancels a PENDING_PAYMENT order with an open payment", sa, check_cancel_pending, a)
            runner.check(9, "extra: the admin fulfils a PAID order", sa, check_fulfil, a)
            if args.bench > 0:
                runner.check(8, "checkout benchmark (server's own webhook delivery)", sa, check_bench, a, args.bench, args.bench_threads)
            if not sa.alive():
                runner.not_ok("server A died during the run (exit %s)" % sa.proc.returncode, sa)

        # Server B: webhooks through a relay; races, and an endpoint that is down then recovers.
        if need_b:
            relay_b = Relay("B")
            relays.append(relay_b)
            b = setup("B", lambda: new_server("B", relay=relay_b))
            if b:
                sb = b.server
                race = Race(b, relay_b, args.rounds)
                raced = runner.check(6, "races: webhook vs owner cancel vs admin cancel (simulator delivery held back)", sb, check_race, race) \
                    if runner.wanted(6) else None
                relay_b.release()
                runner.check(7, "webhook endpoint down for 2 tries, then up", sb, check_recovering_endpoint, b, relay_b, 2)
                if raced:
                    runner.check(6, "races, after the held-back simulator events are released", sb, check_race_after_release, race)
                runner.check(10, "extra: an event held back over a restart is delivered after the next start", sb,
                             check_restart_delivery, b, relay_b)
                if not sb.alive():
                    runner.not_ok("server B died during the run (exit %s)" % sb.proc.returncode, sb)

        # Server C: short TTL, webhooks through a relay; a success that arrives after expiry.
        if need_c:
            relay_c = Relay("C")
            relays.append(relay_c)
            ttl = 4
            c = setup("C", lambda: new_server("C", ttl=ttl, relay=relay_c))
            if c:
                runner.check(5, "late success after expiry (TTL %d s, success held back by the relay)" % ttl, c.server,
                             check_late_success, c, relay_c, ttl)
                if not c.server.alive():
                    runner.not_ok("server C died during the run (exit %s)" % c.server.proc.returncode, c.server)
    except CheckFailed as e:
        runner.not_ok("setup: %s" % e, servers[-1] if servers else None)
    except KeyboardInterrupt:
        runner.not_ok("interrupted")
    finally:
        for s in servers:
            try:
                s.stop()
            except Exception as e:  # noqa: BLE001
                say("# could not stop server %s: %s" % (s.name, e))
        for r in relays:
            r.close()
        if args.keep or runner.failed:
            say("# logs kept in %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    say("# %s run took %.1f s" % (store, time.time() - started))
    say("payments (%s): %d passed, %d failed" % (store, runner.passed, runner.failed))
    return runner.failed == 0


def _terminate(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def main(argv):
    signal.signal(signal.SIGTERM, _terminate)
    parser = argparse.ArgumentParser(description="End-to-end payments test against a real `shop serve`.")
    parser.add_argument("--store", choices=["sqlite", "dynamodb"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=30, help="race rounds (default 30)")
    parser.add_argument("--bench", type=float, default=0, metavar="SECONDS", help="run the checkout benchmark for SECONDS")
    parser.add_argument("--bench-threads", type=int, default=4)
    parser.add_argument("--only", default=None, help="comma-separated check numbers to run (1-8 as in the brief; 9, 10 extra)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, data)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    common.VERBOSE = args.verbose
    if args.only:
        try:
            args.only = {int(x) for x in args.only.split(",") if x.strip()}
        except ValueError:
            parser.error("--only takes numbers, e.g. 1,3,6")
        if 8 in args.only and args.bench <= 0:
            parser.error("check 8 needs --bench SECONDS")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return 0 if run_store(args) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
