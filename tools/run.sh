#!/usr/bin/env bash
# The local stack, from a fresh clone: installs and builds, starts
# virtrigaud-manager (a fresh embedded store), provider-mock and, where their
# test beds start, provider-vsphere on vcsim and provider-libvirt on a private
# libvirtd; applies the sample manifests of deploy/samples, waits until the
# VMs are Ready, lists them with `vrtg get vm`, and serves until Ctrl-C, which
# stops everything it started. Everything listens on 127.0.0.1 only, and the
# providers serve mutual TLS: they accept only the manager's client
# certificate (a local CA made at each start, tools/stack/make-tls.sh). The
# libvirt VM boots a real Debian guest (tools/guest-image, built once and
# cached) with a user and a fresh SSH key: tools/guest-ssh.sh logs in.
#
# Usage: tools/run.sh [--only-mock] [--port N] [--no-install] [--help]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export NX_NO_CLOUD=true NX_DAEMON=false

usage() {
  cat <<'USAGE'
Usage: tools/run.sh [--only-mock] [--port N] [--no-install]

Starts the local stack on 127.0.0.1 and serves until Ctrl-C.

  --only-mock    start provider-mock only: no vcsim or libvirt test bed
  --port N       the manager's API port (default 9090, where vrtg looks)
  --no-install   skip the install and the build (use what is built)
  -h, --help     show this help

Environment:
  VIRTRIGAUD_RUN_DIR   where the stack keeps its state, logs and test beds
                       (default .testbed/run; wiped at each start, test-bed
                       builds excepted)
USAGE
}

only_mock=0
install=1
port=9090
while [ $# -gt 0 ]; do
  case $1 in
    --only-mock) only_mock=1 ;;
    --no-install) install=0 ;;
    --port)
      [ $# -ge 2 ] || { usage >&2; exit 2; }
      port=$2
      shift
      ;;
    --port=*) port=${1#--port=} ;;
    -h | --help) usage; exit 0 ;;
    *) echo "tools/run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if ! [[ $port =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
  echo "tools/run.sh: --port must be a port number, got $port" >&2
  exit 2
fi

state=${VIRTRIGAUD_RUN_DIR:-$repo/.testbed/run}
mkdir -p "$state"
state=$(cd "$state" && pwd)
# One stack per state directory. The lock is held by this shell's descriptor 8.
exec 8>"$state/run.lock"
flock -n 8 || { echo "tools/run.sh: another tools/run.sh is using $state" >&2; exit 1; }
# The stack's test beds live apart from tools/test.sh's (.testbed), so
# starting or stopping one never touches the other's daemons.
export VIRTRIGAUD_TESTBED=$state/testbed
# free_port; lib.sh keeps the VIRTRIGAUD_TESTBED set above.
# shellcheck source=tools/testbed/lib.sh
. tools/testbed/lib.sh
logs=$state/logs
rm -rf "$state/manager" "$state/manifests" "$state/credentials" "$state/guest" "$state/tls" "$state/auth" "$logs" "$state/pids"
mkdir -p "$VIRTRIGAUD_TESTBED" "$logs" "$state/manifests"
: >"$state/pids"

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }

# What this run started, stopped in reverse order by stop_all.
names=()
pids=()
testbeds=()
current=
stopping=0

# stop_pid NAME PID: SIGTERM (the services drain), then SIGKILL after 20 s.
stop_pid() {
  local name=$1 pid=$2 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  note "$name ($pid) did not stop within 20 s: killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

stop_all() {
  local status=$1 i tb
  [ $stopping -eq 1 ] && return
  stopping=1
  trap '' INT TERM HUP
  echo
  say "stopping what tools/run.sh started"
  if [ -n "$current" ]; then kill -TERM "$current" 2>/dev/null || true; fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    stop_pid "${names[$i]}" "${pids[$i]}"
    note "${names[$i]} stopped"
  done
  for tb in "${testbeds[@]+"${testbeds[@]}"}"; do
    tools/testbed/down.sh "$tb" >>"$logs/testbed-$tb.log" 2>&1 || note "$tb test bed: stop failed (see $logs/testbed-$tb.log)"
    note "$tb test bed stopped"
  done
  rm -f "$state/pids"
  exit "$status"
}
trap 'stop_all $?' EXIT
trap 'stop_all 0' INT TERM HUP

# run_fg CMD...: runs a command so that a signal to this script stops it too.
run_fg() {
  local rc=0
  "$@" &
  current=$!
  wait "$current" || rc=$?
  current=
  return $rc
}

# start NAME LOGFILE CMD...: starts a server in a session of its own (a
# terminal's Ctrl-C reaches this script, which stops the servers in order).
start() {
  local name=$1 log=$2
  shift 2
  setsid "$@" </dev/null >"$log" 2>&1 &
  names+=("$name")
  pids+=("$!")
  echo "$name $!" >>"$state/pids"
}

# wait_serving NAME LOGFILE MESSAGE: waits for the server's start-up log line.
wait_serving() {
  local name=$1 log=$2 message=$3 pid=${pids[-1]} i
  for i in $(seq 600); do
    grep -q "\"msg\":\"$message\"" "$log" && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited at start-up; its log ($log):" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "$name did not start within 60 s; its log: $log" >&2
  return 1
}

# testbed_up NAME: sets up and starts a test bed; 1 (with the reason) when it cannot.
testbed_up() {
  local name=$1
  testbeds+=("$name")
  if run_fg setsid tools/testbed/up.sh "$name" >"$logs/testbed-$name.log" 2>&1 \
    && [ -f "$VIRTRIGAUD_TESTBED/$name.env" ]; then
    # shellcheck disable=SC1090 # written by the test bed's start.sh (write_env)
    . "$VIRTRIGAUD_TESTBED/$name.env"
    return 0
  fi
  note "the $name test bed did not start; last lines of $logs/testbed-$name.log:"
  tail -n 5 "$logs/testbed-$name.log" | sed 's/^/      /'
  # Stop what it did start now, not at Ctrl-C.
  tools/testbed/down.sh "$name" >>"$logs/testbed-$name.log" 2>&1 || true
  unset 'testbeds[-1]'
  return 1
}

# The Node flags an app runs with, as its image's entrypoint gives them (its
# package.json's virtrigaud.nodeFlags, read by tools/lib/binaries.mjs;
# deploy/docker/apps.Dockerfile says why).
node_flags() {
  node --input-type=module -e \
    'import { nodeFlagsOf } from "./tools/lib/binaries.mjs"; console.log(nodeFlagsOf(`apps/${process.argv[1]}`).join(" "))' "$1"
}
# vrtg as this run's administrator (its context in $state/vrtg.yaml, written below).
vrtg() { VRTG_CONFIG=$state/vrtg.yaml node apps/manager/bin/vrtg.js "$@"; }
# Where tools/guest-ssh.sh finds the manager.
echo "http://127.0.0.1:$port" >"$state/server"

projects=@virtrigaud/manager,@virtrigaud/provider-mock,@virtrigaud/console
[ $only_mock -eq 1 ] || projects=$projects,@virtrigaud/provider-vsphere,@virtrigaud/provider-libvirt
if [ $install -eq 1 ]; then
  say "install (npm ci from the committed lockfile; skipped when nothing changed)"
  run_fg tools/install.sh
  say "build ($projects and what they use)"
  run_fg npx nx run-many -t build --projects="$projects" --output-style=static >"$logs/build.log" 2>&1 || {
    tail -n 40 "$logs/build.log" >&2
    exit 1
  }
fi

# Mutual TLS between the manager and the providers: a CA made now, the
# providers' server certificate, the manager's client certificate. Providers
# accept calls only with a certificate of that CA, which signs no other client.
tls=$state/tls
tools/stack/make-tls.sh "$tls"
# The files the sample Providers name, in the manager's --provider-tls-dir.
export PROVIDER_CA_FILE=$tls/manager/ca.crt PROVIDER_CERT_FILE=$tls/manager/tls.crt \
  PROVIDER_KEY_FILE=$tls/manager/tls.key

# Each service's RPC and ops ports; the manager's API port is fixed (vrtg's default).
start_provider() {
  local name=$1
  shift
  local rpc ops
  rpc=$(free_port)
  ops=$(free_port)
  start "$name" "$logs/$name.log" "$@" --listen "127.0.0.1:$rpc" --ops-listen "127.0.0.1:$ops" \
    --tls-cert "$tls/provider/tls.crt" --tls-key "$tls/provider/tls.key" \
    --tls-client-ca "$tls/provider/client-ca.crt"
  wait_serving "$name" "$logs/$name.log" "provider serving" || return 1
  note "$name: RPCs https://127.0.0.1:$rpc (mutual TLS), ops http://127.0.0.1:$ops (/healthz /readyz /metrics)"
  endpoint=https://127.0.0.1:$rpc
}

manifests=(deploy/samples/common.yaml)
vms=()

say "provider-mock"
start_provider provider-mock node apps/provider-mock/dist/main.js
export MOCK_ENDPOINT=$endpoint
manifests+=(deploy/samples/mock.yaml)
vms+=(web-mock)

if [ $only_mock -eq 0 ]; then
  say "vcsim test bed and provider-vsphere"
  if testbed_up vcsim; then
    # Credentials as files, the way a mounted secret gives them.
    mkdir -p "$state/credentials/vsphere"
    chmod 700 "$state/credentials"
    printf '%s' "$VIRTRIGAUD_VCSIM_USERNAME" >"$state/credentials/vsphere/username"
    printf '%s' "$VIRTRIGAUD_VCSIM_PASSWORD" >"$state/credentials/vsphere/password"
    # shellcheck disable=SC2046 # node_flags prints one word per flag
    if start_provider provider-vsphere node $(node_flags provider-vsphere) apps/provider-vsphere/dist/main.js \
      --vcenter-url "$VIRTRIGAUD_VCSIM_URL" --vcenter-ca "$VIRTRIGAUD_VCSIM_CA_FILE" \
      --credentials-dir "$state/credentials/vsphere" --cluster DC0_C0; then
      export VSPHERE_ENDPOINT=$endpoint
      manifests+=(deploy/samples/vsphere.yaml)
      vms+=(web-vsphere)
    else
      note "continuing without provider-vsphere"
    fi
  else
    note "continuing without provider-vsphere"
  fi

  say "libvirt test bed and provider-libvirt"
  guest_os=false
  if testbed_up libvirt; then
    # The guest image: a Debian 12 that boots to cloud-init and SSH. Built
    # once (several minutes) and cached; a blank disk stands in when it cannot be.
    note "guest image: tools/guest-image/build.sh (the first build takes several minutes)"
    if run_fg tools/guest-image/build.sh >"$state/guest-image.path" 2>"$logs/guest-image.log"; then
      LIBVIRT_IMAGE=$(cat "$state/guest-image.path")
      export LIBVIRT_IMAGE
      guest_os=true
      note "guest image: $LIBVIRT_IMAGE"
    else
      note "the guest image did not build (see $logs/guest-image.log); web-libvirt boots a blank disk"
      export LIBVIRT_IMAGE=$VIRTRIGAUD_LIBVIRT_DIR/images/base.qcow2
      mkdir -p "$(dirname "$LIBVIRT_IMAGE")"
      qemu-img create -q -f qcow2 "$LIBVIRT_IMAGE" 64M
    fi
    # The guest's user and a fresh key pair: cloud-init puts the public key in
    # ~vrtg/.ssh/authorized_keys; tools/guest-ssh.sh logs in with the private one.
    mkdir -p "$state/guest"
    chmod 700 "$state/guest"
    ssh-keygen -q -t ed25519 -N '' -C "vrtg@tools/run.sh" -f "$state/guest/id_ed25519"
    LIBVIRT_USER_DATA=$(printf '#cloud-config\nusers:\n  - name: vrtg\n    shell: /bin/bash\n    sudo: ALL=(ALL) NOPASSWD:ALL\n    ssh_authorized_keys:\n      - %s\n' "$(cat "$state/guest/id_ed25519.pub")")
    export LIBVIRT_USER_DATA LIBVIRT_NETWORK=$VIRTRIGAUD_LIBVIRT_NETWORK
    # shellcheck disable=SC2046 # node_flags prints one word per flag
    if start_provider provider-libvirt node $(node_flags provider-libvirt) apps/provider-libvirt/dist/main.js \
      --ssh-host "$VIRTRIGAUD_LIBVIRT_SSH_HOST" --ssh-port "$VIRTRIGAUD_LIBVIRT_SSH_PORT" \
      --ssh-user "$VIRTRIGAUD_LIBVIRT_SSH_USER" --ssh-key "$VIRTRIGAUD_LIBVIRT_SSH_KEY" \
      --ssh-known-hosts "$VIRTRIGAUD_LIBVIRT_SSH_KNOWN_HOSTS" --libvirt-uri "$VIRTRIGAUD_LIBVIRT_URI" \
      --storage-pool virtrigaud-run --create-pool-dir "$VIRTRIGAUD_LIBVIRT_POOL_DIR"; then
      export LIBVIRT_ENDPOINT=$endpoint
      manifests+=(deploy/samples/libvirt.yaml)
      vms+=(web-libvirt)
    else
      note "continuing without provider-libvirt"
    fi
  else
    note "continuing without provider-libvirt"
  fi
fi
# The mock takes the image's libvirt section as it is; without the libvirt
# test bed the path names no file, which the mock does not check.
export LIBVIRT_IMAGE=${LIBVIRT_IMAGE:-/var/lib/virtrigaud/images/base.qcow2}

say "virtrigaud-manager"
mops=$(free_port)
# Who may call the API: an administrator's token made now (the manager's token
# file holds only its hash), Secrets sealed with a key made now, and every
# mutating or refused call in an audit log. Plaintext, on loopback only.
auth=$state/auth
mkdir -m 700 "$auth"
(umask 077 && node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("base64url"))' >"$auth/admin.token")
(umask 077 && node apps/manager/dist/main.js hash-token admin <"$auth/admin.token" >"$auth/tokens")
node apps/manager/dist/main.js secret-key generate "$auth/secret-keys.yaml" >/dev/null
cat >"$state/vrtg.yaml" <<EOF
current-context: local
contexts:
  - name: local
    server: http://127.0.0.1:$port
    token-file: $auth/admin.token
EOF
# The web console, when built (--no-install uses what is there).
console_flags=()
[ -f apps/console/dist/index.html ] && console_flags=(--console-dir apps/console/dist)
# shellcheck disable=SC2046 # node_flags prints one word per flag
start virtrigaud-manager "$logs/virtrigaud-manager.log" node $(node_flags manager) apps/manager/dist/main.js \
  --data "$state/manager" --listen "127.0.0.1:$port" --ops-listen "127.0.0.1:$mops" --insecure \
  --provider-tls-dir "$tls/manager" --token-file "$auth/tokens" --bootstrap-admin user:admin \
  --secret-key-file "$auth/secret-keys.yaml" --audit-log "$logs/audit.log" "${console_flags[@]}"
wait_serving virtrigaud-manager "$logs/virtrigaud-manager.log" "manager serving"
note "virtrigaud-manager: API http://127.0.0.1:$port, ops http://127.0.0.1:$mops, store $state/manager"
[ ${#console_flags[@]} -eq 0 ] ||
  note "web console: http://127.0.0.1:$port/console/ (log in with the token in $auth/admin.token)"

say "apply ${manifests[*]}"
node tools/stack/render-manifests.mjs "$state/manifests" "${manifests[@]}"
run_fg vrtg apply -f "$state/manifests"

say "wait until the VMs are Ready"
for vm in "${vms[@]}"; do
  # A real guest under software emulation: Ready once it has an address, minutes after it starts.
  wait_for=180s
  [ "$vm" = web-libvirt ] && wait_for=600s
  if run_fg vrtg wait vm "$vm" --for condition=Ready --timeout "$wait_for"; then
    :
  elif [ "$vm" = web-mock ]; then
    vrtg describe vm "$vm" >&2 || true
    exit 1
  else
    note "$vm is not Ready; vrtg describe vm $vm says:"
    vrtg describe vm "$vm" | sed 's/^/      /' || true
  fi
done

login_works=false
if [[ " ${vms[*]} " == *" web-libvirt "* ]] && ${guest_os:-false}; then
  # Ready comes with the guest's first address (its DHCP lease); its sshd
  # answers some seconds later. The login printed below must work at once.
  say "wait until web-libvirt answers SSH"
  for _ in $(seq 150); do
    if run_fg tools/guest-ssh.sh web-libvirt true </dev/null >/dev/null 2>&1; then
      login_works=true
      break
    fi
    run_fg sleep 2
  done
  $login_works || note "web-libvirt does not answer SSH after 5 minutes; its console log: $VIRTRIGAUD_LIBVIRT_DIR/log/qemu/web-libvirt.log"
fi

say "vrtg get vm"
vrtg get vm
echo
note "log in: export VRTG_CONFIG=$state/vrtg.yaml (context local: user admin, the token in $auth/admin.token)"
note "then try: npx vrtg auth whoami; npx vrtg get vm -o wide; npx vrtg describe vm web-mock; npx vrtg audit"
if $login_works; then
  note "log in to web-libvirt (user vrtg, the key in $state/guest): tools/guest-ssh.sh web-libvirt"
  note "  (it connects from inside the libvirt test bed's network namespace, where the guest's address is)"
fi
note "logs: $logs"
echo "The stack is up. Ctrl-C stops everything tools/run.sh started."

# Serve until a signal; a service that exits on its own ends the run.
while :; do
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "${names[$i]} exited on its own; its log: $logs/${names[$i]}.log" >&2
      exit 1
    fi
  done
  run_fg sleep 2
done
