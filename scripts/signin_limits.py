#!/usr/bin/env python3
"""Sign-in limits of `shop serve` from real client addresses (Linux routes all of 127.0.0.0/8 to loopback, so
a client can bind 127.0.0.2 ... 127.0.0.12 as its source): the lockout attack of docs/API.md, "Sign-in limits".

- eleven clients on 127.0.0.2 ... 127.0.0.12 each fail once for the victim within a second; then the victim
  signs in from 127.0.0.1 with the right password and gets 200;
- an address that keeps failing for the victim is refused (429) on its own, and others still sign in;
- SHOP_TRUST_FORWARDED_FOR without SHOP_TRUSTED_PROXIES refuses to start, saying what to set.
Prints one line per check and ends with "signin-limits: N passed, M failed".
Usage: scripts/signin_limits.py [--binary .build/debug/shop]
"""
import argparse, http.client, json, os, shutil, subprocess, sys, tempfile, threading, time
from urllib.parse import urlparse

from shoptest import Checks, start_serve  # scripts/shoptest.py; scripts/ is on sys.path when run as a script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def post(base, path, body, source):
    """POST JSON from the source address `source`; (status, parsed body)."""
    url = urlparse(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30, source_address=(source, 0))
    try:
        connection.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.environ.get("SHOP_BIN", os.path.join(ROOT, ".build", "debug", "shop")))
    args = parser.parse_args()
    check = Checks()
    data = tempfile.mkdtemp(prefix="signin-")
    # The default limits (20 sign-in requests a minute an address and 10 failed logins a minute an account and
    # address, each in bursts of 5), as a store runs them.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    env.update(SHOP_BCRYPT_COST="4", SHOP_LOG_LEVEL="notice")
    log = os.path.join(data, "server.log")
    process, base = start_serve(args.binary, data, env, log, timeout=60)
    try:
        victim = {"email": "victim@example.com", "password": "Right-passw0rd"}
        status, _ = post(base, "/auth/register", dict(victim, name="Victim"), "127.0.0.1")
        check("the victim registers", status == 201, status)

        results = {}

        def guess(i):
            results[i] = post(base, "/auth/login", {"email": victim["email"], "password": "Wrong-guess-%d" % i}, "127.0.0.%d" % i)[0]

        started = time.monotonic()
        threads = [threading.Thread(target=guess, args=(i,)) for i in range(2, 13)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        check("eleven addresses each fail once for the victim (within %.2f s)" % elapsed,
              sorted(results.values()) == [401] * 11 and elapsed < 5, results)
        status, body = post(base, "/auth/login", victim, "127.0.0.1")
        check("then the victim signs in from 127.0.0.1 with the right password: 200", status == 200 and "idToken" in (body or {}),
              (status, body))

        # One address that keeps failing: its burst of 5 runs out, and only it is refused.
        statuses = [post(base, "/auth/login", {"email": victim["email"], "password": "Wrong-%d" % i}, "127.0.0.20")[0] for i in range(6)]
        check("an address guessing one account is refused after a burst of 5 failures", statuses == [401] * 5 + [429], statuses)
        status, _ = post(base, "/auth/login", victim, "127.0.0.20")
        check("... even with the right password: that address is guessing", status == 429, status)
        status, _ = post(base, "/auth/login", victim, "127.0.0.21")
        check("while the owner still signs in from any address that has not failed", status == 200, status)
    finally:
        process.terminate()
        process.wait()

    refused = subprocess.run([args.binary, "serve", "--port", "0", "--data-dir", data],
                             env=dict(env, SHOP_TRUST_FORWARDED_FOR="true"), capture_output=True, text=True, timeout=60)
    check("SHOP_TRUST_FORWARDED_FOR without SHOP_TRUSTED_PROXIES refuses to start, saying what to set",
          refused.returncode != 0 and "SHOP_TRUSTED_PROXIES" in (refused.stdout + refused.stderr), refused.stderr[-500:])
    shutil.rmtree(data, ignore_errors=True)
    check.finish("signin-limits")


if __name__ == "__main__":
    main()
