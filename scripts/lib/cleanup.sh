# Sourced (bash) by every script that starts a process (scripts/lib/services.sh needs it): stops
# what the script started, however it ends.
#   started PID    registers a background process; on exit each registered process that is still
#                  alive gets SIGTERM and is waited for (if it is a child of this shell).
#   cleanup_extra  if the sourcing script defines this function, it is called after those
#                  processes are stopped (e.g. to remove temporary directories), with the exit
#                  status as its argument; its failure does not change the exit status.
# The EXIT trap exits with the script's own status; SIGINT exits 130 and SIGTERM 143 (through the
# EXIT trap). Sourcing installs the traps, replacing any the script had.
STARTED_PIDS=()
started() { STARTED_PIDS+=("$1"); }

# The shell that sourced this file. A child forked by `cmd &` is a copy of it, traps included,
# until it execs; killed in that moment it would run this trap too, so only the owner cleans up.
_CLEANUP_OWNER=$BASHPID
_cleanup_on_exit() {
    local status=$?
    local pid
    [[ $BASHPID == "$_CLEANUP_OWNER" ]] || exit "$status"
    for pid in "${STARTED_PIDS[@]+"${STARTED_PIDS[@]}"}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if declare -F cleanup_extra >/dev/null; then
        cleanup_extra "$status" || true
    fi
    exit "$status"
}
trap _cleanup_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
