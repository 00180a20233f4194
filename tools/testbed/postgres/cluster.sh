# What the postgres test bed's scripts share (sourced after ../lib.sh): where
# the cluster lives, and how to run PostgreSQL's programs as its owner.
# shellcheck shell=bash

# Debian's postgresql-15; its programs are not on PATH.
pg_bin=/usr/lib/postgresql/15/bin
pg_dir=$VIRTRIGAUD_TESTBED/postgres
pg_data=$pg_dir/data
pg_log=$pg_dir/postgres.log

# as_owner CMD...: runs CMD as the cluster's owner. initdb and postgres refuse
# to run as root, so as root that is the user postgres (Debian's package makes
# it); as anyone else, that user. From / (the caller's directory may be closed
# to postgres), and without fd 9 (start.sh's lock), which the server would
# otherwise inherit and hold for its whole life.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u postgres -- "$@") 9>&-
  else
    (cd / && "$@") 9>&-
  fi
}

# pg_running: whether a server runs on the cluster (pg_ctl status reads its
# postmaster.pid and checks that process).
pg_running() {
  [ -f "$pg_data/postmaster.pid" ] && as_owner "$pg_bin/pg_ctl" status -D "$pg_data" >/dev/null 2>&1
}

# pg_wait_ready PORT: waits up to 5 s until the server accepts connections on
# 127.0.0.1:PORT, the address the tests use.
pg_wait_ready() {
  local _
  for _ in $(seq 100); do
    "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$1" -U postgres -d postgres && return 0
    sleep 0.05
  done
  "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$1" -U postgres -d postgres
}
