# Shared helpers of the test-bed scripts. Source it: . "$(dirname "$0")/../lib.sh"
#
# A test bed is a directory tools/testbed/<name>/ with:
#   setup.sh   installs what is missing (Debian packages, builds); idempotent
#   start.sh   starts the services on 127.0.0.1, records their PIDs with track_pid,
#              and writes the environment tests read with write_env
#   stop.sh    stops exactly the processes start.sh recorded (stop_tracked does it)
# tools/testbed/up.sh and down.sh run them for every test bed, or the ones named.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Where test beds keep their state: PID files, env files, generated keys, daemon data.
export VIRTRIGAUD_TESTBED=${VIRTRIGAUD_TESTBED:-$repo_root/.testbed}
mkdir -p "$VIRTRIGAUD_TESTBED"

log() { printf '[testbed] %s\n' "$*" >&2; }

# ensure_packages PKG...: installs the Debian packages that are not installed yet.
# apt-get update runs at most once per test-bed directory, under a lock, so
# test beds set up at the same time do not race.
ensure_packages() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  (
    flock 9
    if [ ! -f "$VIRTRIGAUD_TESTBED/.apt-updated" ]; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      touch "$VIRTRIGAUD_TESTBED/.apt-updated"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  ) 9>"$VIRTRIGAUD_TESTBED/.apt.lock"
}

# track_pid NAME PID: records a process start.sh started, for stop_tracked.
track_pid() { echo "$2" >>"$VIRTRIGAUD_TESTBED/$1.pids"; }

# stop_tracked NAME: stops the processes recorded for NAME (TERM, then KILL after 5 s).
stop_tracked() {
  local file="$VIRTRIGAUD_TESTBED/$1.pids" pid i
  [ -f "$file" ] || return 0
  while read -r pid; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done <"$file"
  for i in $(seq 50); do
    local alive=0
    while read -r pid; do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && alive=1; done <"$file"
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  while read -r pid; do [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; done <"$file"
  rm -f "$file"
}

# write_env NAME VAR=VALUE...: the environment tests of this test bed read;
# tools/test.sh exports every test bed's file before the tests run.
write_env() {
  local name=$1
  shift
  : >"$VIRTRIGAUD_TESTBED/$name.env"
  local pair
  for pair in "$@"; do printf 'export %q\n' "$pair" >>"$VIRTRIGAUD_TESTBED/$name.env"; done
}

# free_port: a TCP port free on 127.0.0.1 right now.
# (process.stdout.write, not console.log: under nx, FORCE_COLOR makes console.log colour numbers.)
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{process.stdout.write(`${s.address().port}\n`);s.close()})'; }
