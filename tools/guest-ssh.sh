#!/usr/bin/env bash
# Logs in to a VM of the local stack (tools/run.sh) over SSH, as the user its
# cloud-init made (vrtg) with the key tools/run.sh generated. The guest's
# address is the one the manager reports (`vrtg get vm VM`); that address lives
# in the libvirt test bed's own network namespace, never on the host's network,
# so the connection goes through the test bed's sshd whose sessions run inside
# that namespace (ssh -W, as ProxyJump does).
#
# Usage: tools/guest-ssh.sh VM [COMMAND...]
# Environment: VIRTRIGAUD_RUN_DIR (default .testbed/run, as tools/run.sh),
#              GUEST_USER (default vrtg).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: tools/guest-ssh.sh VM [COMMAND...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
case $1 in -h | --help) usage ;; esac
vm=$1
shift

state=${VIRTRIGAUD_RUN_DIR:-$PWD/.testbed/run}
key=$state/guest/id_ed25519
envfile=$state/testbed/libvirt.env
for f in "$key" "$envfile" "$state/server"; do
  [ -e "$f" ] || { echo "tools/guest-ssh.sh: $f is missing: is tools/run.sh running (with the libvirt test bed)?" >&2; exit 1; }
done
# shellcheck disable=SC1090 # written by the test bed's start.sh
. "$envfile"

# The first address the manager reports (the guest agent's or the lease's come first).
address=$(VRTG_CONFIG=$state/vrtg.yaml node apps/manager/bin/vrtg.js --server "$(cat "$state/server")" get vm "$vm" -o json |
  node -e '
    let text = "";
    process.stdin.on("data", (c) => (text += c)).on("end", () => {
      const vm = JSON.parse(text);
      const found = (vm.status?.addresses ?? []).find((a) => !a.address.includes(":"));
      process.stdout.write(found?.address ?? "");
    });')
if [ -z "$address" ]; then
  echo "tools/guest-ssh.sh: $vm reports no address yet (see: npx vrtg describe vm $vm)" >&2
  exit 1
fi

exec ssh -i "$key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
  -o "ProxyCommand=ssh -i $VIRTRIGAUD_LIBVIRT_SSH_KEY -p $VIRTRIGAUD_LIBVIRT_NAMESPACE_SSH_PORT -o UserKnownHostsFile=$VIRTRIGAUD_LIBVIRT_SSH_KNOWN_HOSTS -o BatchMode=yes -W %h:%p root@127.0.0.1" \
  "${GUEST_USER:-vrtg}@$address" "$@"
