#!/usr/bin/env python3
"""How long a good login takes while 200 bad ones run, against a real `shop serve` (bcrypt cost 12).

The flood comes from 127.0.0.1, the good login from 127.0.0.2. Runs twice: with the default limits
(the flood's address gets 429 before any bcrypt work; the good login is not delayed) and with the
limits off, as a flood from many addresses would look (then only the bounded bcrypt work protects the
server: the excess is refused with 503 at once, and a login either completes within the bound or is
refused at once too). Prints the good login's time and the answers to the bad ones.
Usage: bench/login_flood.py [--bad 200] [--binary .build/debug/shop]
"""
import argparse, collections, concurrent.futures, http.client, json, os, subprocess, sys, tempfile, time, urllib.error, urllib.parse, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from shoptest import start_serve  # noqa: E402


def post(base, path, body):
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.monotonic() - started


def post_from(source, base, path, body):
    """POSTs from another loopback address (127.0.0.2): another client, as far as the server can tell."""
    url = urllib.parse.urlparse(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120, source_address=(source, 0))
    started = time.monotonic()
    connection.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    status = connection.getresponse().status
    connection.close()
    return status, time.monotonic() - started


def run(binary, bad, limits):
    data = tempfile.mkdtemp(prefix="flood-")
    env = dict(os.environ, SHOP_DATA_DIR=data, SHOP_LOG_LEVEL="warning")
    if not limits:
        env.update(SHOP_AUTH_RATE_LIMIT_PER_MINUTE="0", SHOP_LOGIN_ACCOUNT_RATE_LIMIT_PER_MINUTE="0")
    subprocess.run([binary, "admin", "create", "--email", "good@example.com", "--password", "Good-passw0rd", "--data-dir", data],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    server, base = start_serve(binary, data, dict(env, SHOP_LOG_LEVEL="notice"), os.path.join(data, "server.log"))
    try:
        quiet = post(base, "/auth/login", {"email": "good@example.com", "password": "Good-passw0rd"})
        with concurrent.futures.ThreadPoolExecutor(max_workers=bad + 1) as pool:
            flood = [pool.submit(post, base, "/auth/login", {"email": f"guess{i}@example.com", "password": f"Wrong-{i}-pass"}) for i in range(bad)]
            time.sleep(0.2)  # the flood is in flight
            # The shopper signs in from another address than the flood's.
            good = pool.submit(post_from, "127.0.0.2", base, "/auth/login", {"email": "good@example.com", "password": "Good-passw0rd"}).result()
            answers = collections.Counter(f.result()[0] for f in flood)
        print(f"limits {'on (defaults)' if limits else 'off'}: good login alone {quiet[1] * 1000:.0f} ms (HTTP {quiet[0]}); "
              f"during {bad} bad logins {good[1] * 1000:.0f} ms (HTTP {good[0]}); bad answers {dict(sorted(answers.items()))}")
    finally:
        server.terminate()
        server.wait(timeout=10)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bad", type=int, default=200)
    parser.add_argument("--binary", default=os.environ.get("SHOP_BIN", os.path.join(ROOT, ".build", "debug", "shop")))
    args = parser.parse_args()
    run(args.binary, args.bad, limits=True)
    run(args.binary, args.bad, limits=False)


if __name__ == "__main__":
    main()
