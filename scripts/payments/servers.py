"""The processes of a run: `Server` (one `shop serve` with its own data directory and, on DynamoDB, its own tables,
through shoptest.start_serve) and `run_tool` (the shop binary's other commands), both waiting out a rebuild of it."""
import os
import secrets
import signal
import subprocess
import time

from payments.common import CheckFailed, TABLES, say, short
from shoptest import ServeFailed, start_serve


def wait_for_binary(path, timeout=180.0):
    """Waits until the binary exists, is executable and has not changed for 3 s (it may be mid-rebuild)."""
    deadline = time.time() + timeout
    announced = False
    while True:
        try:
            st = os.stat(path)
            if os.access(path, os.X_OK) and time.time() - st.st_mtime > 3:
                return
        except FileNotFoundError:
            pass
        if time.time() > deadline:
            raise CheckFailed("%s is missing or still being rebuilt after %d s" % (path, timeout))
        if not announced:
            say("# waiting for %s (missing or being rebuilt)" % path)
            announced = True
        time.sleep(2)


def run_tool(binary, args, env, what, attempts=3):
    last = None
    for attempt in range(attempts):
        wait_for_binary(binary)
        try:
            p = subprocess.run([binary] + args, env=env, capture_output=True, text=True, timeout=120)
        except OSError as e:  # e.g. ETXTBSY while the linker writes it
            last = "could not run %s: %s" % (binary, e)
            time.sleep(5)
            continue
        if p.returncode == 0:
            return p.stdout + p.stderr
        last = "%s exited %d: %s" % (what, p.returncode, short(p.stdout + p.stderr, 3000))
        if attempt + 1 < attempts and not os.path.exists(binary):
            time.sleep(5)
            continue
        break
    raise CheckFailed(last)


class Server:
    """One `shop serve` with its own data directory (and, on DynamoDB, its own tables)."""

    def __init__(self, name, binary, store, workdir, secret, moto_endpoint=None, ttl=None, webhook_url=None):
        self.name, self.binary, self.store = name, binary, store
        self.data_dir = os.path.join(workdir, "data-" + name)
        self.log_path = os.path.join(workdir, "server-%s.log" % name)
        self.secret = secret
        self.ttl = ttl
        self.webhook_url = webhook_url
        self.proc = None
        self.base = None
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOP_", "AWS_"))}
        env.update({
            "SHOP_BCRYPT_COST": "4", "SHOP_PAYMENTS": "simulated", "SHOP_PAYMENTS_WEBHOOK_SECRET": secret,
            # Many shoppers sign in from 127.0.0.1 here: the sign-in rate limits are set off explicitly.
            "SHOP_AUTH_RATE_LIMIT_PER_MINUTE": "0", "SHOP_LOGIN_ACCOUNT_RATE_LIMIT_PER_MINUTE": "0",
            # and shoppers keep several orders open at once.
            "SHOP_MAX_OPEN_ORDERS": "0",
            "SHOP_SWEEP_INTERVAL_SECONDS": "1", "SHOP_DATA_DIR": self.data_dir,
        })
        if ttl is not None:
            env["SHOP_ORDER_TTL_SECONDS"] = str(ttl)
        if webhook_url:
            env["SHOP_PAYMENTS_WEBHOOK_URL"] = webhook_url
        if store == "dynamodb":
            prefix = "pe2e%s%s" % (secrets.token_hex(3), name)
            env.update({
                "SHOP_STORE": "dynamodb", "SHOP_DYNAMODB_ENDPOINT": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1",
            })
            for t in TABLES:
                env["SHOP_DYNAMODB_%s_TABLE" % t] = "%s-%s" % (prefix, t.lower().replace("_", "-"))
        else:
            env["SHOP_STORE"] = "sqlite"
        self.env = env

    def start(self, create_tables=True):
        os.makedirs(self.data_dir, exist_ok=True)
        if self.store == "dynamodb" and create_tables:
            run_tool(self.binary, ["aws", "create-tables"], self.env, "shop aws create-tables")
        for attempt in range(3):
            wait_for_binary(self.binary)
            try:
                self.proc, self.base = start_serve(self.binary, self.data_dir, self.env, self.log_path)
                return
            except OSError as e:
                say("# %s: could not start %s (%s); retrying" % (self.name, self.binary, e))
                time.sleep(5)
            except ServeFailed as e:
                # The test build may be relinking the binary: start it again once it is back.
                if e.exited and attempt < 2 and not os.path.exists(self.binary):
                    time.sleep(5)
                    continue
                raise CheckFailed("server %s: %s" % (self.name, e))
        raise CheckFailed("server %s could not be started" % self.name)

    def restart(self):
        """Stops the server and starts it again on the same data directory and tables."""
        self.stop()
        self.start(create_tables=False)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=50):
        return self.log_text().splitlines()[-n:]
