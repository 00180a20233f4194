#!/bin/sh
# Entry point of the postgres image (deploy/docker/postgres.Dockerfile). Makes the cluster on
# the first start: superuser virtrigaud with the password in $POSTGRES_PASSWORD_FILE (a compose
# secret; the password never passes through a command line or the environment), a database
# virtrigaud, password (SCRAM-SHA-256) authentication over TCP from anywhere and trust only on
# the container's own unix socket. Then runs the server in the foreground, listening on every
# address of the container (its compose network). Arguments go to postgres (-c name=value).
set -eu
bin=/usr/lib/postgresql/15/bin
data=${PGDATA:-/var/lib/postgresql/data}
password_file=${POSTGRES_PASSWORD_FILE:-/run/secrets/postgres-password}
if [ ! -s "$data/PG_VERSION" ]; then
  if [ ! -s "$password_file" ]; then
    echo "postgres: $password_file is missing or empty (see docs/guides/docker-compose.md)" >&2
    exit 2
  fi
  # initdb reads the first line of --pwfile.
  "$bin/initdb" -D "$data" -U virtrigaud --pwfile="$password_file" -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256
  echo "host all all all scram-sha-256" >>"$data/pg_hba.conf"
  echo "CREATE DATABASE virtrigaud" | "$bin/postgres" --single -D "$data" postgres >/dev/null
fi
exec "$bin/postgres" -D "$data" -c listen_addresses='*' -c max_connections=200 "$@"
