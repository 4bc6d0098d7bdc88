"""Helpers shared by the project's Python test and bench scripts (standard library only).

Import it (`from shoptest import free_port, start_serve`; scripts/ must be on sys.path), or run it:
    python scripts/shoptest.py free-port    # prints a free loopback TCP port
"""
import re
import socket
import subprocess
import sys
import time

# The line `shop serve` logs once it accepts connections.
LISTEN_RE = re.compile(r"listening on (http://[^\s:/]+:\d+)")


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


def start_serve(binary, data_dir, env, log_path, timeout=60.0):
    """Starts `binary serve --port 0 --no-seed --data-dir data_dir`, appending its output to log_path, and waits
    for the address it logs. Returns (process, base URL); raises ServeFailed (or OSError if it cannot be run)."""
    with open(log_path, "ab") as log:
        offset = log.tell()
        process = subprocess.Popen([binary, "serve", "--port", "0", "--no-seed", "--data-dir", data_dir],
                                   env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
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


def main(argv):
    if argv == ["free-port"]:
        print(free_port())
        return 0
    print("usage: shoptest.py free-port", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
