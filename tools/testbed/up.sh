#!/usr/bin/env bash
# Sets up and starts the test beds (all, or the ones named): the real daemons
# the integration tests use, on 127.0.0.1. Prints the env files to source.
. "$(dirname "$0")/lib.sh"
cd "$repo_root/tools/testbed"
names=("$@")
[ ${#names[@]} -gt 0 ] || for d in */; do names+=("${d%/}"); done
for name in "${names[@]}"; do
  [ -x "$name/start.sh" ] || continue
  log "$name: setup"
  "$name/setup.sh"
  log "$name: start"
  "$name/start.sh"
done
ls "$VIRTRIGAUD_TESTBED"/*.env 2>/dev/null || true
