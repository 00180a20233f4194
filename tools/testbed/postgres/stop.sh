#!/usr/bin/env bash
# Stops the server start.sh started, by its data directory (pg_ctl reads the
# PID from postmaster.pid there), with a fast shutdown: open sessions are
# ended. Removes postgres.env; the cluster stays for the next start.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/cluster.sh
. "$(dirname "$0")/cluster.sh"
if pg_running; then
  as_owner "$pg_bin/pg_ctl" stop -D "$pg_data" -m fast -w -t 60 -s
fi
rm -f "$VIRTRIGAUD_TESTBED/postgres.env"
