#!/usr/bin/env bash
# Installs Debian's postgresql-15 when its initdb is missing. The package would
# make and start a cluster "main" on port 5432; the createcluster.d file below
# tells postgresql-common not to: the test bed runs its own cluster (start.sh).
# Idempotent.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/virtrigaud-testbed.conf
  ensure_packages postgresql-15
fi
