#!/usr/bin/env bash
# Starts a private libvirtd (QEMU driver) and an sshd on 127.0.0.1 that
# reaches it, from a fresh state, and writes libvirt.env for the tests.
#
# libvirtd runs in its own mount and network namespaces (unshare -m -n): a
# scratch directory is bound over /etc/libvirt, /run/libvirt, /var/lib/libvirt,
# /var/cache/libvirt and /var/log/libvirt, so it shares nothing with a libvirtd
# of the machine, and its bridges, dnsmasq, iptables rules and guest addresses
# live in a network namespace of its own. Its socket sits in the scratch
# directory, where virsh (run by sshd in the machine's namespaces) reaches it.
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
dir=$VIRTRIGAUD_TESTBED/libvirt
started=$(date +%s%N)

# A fresh state: stop what a previous start left, then wipe its scratch.
"$here/stop.sh"
rm -rf "$dir"
mkdir -p "$dir"/{etc,run,lib,log,ssh,pool,images}
# libvirt's QEMU capability cache outlives a restart: probing QEMU takes
# seconds, and the cache is keyed by the binaries, so it cannot go stale.
mkdir -p "$VIRTRIGAUD_TESTBED/libvirt-cache"
cp -a /etc/libvirt/. "$dir/etc/"
# QEMU as root: as libvirt-qemu it cannot open /dev/kvm, and libvirt then
# re-probes QEMU on every lookup (4 s per start instead of 0.8 s).
cat >>"$dir/etc/qemu.conf" <<CONF
user = "root"
group = "root"
vnc_listen = "127.0.0.1"
CONF
# No default network autostarting from the machine's configuration.
rm -f "$dir"/etc/qemu/networks/autostart/*.xml "$dir"/etc/qemu/networks/*.xml

socket=$dir/run/libvirt-sock
uri="qemu+unix:///system?socket=$socket"

# The daemon's supervisor: restarts libvirtd when it exits, so a test can
# restart it by killing the PID in libvirtd.pid (see restart-libvirtd.sh).
unshare -m -n --propagation private bash "$here/namespace.sh" "$dir" "$VIRTRIGAUD_TESTBED/libvirt-cache" </dev/null >"$dir/log/namespace.log" 2>&1 &
track_pid libvirt $!

for _ in $(seq 200); do
  [ -S "$socket" ] && virsh -q -c "$uri" version >/dev/null 2>&1 && break
  sleep 0.05
done
virsh -q -c "$uri" version >/dev/null || { log "libvirt: libvirtd did not start"; cat "$dir/log/namespace.log" >&2; exit 1; }
track_pid libvirt "$(cat "$dir/virtlogd.pid")"

# A NAT network and a dir pool for the tests.
cat >"$dir/net.xml" <<XML
<network>
  <name>vrtg-test</name>
  <forward mode='nat'/>
  <bridge name='vrtgbr0' stp='off'/>
  <ip address='10.213.7.1' netmask='255.255.255.0'>
    <dhcp><range start='10.213.7.100' end='10.213.7.200'/></dhcp>
  </ip>
</network>
XML
virsh -q -c "$uri" net-define "$dir/net.xml" >/dev/null
virsh -q -c "$uri" net-start vrtg-test >/dev/null

# sshd on 127.0.0.1 with generated host and client keys, key-only.
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh/host_key" -C vrtg-testbed-host
ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh/client_key" -C vrtg-testbed-client
ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh/other_host_key" -C vrtg-testbed-wrong-host
cp "$dir/ssh/client_key.pub" "$dir/ssh/authorized_keys"
chmod 600 "$dir/ssh/authorized_keys"
port=$(free_port)
# StrictModes off: the checkout may live under a world-writable directory
# (/tmp), whose modes sshd would otherwise hold against authorized_keys.
cat >"$dir/ssh/sshd_config" <<CONF
ListenAddress 127.0.0.1:$port
StrictModes no
HostKey $dir/ssh/host_key
AuthorizedKeysFile $dir/ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PidFile none
MaxSessions 64
MaxStartups 64:30:128
Subsystem sftp internal-sftp
CONF
/usr/sbin/sshd -D -f "$dir/ssh/sshd_config" -E "$dir/log/sshd.log" </dev/null >/dev/null 2>&1 &
track_pid libvirt $!
# A second port whose sessions run inside libvirtd's mount and network
# namespaces, as on a real host where sshd and libvirtd share them: there the
# guests' ARP entries are in the table a session reads. socat hands each
# connection to an `sshd -i` entered into the namespaces. The first port's
# sessions stay in the machine's network, where the tests' HTTP servers are.
supervisor=$(head -n1 "$VIRTRIGAUD_TESTBED/libvirt.pids")
case "$dir" in *[[:space:],:!\'\"]*)
  log "libvirt: $dir holds characters socat's address syntax cannot carry"
  exit 1
  ;;
esac
ns_port=$(free_port)
socat "TCP-LISTEN:$ns_port,bind=127.0.0.1,reuseaddr,fork" \
  "EXEC:nsenter --target $supervisor --mount --net /usr/sbin/sshd -i -f $dir/ssh/sshd_config -E $dir/log/sshd-ns.log" \
  </dev/null >/dev/null 2>"$dir/log/socat.log" &
track_pid libvirt $!
host_key=$(cut -d' ' -f1,2 "$dir/ssh/host_key.pub")
printf '[127.0.0.1]:%s %s\n' "$port" "$host_key" "$ns_port" "$host_key" >"$dir/ssh/known_hosts"
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$dir/ssh/other_host_key.pub")" >"$dir/ssh/wrong_known_hosts"
for p in "$port" "$ns_port"; do
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break
    sleep 0.02
  done
done

write_env libvirt \
  "VIRTRIGAUD_LIBVIRT_URI=$uri" \
  "VIRTRIGAUD_LIBVIRT_DIR=$dir" \
  "VIRTRIGAUD_LIBVIRT_NETWORK=vrtg-test" \
  "VIRTRIGAUD_LIBVIRT_BRIDGE=vrtgbr1" \
  "VIRTRIGAUD_LIBVIRT_POOL_DIR=$dir/pool" \
  "VIRTRIGAUD_LIBVIRT_SSH_HOST=127.0.0.1" \
  "VIRTRIGAUD_LIBVIRT_SSH_PORT=$port" \
  "VIRTRIGAUD_LIBVIRT_NAMESPACE_SSH_PORT=$ns_port" \
  "VIRTRIGAUD_LIBVIRT_SSH_USER=root" \
  "VIRTRIGAUD_LIBVIRT_SSH_KEY=$dir/ssh/client_key" \
  "VIRTRIGAUD_LIBVIRT_SSH_KNOWN_HOSTS=$dir/ssh/known_hosts" \
  "VIRTRIGAUD_LIBVIRT_SSH_WRONG_KNOWN_HOSTS=$dir/ssh/wrong_known_hosts"
log "libvirt: libvirtd ($uri) and sshd (127.0.0.1:$port, in its namespaces 127.0.0.1:$ns_port) up in $((($(date +%s%N) - started) / 1000000)) ms"
