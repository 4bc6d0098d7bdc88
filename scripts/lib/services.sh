# Sourced (bash), after scripts/lib/cleanup.sh, by every script that needs a service: the one place that starts
# or reuses each. What a function starts is registered with `started` (stopped on exit); each fails (exit 1, the
# reason on stderr) when its service does not come up. scripts/shoptest.py has the same for Python.
#   use_moto LOG          moto (scripts/moto-server, the project venv) unless SHOP_TEST_MOTO_ENDPOINT names one;
#                         exports SHOP_TEST_MOTO_ENDPOINT. `moto_reset` empties it.
#   use_localstripe LOG   localstripe (scripts/localstripe-server; LOCALSTRIPE_STATE= for no state file) unless
#                         SHOP_TEST_LOCALSTRIPE names one; exports SHOP_TEST_LOCALSTRIPE.
#   use_smtp LOG          the aiosmtpd servers (scripts/smtp-server) unless SHOP_TEST_SMTP names them; exports it.
#   use_rie               AWS's Lambda Runtime Interface Emulator (from the aws-sam-cli wheel in .cache/sam-venv,
#                         made by scripts/sam-venv); exports SHOP_TEST_RIE, SHOP_TEST_SAM, SAM_CLI_TELEMETRY=0.
#                         The emulator itself is run per function by scripts/lambda_harness.py.
#   start_serve LOG DATA_DIR [ARGS...]
#                         `$SHOP serve --port 0 --data-dir DATA_DIR ARGS...` in the background (SHOP defaults to
#                         $SHOP_BIN or .build/debug/shop; variables set before the call reach the server), its
#                         output in LOG; waits up to 60 s for the address it logs (read by scripts/shoptest.py, as
#                         Python's start_serve reads it). Sets SERVE_PID, SERVE_PORT and SERVE_BASE; returns 1,
#                         saying why on stderr, if the server exits first or does not listen in time.
# scripts/test unsets the SHOP_TEST_* variables first: it always starts its own services.
_SERVICES_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# _service NAME VARIABLE PREFIX COMMAND...: runs a starter that prints "PID SETTINGS", registers PID and exports
# VARIABLE=PREFIX SETTINGS.
_service() {
    local name=$1 variable=$2 prefix=$3 pid settings
    shift 3
    read -r pid settings < <("$@") || true
    [[ -n ${settings:-} ]] || { echo "$name did not start" >&2; exit 1; }
    started "$pid"
    export "$variable=$prefix$settings"
    echo "$name pid $pid: ${!variable}" >&2
}

use_moto() {
    [[ -z ${SHOP_TEST_MOTO_ENDPOINT:-} ]] || { export SHOP_TEST_MOTO_ENDPOINT; return 0; }
    "$_SERVICES_ROOT/scripts/venv" >&2
    _service moto SHOP_TEST_MOTO_ENDPOINT http://127.0.0.1: env MOTO_LOG="$1" "$_SERVICES_ROOT/scripts/moto-server"
}

moto_reset() {
    curl -sS -X POST "$SHOP_TEST_MOTO_ENDPOINT/moto-api/reset" >/dev/null
}

use_localstripe() {
    [[ -z ${SHOP_TEST_LOCALSTRIPE:-} ]] || { export SHOP_TEST_LOCALSTRIPE; return 0; }
    "$_SERVICES_ROOT/scripts/venv" >&2
    _service localstripe SHOP_TEST_LOCALSTRIPE http://127.0.0.1: \
        env LOCALSTRIPE_LOG="$1" "$_SERVICES_ROOT/scripts/localstripe-server"
}

use_smtp() {
    [[ -z ${SHOP_TEST_SMTP:-} ]] || { export SHOP_TEST_SMTP; return 0; }
    "$_SERVICES_ROOT/scripts/venv" >&2
    _service aiosmtpd SHOP_TEST_SMTP "" env SMTP_LOG="$1" "$_SERVICES_ROOT/scripts/smtp-server"
}

use_rie() {
    SHOP_TEST_RIE=$("$_SERVICES_ROOT/scripts/sam-venv")
    export SHOP_TEST_RIE SHOP_TEST_SAM="$_SERVICES_ROOT/.cache/sam-venv/bin/sam" SAM_CLI_TELEMETRY=0
}

start_serve() {
    local log=$1 data=$2
    shift 2
    "${SHOP:-${SHOP_BIN:-$_SERVICES_ROOT/.build/debug/shop}}" serve --port 0 --data-dir "$data" "$@" >"$log" 2>&1 &
    SERVE_PID=$!
    started "$SERVE_PID"
    SERVE_BASE=$(python3 "$_SERVICES_ROOT/scripts/shoptest.py" serve-url "$log" "$SERVE_PID") || return 1
    SERVE_PORT=${SERVE_BASE##*:}
}
