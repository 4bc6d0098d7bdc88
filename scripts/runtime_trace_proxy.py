#!/usr/bin/env python3
"""The part of Lambda's Runtime API that the Runtime Interface Emulator leaves out: the trace header.

    runtime_trace_proxy.py TRACE_FILE BOOTSTRAP [ARGS...]

Run by the emulator as the function's bootstrap (scripts/lambda_cases.py). With active tracing, Lambda answers each
`GET /runtime/invocation/next` with `Lambda-Runtime-Trace-Id: Root=…;Parent=…;Sampled=1`; the emulator sends none
(it drops an invoker's X-Amzn-Trace-Id). This proxy stands between the function and the emulator's Runtime API,
forwards every request and answer unchanged, and adds that header to a `next` answer when TRACE_FILE holds one (the
test writes it before the invocation it traces, and empties it after). BOOTSTRAP runs with AWS_LAMBDA_RUNTIME_API set
to the proxy; the proxy exits with its status.
"""
import http.client, http.server, os, subprocess, sys, threading

TRACE_FILE, BOOTSTRAP = sys.argv[1], sys.argv[2:]
UPSTREAM = os.environ["AWS_LAMBDA_RUNTIME_API"]


class Forward(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        connection = http.client.HTTPConnection(UPSTREAM, timeout=None)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        connection.request(self.command, self.path, body=body, headers=headers)
        answer = connection.getresponse()
        content = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                self.send_header(name, value)
        if self.path.endswith("/invocation/next"):
            try:
                trace = open(TRACE_FILE).read().strip()
            except OSError:
                trace = ""
            if trace:
                self.send_header("Lambda-Runtime-Trace-Id", trace)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)
        connection.close()

    do_GET = do_POST = forward


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forward)
threading.Thread(target=server.serve_forever, daemon=True).start()
env = dict(os.environ, AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % server.server_address[1])
sys.exit(subprocess.call(BOOTSTRAP, env=env))
