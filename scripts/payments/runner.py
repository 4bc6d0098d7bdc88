"""`Runner`: runs numbered checks, prints ok / not ok (with the server's log on a failure) and counts them."""
import traceback

from payments.common import CheckFailed, say


class Runner:
    def __init__(self, store, only):
        self.store = store
        self.only = only
        self.passed = 0
        self.failed = 0
        self.logged = set()

    def wanted(self, number):
        return self.only is None or number in self.only

    def ok(self, message):
        self.passed += 1
        say("ok - " + message)

    def not_ok(self, message, server=None):
        self.failed += 1
        say("not ok - " + message)
        if server is not None:
            say("#   --- last 50 lines of the log of server %s (%s) ---" % (server.name, server.log_path))
            for line in server.log_tail(50):
                say("#   " + line)
            say("#   --- end of log ---")

    def check(self, number, title, server, fn, *args):
        if not self.wanted(number):
            return None
        try:
            detail = fn(*args)
        except CheckFailed as e:
            self.not_ok("%d. %s: %s" % (number, title, e), server)
            return None
        except Exception as e:  # noqa: BLE001 (a bug here, or an answer of an unexpected shape)
            self.not_ok("%d. %s: %s: %s\n#   %s" % (number, title, type(e).__name__, e,
                                                 traceback.format_exc().replace("\n", "\n#   ")), server)
            return None
        self.ok("%d. %s%s" % (number, title, (": " + detail) if detail else ""))
        return True
