#!/usr/bin/env bash
# Tests the README's run command: runs `tools/run.sh --only-mock` as a user
# would (install and build included), waits until it lists the sample VM
# Ready, checks the services listen on 127.0.0.1 only and answer vrtg, sends
# SIGINT (a terminal's Ctrl-C), and checks that it exits with 0 and that no
# process it started is left: by the PIDs it recorded, and by an environment
# marker every process it started inherits (test beds' daemons included).
#
# Usage: tools/run.test.sh [extra tools/run.sh arguments, e.g. --no-install]
# Environment: RUN_TEST_TIMEOUT seconds to wait for the stack (default 900:
# a fresh clone's install and build).
set -euo pipefail
cd "$(dirname "$0")/.."
# free_port, from the test beds' helpers
# shellcheck source=tools/testbed/lib.sh
. tools/testbed/lib.sh
# Job control: tools/run.sh runs as a job of its own, so SIGINT reaches it
# as from a terminal (a non-interactive shell's background jobs ignore it).
set -m

fail() {
  echo "run.test: FAIL: $*" >&2
  echo "--- tools/run.sh output ---" >&2
  cat "$dir/out" >&2 || true
  exit 1
}

dir=$(mktemp -d)
marker=vrtg-run-test-$$-$RANDOM
port=$(free_port)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

# The processes whose environment carries the marker (all tools/run.sh started).
marked() {
  local p
  for p in /proc/[0-9]*; do
    tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qx "VRTG_RUN_TEST_MARKER=$marker" && echo "${p#/proc/}"
  done
  return 0
}

: >"$dir/out"
started=$SECONDS
VIRTRIGAUD_RUN_DIR=$dir/state VRTG_RUN_TEST_MARKER=$marker \
  tools/run.sh --only-mock --port "$port" "$@" >"$dir/out" 2>&1 &
pid=$!
timeout=${RUN_TEST_TIMEOUT:-900}
until grep -q "The stack is up" "$dir/out"; do
  kill -0 "$pid" 2>/dev/null || fail "tools/run.sh exited before the stack was up"
  [ $((SECONDS - started)) -lt "$timeout" ] || fail "the stack was not up within ${timeout}s"
  sleep 0.5
done
echo "run.test: the stack was up in $((SECONDS - started))s"

# The listing ends the start-up: the sample VM, Ready.
grep -Eq '^web-mock +Running +True +mock +small +base ' "$dir/out" \
  || fail "vrtg get vm did not list web-mock Running and Ready"
# The manager answers on the port it was given, with the VM Ready, to the
# administrator the run said how to log in as, and to no one without a token.
grep -q "log in: export VRTG_CONFIG=$dir/state/vrtg.yaml" "$dir/out" || fail "tools/run.sh did not say how to log in"
VRTG_CONFIG=$dir/state/vrtg.yaml node apps/manager/bin/vrtg.js wait vm web-mock \
  --for condition=Ready --timeout 5s >/dev/null || fail "vrtg wait vm web-mock failed against the stack"
[ "$(VRTG_CONFIG=$dir/state/vrtg.yaml node apps/manager/bin/vrtg.js auth whoami -o json | node -pe 'JSON.parse(require("fs").readFileSync(0)).name')" = admin ] \
  || fail "vrtg auth whoami is not admin with the run's context"
VRTG_CONFIG=/dev/null node apps/manager/bin/vrtg.js --server "http://127.0.0.1:$port" get vm >"$dir/anon" 2>&1 \
  && fail "the stack's manager answered a caller without a token"
grep -qi "unauthenticated\|no credentials" "$dir/anon" || fail "a caller without a token was not told why: $(cat "$dir/anon")"
# The web console, on the API's port, where the run said.
grep -q "web console: http://127.0.0.1:$port/console/" "$dir/out" || fail "tools/run.sh did not say where the web console is"
node -e 'fetch(process.argv[1]).then(async (r) => process.exit(r.ok && (await r.text()).includes("<div id=\"root\">") ? 0 : 1), () => process.exit(1))' \
  "http://127.0.0.1:$port/console/" || fail "the manager does not serve the web console at /console/"

mapfile -t recorded < <(awk '{print $2}' "$dir/state/pids")
[ ${#recorded[@]} -eq 2 ] || fail "expected 2 recorded services (provider-mock, manager), got ${#recorded[@]}"
mapfile -t running < <(marked)
[ ${#running[@]} -ge 3 ] || fail "expected tools/run.sh and its services to carry the marker, found ${running[*]:-none}"

# Every listening socket of the services is on 127.0.0.1.
node - "${recorded[@]}" <<'NODE' || fail "a service listens beyond 127.0.0.1"
const fs = require("node:fs");
const inodes = new Set();
for (const pid of process.argv.slice(2))
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    const link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`, { throwIfNoEntry: false }) ?? "";
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m) inodes.add(m[1]);
  }
let listening = 0;
const bad = [];
for (const file of ["/proc/net/tcp", "/proc/net/tcp6"])
  for (const line of fs.readFileSync(file, "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    // st 0A is LISTEN; the inode is field 9.
    if (f[3] !== "0A" || !inodes.has(f[9])) continue;
    listening++;
    const host = f[1].split(":")[0];
    if (host !== "0100007F" && host !== "0000000000000000FFFF00000100007F") bad.push(f[1]);
  }
if (listening < 4) {
  console.error(`expected at least 4 listening sockets (RPC and ops of each), found ${listening}`);
  process.exit(1);
}
if (bad.length) {
  console.error(`listening beyond 127.0.0.1: ${bad.join(", ")}`);
  process.exit(1);
}
NODE

kill -INT "$pid"
status=0
stop_started=$SECONDS
while kill -0 "$pid" 2>/dev/null; do
  [ $((SECONDS - stop_started)) -lt 60 ] || fail "tools/run.sh did not exit within 60 s of SIGINT"
  sleep 0.2
done
wait "$pid" || status=$?
pid=
[ "$status" -eq 0 ] || fail "tools/run.sh exited with $status after SIGINT"
grep -q "virtrigaud-manager stopped" "$dir/out" || fail "the manager was not stopped in order"
for p in "${recorded[@]}"; do
  ! kill -0 "$p" 2>/dev/null || fail "process $p ($(tr '\0' ' ' <"/proc/$p/cmdline")) is still running"
done
left=$(marked)
[ -z "$left" ] || fail "processes started by tools/run.sh are still running: $left"
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && fail "the manager's port $port still accepts connections"
echo "run.test: PASS (up, listed Ready, 127.0.0.1 only, stopped by SIGINT with nothing left, in $((SECONDS - started))s)"
