#!/usr/bin/env bash
# Stops the test beds (all, or the ones named): exactly the processes their
# start scripts started.
. "$(dirname "$0")/lib.sh"
cd "$repo_root/tools/testbed"
names=("$@")
[ ${#names[@]} -gt 0 ] || for d in */; do names+=("${d%/}"); done
for name in "${names[@]}"; do
  [ -x "$name/stop.sh" ] || continue
  "$name/stop.sh" || log "$name: stop failed"
done
