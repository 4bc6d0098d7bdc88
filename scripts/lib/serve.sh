# Sourced (bash) by scripts/smoke, scripts/schemathesis and bench/run.
#   serve_port LOG PID   waits up to 60 s for `shop serve` (process PID, its output in LOG) to log the
#                        address it listens on and prints the port. Fails, saying why on stderr, if
#                        the process exits first or the 60 s pass.
serve_port() {
    local log=$1 pid=$2 port
    for _ in $(seq 1 600); do
        port=$(sed -n 's/.*ServerlessShop is listening on http:\/\/[^ ]*:\([0-9][0-9]*\).*/\1/p' "$log" | head -n1)
        if [[ -n $port ]]; then
            echo "$port"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "shop serve exited before it was listening (log: $log)" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "shop serve did not log its listening address within 60 s (log: $log)" >&2
    return 1
}
