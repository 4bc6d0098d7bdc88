"""ShopLambda under AWS's Runtime Interface Emulator, against `shop serve` (see bench/lambda).

Reads BENCH_BOOTSTRAP, BENCH_ZIP, BENCH_SHOP, BENCH_COLD_RUNS, BENCH_WARM, BENCH_WORK from the environment; the
emulator and moto are SHOP_TEST_RIE and SHOP_TEST_MOTO_ENDPOINT (bench/lambda), else scripts/shoptest.py's. Prints a report; exits non-zero if any request fails.
"""
import http.client, json, os, re, statistics, subprocess, sys, tempfile, time, urllib.request

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from lambda_harness import AWS_TEST_ENV as AWS_ENV, Function as HarnessFunction  # noqa: E402
from shoptest import free_port, moto_endpoint  # noqa: E402

BOOTSTRAP = os.environ["BENCH_BOOTSTRAP"]
ZIP = os.environ["BENCH_ZIP"]
SHOP = os.environ["BENCH_SHOP"]
MOTO = moto_endpoint()
COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "5"))
WARM = int(os.environ.get("BENCH_WARM", "200"))
WORK = os.environ["BENCH_WORK"]

PEM = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def max_rss_kib(pid):
    """VmHWM: the peak resident set size of the process, from /proc."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry))
            except OSError:
                pass
    return found


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def event(path, query=""):
    return json.dumps({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": {"host": "bench.example.com"}, "isBase64Encoded": False,
        "requestContext": {"http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
                           "requestId": "bench", "routeKey": "$default", "stage": "$default"},
    }).encode()


class Function(HarnessFunction):
    """One emulator running the packaged bootstrap (_HANDLER=products), its output in WORK/rie-NAME.log."""

    def __init__(self, name):
        env = dict(os.environ, **AWS_ENV, _HANDLER="products", SHOP_STORE="dynamodb", SHOP_DYNAMODB_ENDPOINT=MOTO,
                   SHOP_IDENTITY="local", SHOP_TOKEN_SIGNING_KEY_PEM=PEM, SHOP_LOG_LEVEL="warning",
                   # Plain secrets, as the emulator tests pass them (a deployed function reads Secrets Manager),
                   # and no payments: products never takes money.
                   SHOP_SECRETS="environment", SHOP_CURSOR_SECRET="bench-cursor-secret-0123456789", SHOP_PAYMENTS="none")
        super().__init__(name, BOOTSTRAP, env, WORK)

    def invoke(self, payload):
        result = super().invoke(payload)
        if result.get("statusCode") != 200:
            sys.exit(f"bench: the function answered {result}")
        return result

    def bootstrap_rss(self):
        pids = children(self.process.pid)
        return max(max_rss_kib(pid) for pid in pids) if pids else 0

    def stop(self):
        """Stops the emulator and returns its log (the REPORT and INIT REPORT lines)."""
        super().stop()
        with open(self.log_path) as f:
            return f.read()


def lambda_runs(product_id):
    cold = []
    for run in range(COLD_RUNS):
        fn = Function(str(run))
        started = time.perf_counter()
        fn.invoke(event(f"/products/{product_id}"))
        first_response_ms = (time.perf_counter() - started) * 1000
        round_trips = []
        for _ in range(WARM if run == 0 else 0):
            t = time.perf_counter()
            fn.invoke(event(f"/products/{product_id}"))
            round_trips.append((time.perf_counter() - t) * 1000)
        for _ in range(WARM if run == 0 else 0):
            fn.invoke(event("/health"))
        rss = fn.bootstrap_rss()
        log = fn.stop()
        init_report = [float(m) for m in re.findall(r"INIT REPORT\(durationMs: ([0-9.]+)\)", log)]
        report_init = [float(m) for m in re.findall(r"Init Duration: ([0-9.]+) ms", log)]
        durations = [float(m) for m in re.findall(r"^REPORT RequestId: \S+\s+(?:Init Duration: [0-9.]+ ms\s+)?Duration: ([0-9.]+) ms", log, re.M)]
        cold.append({"first_response_ms": first_response_ms, "init_ms": init_report[0] if init_report else None,
                     "report_init_ms": report_init[0] if report_init else None, "rss_kib": rss,
                     "first_duration_ms": durations[0] if durations else None,
                     "warm_ms": durations[1:1 + WARM] if run == 0 else [], "health_ms": durations[1 + WARM:] if run == 0 else [],
                     "round_trips": round_trips})
    return cold


def serve_run(label, extra_env, data_dir):
    port = free_port()
    env = dict(os.environ, **AWS_ENV, **extra_env, SHOP_LOG_LEVEL="warning", SHOP_SWEEP_INTERVAL_SECONDS="3600")
    log = open(os.path.join(WORK, f"serve-{label}.log"), "w")
    started = time.perf_counter()
    process = subprocess.Popen([SHOP, "serve", "--port", str(port), "--data-dir", data_dir, "--no-seed"], env=env, stdout=log, stderr=subprocess.STDOUT)
    first_response_ms = None
    for _ in range(3000):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                if response.status == 200:
                    first_response_ms = (time.perf_counter() - started) * 1000
                    break
        except OSError:
            if process.poll() is not None:
                sys.exit(f"bench: shop serve ({label}) exited")
            time.sleep(0.002)
    if first_response_ms is None:
        sys.exit(f"bench: shop serve ({label}) never answered")
    idle_rss = max_rss_kib(process.pid)
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/products?limit=1")
    listing = json.loads(conn.getresponse().read())
    product_id = listing["items"][0]["id"]
    timings = []
    for _ in range(WARM):
        t = time.perf_counter()
        conn.request("GET", f"/products/{product_id}")
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            sys.exit(f"bench: shop serve ({label}) answered {response.status}")
        timings.append((time.perf_counter() - t) * 1000)
    conn.close()
    rss = max_rss_kib(process.pid)
    process.terminate()
    process.wait(timeout=10)
    log.close()
    return {"first_response_ms": first_response_ms, "idle_rss_kib": idle_rss, "rss_kib": rss, "timings": timings}


def main():
    # Tables and the demo catalog in moto, as `shop` writes them.
    env = dict(os.environ, **AWS_ENV, SHOP_STORE="dynamodb", SHOP_DYNAMODB_ENDPOINT=MOTO, SHOP_DATA_DIR=os.path.join(WORK, "seed"))
    subprocess.run([SHOP, "aws", "create-tables"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([SHOP, "seed"], env=env, check=True, stdout=subprocess.DEVNULL)
    sqlite_dir = os.path.join(WORK, "sqlite-seed")
    subprocess.run([SHOP, "seed"], env=dict(os.environ, SHOP_DATA_DIR=sqlite_dir), check=True, stdout=subprocess.DEVNULL)

    discovery = Function("discovery")
    product_id = json.loads(discovery.invoke(event("/products", "limit=1"))["body"])["items"][0]["id"]
    discovery.stop()

    cold = lambda_runs(product_id)
    serve_dynamo = serve_run("dynamodb", {"SHOP_STORE": "dynamodb", "SHOP_DYNAMODB_ENDPOINT": MOTO}, tempfile.mkdtemp(dir=WORK))

    def ms(values):
        return f"p50 {statistics.median(values):7.2f} ms   p99 {percentile(values, 99):7.2f} ms   (n={len(values)})"

    first = [c["first_response_ms"] for c in cold]
    inits = [c["init_ms"] for c in cold if c["init_ms"] is not None]
    report_inits = [c["report_init_ms"] for c in cold if c["report_init_ms"] is not None]
    rss = [c["rss_kib"] / 1024 for c in cold]
    print(f"ShopLambda (_HANDLER=products, DynamoDB on moto), {COLD_RUNS} cold starts under the emulator")
    print(f"  zip (bootstrap, stripped, static stdlib)  {os.path.getsize(ZIP) / 1e6:6.1f} MB   (binary {os.path.getsize(BOOTSTRAP) / 1e6:.1f} MB)")
    print(f"  init (emulator INIT REPORT durationMs)    median {statistics.median(inits):7.2f} ms   min {min(inits):.2f}   max {max(inits):.2f}")
    if report_inits:
        print(f"  REPORT line 'Init Duration'              median {statistics.median(report_inits):7.2f} ms   (this emulator does not time init there)")
    print(f"  exec to first response (invoke to answer) median {statistics.median(first):7.2f} ms   min {min(first):.2f}   max {max(first):.2f}")
    print(f"  first invocation Duration (REPORT)        median {statistics.median([c['first_duration_ms'] for c in cold]):7.2f} ms")
    print(f"  max RSS after the run (VmHWM)             max {max(rss):6.1f} MB   median {statistics.median(rss):.1f} MB")
    print(f"  warm GET /products/{{id}} Duration          {ms(cold[0]['warm_ms'])}")
    print(f"  warm GET /products/{{id}} round trip        {ms(cold[0]['round_trips'])}")
    print(f"  warm GET /health Duration                 {ms(cold[0]['health_ms'])}")
    print()
    print("shop serve (release, DynamoDB on the same moto)")
    print(f"  binary (dynamically linked)               {os.path.getsize(SHOP) / 1e6:6.1f} MB")
    print(f"  exec to first /health answer              {serve_dynamo['first_response_ms']:7.2f} ms")
    print(f"  RSS idle / after the run (VmHWM)          {serve_dynamo['idle_rss_kib'] / 1024:6.1f} MB / {serve_dynamo['rss_kib'] / 1024:.1f} MB")
    print(f"  warm GET /products/{{id}} round trip        {ms(serve_dynamo['timings'])}")
    serve_sqlite = serve_run("sqlite", {}, sqlite_dir)
    print()
    print("shop serve (release, embedded SQLite)")
    print(f"  exec to first /health answer              {serve_sqlite['first_response_ms']:7.2f} ms")
    print(f"  RSS idle / after the run (VmHWM)          {serve_sqlite['idle_rss_kib'] / 1024:6.1f} MB / {serve_sqlite['rss_kib'] / 1024:.1f} MB")
    print(f"  warm GET /products/{{id}} round trip        {ms(serve_sqlite['timings'])}")


main()
