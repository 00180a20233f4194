#!/usr/bin/env bash
# Restarts the test bed's server in place (same cluster, same port) and waits
# until it accepts connections again: tests call it (VIRTRIGAUD_TEST_POSTGRES_RESTART)
# for "PostgreSQL restarted mid-run". The shutdown is fast, as when an
# operator restarts the service: every session is ended, committed data stays.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/cluster.sh
. "$(dirname "$0")/cluster.sh"
# The cluster postgres.env names, when the caller has it (a test bed elsewhere).
if [ -n "${VIRTRIGAUD_TEST_POSTGRES_DATA:-}" ]; then
  pg_data=$VIRTRIGAUD_TEST_POSTGRES_DATA
  pg_log=$(dirname "$pg_data")/postgres.log
fi
started=$(date +%s%N)
if ! as_owner "$pg_bin/pg_ctl" restart -D "$pg_data" -l "$pg_log" -m fast -w -t 60 -s; then
  log "postgres: restart failed"
  tail -n 30 "$pg_log" >&2
  exit 1
fi
port=$(sed -n 4p "$pg_data/postmaster.pid")
pg_wait_ready "$port" || { log "postgres: 127.0.0.1:$port accepts no connections after the restart"; exit 1; }
log "postgres: restarted on 127.0.0.1:$port in $((($(date +%s%N) - started) / 1000000)) ms"
