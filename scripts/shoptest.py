"""Helpers shared by the project's Python test and bench scripts (standard library only).

Import it (`from shoptest import free_port, start_serve`; scripts/ must be on sys.path), or run it:
    python scripts/shoptest.py free-port    # prints a free loopback TCP port
"""
import json
import re
import socket
import subprocess
import sys
import time
import urllib.request

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


def start_serve(binary, data_dir, env, log_path, timeout=60.0, seed=False, cwd=None):
    """Starts `binary serve --port 0 --no-seed --data-dir data_dir` (without --no-seed if `seed`: the demo catalog
    at start) in `cwd`, appending its output to log_path, and waits for the address it logs. Returns (process,
    base URL); raises ServeFailed (or OSError if it cannot be run)."""
    with open(log_path, "ab") as log:
        offset = log.tell()
        process = subprocess.Popen([binary, "serve", "--port", "0"] + ([] if seed else ["--no-seed"]) + ["--data-dir", data_dir],
                                   env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log_path, "rb") as f:
            f.seek(offset)
            match = LISTEN_RE.search(f.read().decode("utf-8", "replace"))
        if match:
            return process, match.group(1)
        if process.poll() is not None:
            raise ServeFailed("shop serve exited with %s before listening; see %s" % (process.returncode, log_path), exited=True)
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise ServeFailed("shop serve did not log its address within %d s; see %s" % (timeout, log_path), exited=False)


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
    print("usage: shoptest.py free-port", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
