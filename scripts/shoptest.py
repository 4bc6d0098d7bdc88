"""Helpers shared by the project's Python test and bench scripts (standard library only).

Import it (`from shoptest import free_port`; scripts/ must be on sys.path), or run it:
    python scripts/shoptest.py free-port    # prints a free loopback TCP port
"""
import socket
import sys


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main(argv):
    if argv == ["free-port"]:
        print(free_port())
        return 0
    print("usage: shoptest.py free-port", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
