#!/bin/sh
# Entry point of the vcsim image (deploy/docker/vcsim.Dockerfile). vcsim reads its username and
# password only from VCSIM_USERNAME and VCSIM_PASSWORD; they come from mounted files
# (compose secrets) into this process's environment alone, never from the compose file.
# Arguments go to vcsim (for example -templates or the model's sizes).
set -eu
dir=${VCSIM_CREDENTIALS_DIR:-/run/secrets/vsphere}
for f in username password; do
  if [ ! -r "$dir/$f" ]; then
    echo "vcsim: $dir/$f is missing or unreadable (see docs/guides/docker-compose.md)" >&2
    exit 2
  fi
done
VCSIM_USERNAME=$(cat "$dir/username")
VCSIM_PASSWORD=$(cat "$dir/password")
export VCSIM_USERNAME VCSIM_PASSWORD
# info.json says "serving" to the health check: never a stale one from an earlier run.
rm -f /run/vcsim/info.json
exec /usr/local/bin/vcsim -listen 127.0.0.1:8989 -cert-out /run/vcsim/ca.pem \
  -info-out /run/vcsim/info.json "$@"
