#!/usr/bin/env bash
# Starts a PostgreSQL 15 server for the tests on a free port of 127.0.0.1 and
# writes postgres.env. The cluster is made once (initdb, trust authentication,
# superuser postgres) in $VIRTRIGAUD_TESTBED/postgres/data and kept across
# starts: each test makes a database of its own and drops it
# (apps/manager/test/postgres.ts). When the server runs already it is left as
# it is (same port, same connections) and postgres.env is written again.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/cluster.sh
. "$(dirname "$0")/cluster.sh"
here=$(cd "$(dirname "$0")" && pwd)
started=$(date +%s%N)
[ -x "$pg_bin/initdb" ] || { log "postgres: not installed; run tools/testbed/postgres/setup.sh"; exit 1; }

# One start at a time: two jest runs may bring the test bed up together.
exec 9>"$VIRTRIGAUD_TESTBED/postgres.lock"
flock 9

mkdir -p "$pg_dir"
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$pg_dir"; fi
chmod 700 "$pg_dir"
if ! as_owner test -w "$pg_dir"; then
  log "postgres: the user postgres cannot write $pg_dir (every directory above it must let others search it: chmod o+x)"
  exit 1
fi

if [ ! -s "$pg_data/PG_VERSION" ]; then
  # A half-made cluster (an initdb that was interrupted) is made again.
  as_owner rm -rf "$pg_data"
  # --no-sync: a crash of the machine during this first start can at worst
  # spoil a cluster that holds nothing yet (rm -rf it); the server keeps fsync on.
  as_owner "$pg_bin/initdb" -D "$pg_data" -A trust -U postgres -E UTF8 --no-locale --no-sync \
    >"$pg_dir/initdb.log" 2>&1 || { log "postgres: initdb failed"; cat "$pg_dir/initdb.log" >&2; exit 1; }
  # The settings of this test bed (start.sh writes them) follow the defaults.
  echo "include_if_exists = 'testbed.conf'" | as_owner tee -a "$pg_data/postgresql.conf" >/dev/null
  log "postgres: initdb in $((($(date +%s%N) - started) / 1000000)) ms"
fi

if pg_running; then
  # postmaster.pid's fourth line is the port the server listens on.
  port=$(sed -n 4p "$pg_data/postmaster.pid")
  log "postgres: running already on 127.0.0.1:$port"
else
  port=$(free_port)
  # The unix socket in $pg_dir when its path fits (107 bytes), else none.
  socket_dir=$pg_dir
  [ ${#socket_dir} -le 90 ] || socket_dir=
  # A quote in the path is doubled, as a string in postgresql.conf wants it.
  socket_dir=${socket_dir//\'/\'\'}
  # Enough connections for several managers (a pool and a LISTEN client each)
  # and many test databases at once.
  as_owner tee "$pg_data/testbed.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$socket_dir'
max_connections = 200
CONF
  if ! as_owner "$pg_bin/pg_ctl" start -D "$pg_data" -l "$pg_log" -w -t 60 -s; then
    log "postgres: did not start"
    tail -n 30 "$pg_log" >&2
    exit 1
  fi
fi
# pg_ctl -w waited for the server to say it is ready; this checks that it
# accepts connections on the TCP port the tests use.
pg_wait_ready "$port" || { log "postgres: 127.0.0.1:$port accepts no connections"; tail -n 30 "$pg_log" >&2; exit 1; }

url="postgres://postgres@127.0.0.1:$port/postgres"
write_env postgres \
  "VIRTRIGAUD_TEST_POSTGRES_URL=$url" \
  "VIRTRIGAUD_TEST_POSTGRES_PORT=$port" \
  "VIRTRIGAUD_TEST_POSTGRES_DATA=$pg_data" \
  "VIRTRIGAUD_TEST_POSTGRES_LOG=$pg_log" \
  "VIRTRIGAUD_TEST_POSTGRES_RESTART=$here/restart.sh"
log "postgres: serving $url in $((($(date +%s%N) - started) / 1000000)) ms"
