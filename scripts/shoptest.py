"""Helpers shared by the project's Python test and bench scripts (standard library only): the one place in Python that
starts or reuses each service (scripts/lib/services.sh is the same for bash).

    start_serve(...)       `shop serve --port 0` on a data directory, its address read from its log
    moto_endpoint(log)     SHOP_TEST_MOTO_ENDPOINT, or a moto started by scripts/moto-server (stopped at exit)
    localstripe_endpoint(log)   SHOP_TEST_LOCALSTRIPE, or a localstripe started by scripts/localstripe-server (likewise)
    rie(), sam()           SHOP_TEST_RIE / SHOP_TEST_SAM, or the ones of .cache/sam-venv (scripts/sam-venv)
    Emulator               AWS's Lambda Runtime Interface Emulator running one bootstrap (scripts/lambda_harness.py
                           builds the functions' events and environments on it)
    Checks, free_port

Import it (`from shoptest import free_port, start_serve`; scripts/ must be on sys.path), or run it:
    python3 scripts/shoptest.py free-port          # prints a free loopback TCP port
    python3 scripts/shoptest.py serve-url LOG PID  # waits up to 60 s for `shop serve` (process PID) to log its
                                                   # address in LOG and prints it (scripts/lib/services.sh)
    python3 scripts/shoptest.py wait-http URL PID  # waits up to 20 s for URL to answer 2xx while process PID runs
                                                   # (scripts/moto-server, scripts/localstripe-server)
"""
import atexit
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(SCRIPTS)

# The line `shop serve` logs once it accepts connections (not the metrics listener's "metrics listening on ...").
LISTEN_RE = re.compile(r"ServerlessShop is listening on (http://[^\s:/]+:\d+)")
# The line the metrics listener logs (SHOP_METRICS_ADDRESS).
METRICS_LISTEN_RE = re.compile(r"metrics listening on (http://[^\s/]+:\d+/metrics)")


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ServeFailed(RuntimeError):
    """`shop serve` did not log its address: `exited` tells whether the process ended (it is stopped otherwise)."""

    def __init__(self, message, exited):
        super().__init__(message)
        self.exited = exited


def wait_listening(log_path, offset, exited, timeout=60.0):
    """Waits for `shop serve` to log the address it listens on in log_path (after `offset`) and returns it; `exited()`
    tells whether the server has ended. Raises ServeFailed (exited=False after the timeout: the server still runs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log_path, "rb") as f:
            f.seek(offset)
            match = LISTEN_RE.search(f.read().decode("utf-8", "replace"))
        if match:
            return match.group(1)
        status = exited()
        if status is not None:
            raise ServeFailed("shop serve exited%s before listening; see %s" % (" with %s" % status if status is not True else "", log_path),
                              exited=True)
        time.sleep(0.05)
    raise ServeFailed("shop serve did not log its address within %d s; see %s" % (timeout, log_path), exited=False)


def start_serve(binary, data_dir, env, log_path, timeout=60.0, seed=False, cwd=None):
    """Starts `binary serve --port 0 --no-seed --data-dir data_dir` (without --no-seed if `seed`: the demo catalog
    at start) in `cwd`, appending its output to log_path, and waits for the address it logs. Returns (process,
    base URL); raises ServeFailed (or OSError if it cannot be run)."""
    with open(log_path, "ab") as log:
        offset = log.tell()
        process = subprocess.Popen([binary, "serve", "--port", "0"] + ([] if seed else ["--no-seed"]) + ["--data-dir", data_dir],
                                   env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        return process, wait_listening(log_path, offset, process.poll, timeout)
    except ServeFailed as failure:
        if not failure.exited:
            process.kill()
            process.wait()
        raise


def wait_http(url, exited, timeout=20.0):
    """Waits until `url` answers 2xx (or a redirect): True; False once `exited()` is not None or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return True
        except OSError:  # refused, reset, an HTTP error
            if exited() is not None:
                return False
            time.sleep(0.2)
    return False


def _pid_exited(pid):
    """None while process `pid` (not a child of this one) runs; True once it has ended (or is a zombie)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True
    return True if state in ("Z", "X") else None


# --- services started unless the environment names them (scripts/test and the bash wrappers start them once) -----------

def _stop_at_exit(pid):
    def stop():
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        for _ in range(50):
            if _pid_exited(pid):
                return
            time.sleep(0.1)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    atexit.register(stop)
    return stop


def _start(starter, variable, env):
    """Runs scripts/STARTER (which prints "PID PORT" once its service answers), exports VARIABLE and stops the
    service when this process exits."""
    p = subprocess.run([os.path.join(SCRIPTS, starter)], env=dict(os.environ, **env), capture_output=True, text=True, timeout=120)
    parts = p.stdout.split()
    if p.returncode != 0 or len(parts) != 2:
        raise RuntimeError("scripts/%s failed (%d): %s" % (starter, p.returncode, (p.stdout + p.stderr)[-1500:]))
    _stop_at_exit(int(parts[0]))
    os.environ[variable] = "http://127.0.0.1:%s" % parts[1]
    return os.environ[variable]


def moto_endpoint(log_path=None):
    """moto's URL: SHOP_TEST_MOTO_ENDPOINT, else a moto started now by scripts/moto-server (its output in log_path), which
    is stopped when this process exits; either way SHOP_TEST_MOTO_ENDPOINT names it afterwards."""
    return os.environ.get("SHOP_TEST_MOTO_ENDPOINT") or _start(
        "moto-server", "SHOP_TEST_MOTO_ENDPOINT", {"MOTO_LOG": log_path or os.path.join(ROOT, ".cache", "moto.log")})


def localstripe_endpoint(log_path=None):
    """localstripe's URL: SHOP_TEST_LOCALSTRIPE, else one started now by scripts/localstripe-server (no state file), as
    moto_endpoint does."""
    return os.environ.get("SHOP_TEST_LOCALSTRIPE") or _start(
        "localstripe-server", "SHOP_TEST_LOCALSTRIPE",
        {"LOCALSTRIPE_LOG": log_path or os.path.join(ROOT, ".cache", "localstripe.log"), "LOCALSTRIPE_STATE": ""})


def rie():
    """AWS's Lambda Runtime Interface Emulator: SHOP_TEST_RIE, else the one scripts/sam-venv installs and names."""
    if not os.environ.get("SHOP_TEST_RIE"):
        os.environ["SHOP_TEST_RIE"] = subprocess.run([os.path.join(SCRIPTS, "sam-venv")], check=True, capture_output=True,
                                                     text=True).stdout.strip()
    return os.environ["SHOP_TEST_RIE"]


def sam():
    """The `sam` CLI: SHOP_TEST_SAM, else the one in .cache/sam-venv (made by scripts/sam-venv)."""
    if not os.environ.get("SHOP_TEST_SAM"):
        rie()
        os.environ["SHOP_TEST_SAM"] = os.path.join(ROOT, ".cache", "sam-venv", "bin", "sam")
    return os.environ["SHOP_TEST_SAM"]


class Checks:
    """Named checks of a script that reports many: `check(name, condition, detail)` prints `ok   name` or
    `FAIL name detail` and counts; `finish(label)` prints "label: N passed, M failed" and exits 1 on a failure."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def __call__(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            print("ok   %s" % name)
        else:
            self.failed += 1
            print(("FAIL %s %s" % (name, detail))[:2000])
        return condition

    def finish(self, label):
        print("%s: %d passed, %d failed" % (label, self.passed, self.failed))
        sys.exit(1 if self.failed else 0)


class Emulator:
    """AWS's Lambda Runtime Interface Emulator (`rie`) running `bootstrap` with `env`, on free loopback ports;
    its output goes to `log_path`. `invoke(event)` answers the function's result. A context manager."""

    def __init__(self, rie, bootstrap, env, log_path):
        self.port = free_port()
        self.log = open(log_path, "a")
        self.log_path, self.log_offset = log_path, self.log.tell()
        self.process = subprocess.Popen(
            [rie, "--runtime-interface-emulator-address", "127.0.0.1:%d" % self.port,
             "--runtime-api-address", "127.0.0.1:%d" % free_port(), bootstrap],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    self.log.close()
                    raise RuntimeError("emulator exited; see %s" % log_path)
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("emulator did not listen")

    def invoke(self, event, timeout=60):
        data = event if isinstance(event, bytes) else json.dumps(event).encode()
        request = urllib.request.Request("http://127.0.0.1:%d/2015-03-31/functions/function/invocations" % self.port,
                                         data=data, method="POST")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")

    def output(self):
        """What the function and the emulator wrote since this emulator started (its stdout: log lines, EMF lines)."""
        with open(self.log_path, "rb") as f:
            f.seek(self.log_offset)
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def main(argv):
    if argv == ["free-port"]:
        print(free_port())
        return 0
    if len(argv) == 3 and argv[0] == "serve-url":
        try:
            print(wait_listening(argv[1], 0, lambda: _pid_exited(int(argv[2]))))
            return 0
        except ServeFailed as failure:
            print(failure, file=sys.stderr)
            return 1
    if len(argv) == 3 and argv[0] == "wait-http":
        return 0 if wait_http(argv[1], lambda: _pid_exited(int(argv[2]))) else 1
    print("usage: shoptest.py free-port | serve-url LOG PID | wait-http URL PID", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
