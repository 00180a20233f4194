#!/usr/bin/env bash
# Boots the guest image once under plain QEMU (TCG, 2 vCPUs, 1 GiB, q35) with
# a NoCloud seed and checks what later tests rely on: SSH login as the user
# the seed creates, the hostname from meta-data, a runcmd file, cloud-init
# done without errors, network config v2 (eth0 by DHCP, eth1 static), the root
# file system grown with the disk, qemu-guest-agent answering, a login prompt
# on the serial console, the SSH host key the console shows, hot-added vCPU
# and memory onlined, and an ACPI power-down that makes QEMU exit by itself.
#
# Prints the timings (QEMU start to kernel, to SSH login, to cloud-init's
# final stage done; power-down to exit). Exits non-zero with a message on any
# failure. Always kills the QEMU it started (by PID) and removes its scratch
# directory. The guest's network is QEMU's user-mode one (restricted: it
# reaches nothing), with SSH forwarded from free ports of 127.0.0.1.
#
# Usage: tools/guest-image/smoke.sh [--image PATH] [--seed-bus scsi|virtio]
#          [--firmware bios|uefi] [--network v2|fallback] [--timeout SECONDS]
#   --image     default $VIRTRIGAUD_GUEST_IMAGE, else tools/guest-image/build.sh's
#   --seed-bus  where the seed ISO sits: virtio-scsi CD-ROM (default) or virtio-blk disk
#   --network   v2: a network-config with eth0 DHCP and eth1 static (default);
#               fallback: no network-config, one NIC (cloud-init's DHCP fallback)
#   --timeout   how long to wait for SSH (default 300 s)
#   --console-log FILE  keep the guest's serial console output there
#   --analyze   also print where the boot's time went (systemd-analyze)

# QEMU's options are comma-separated lists: commas inside array elements are meant.
# shellcheck disable=SC2054
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/../.." && pwd)

image=${VIRTRIGAUD_GUEST_IMAGE:-}
seed_bus=scsi
firmware=bios
network=v2
ssh_timeout=300
console_log=
analyze=0
while [ $# -gt 0 ]; do
  case $1 in
    --image) image=$2; shift ;;
    --seed-bus) seed_bus=$2; shift ;;
    --firmware) firmware=$2; shift ;;
    --network) network=$2; shift ;;
    --timeout) ssh_timeout=$2; shift ;;
    --console-log) console_log=$2; shift ;;
    --analyze) analyze=1 ;;
    -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "smoke: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case $seed_bus in scsi | virtio) ;; *) echo "smoke: --seed-bus scsi|virtio" >&2; exit 2 ;; esac
case $firmware in bios | uefi) ;; *) echo "smoke: --firmware bios|uefi" >&2; exit 2 ;; esac
case $network in v2 | fallback) ;; *) echo "smoke: --network v2|fallback" >&2; exit 2 ;; esac

say() { printf 'guest-smoke: %s\n' "$*" >&2; }
now() { date +%s.%N; }
# CPU seconds QEMU has used so far (user + system): unlike the wall clock, it
# barely depends on what else the machine runs.
qemu_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$qemu_pid/stat"; }
# seconds between two now() stamps, one decimal
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# shellcheck source=SCRIPTDIR/../testbed/lib.sh
. "$repo_root/tools/testbed/lib.sh"
ensure_packages qemu-system-x86 qemu-utils genisoimage openssh-client
if [ "$firmware" = uefi ]; then ensure_packages ovmf; fi
if [ -z "$image" ]; then image=$("$here/build.sh"); fi
[ -f "$image" ] || { say "no image at $image"; exit 1; }
image=$(realpath "$image") # the overlay names it as its backing file

# The scratch directory holds unix sockets (108-byte paths at most) and is
# named in QEMU options (where a comma is a separator): keep its path plain.
scratch_parent=${TMPDIR:-/tmp}
case $scratch_parent in *[!A-Za-z0-9/._-]*) scratch_parent=/tmp ;; esac
scratch=$(mktemp -d "$scratch_parent/vrtg-guest-smoke.XXXXXX")
qemu_pid=
failed=1
cleanup() {
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill "$qemu_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$qemu_pid" 2>/dev/null || true
  fi
  ssh -F /dev/null -o ControlPath="$scratch/ssh-master" -O exit x >/dev/null 2>&1 || true
  if [ -n "$console_log" ] && [ -f "$scratch/serial.log" ]; then cp "$scratch/serial.log" "$console_log"; fi
  if [ $failed -ne 0 ] && [ -f "$scratch/serial.log" ]; then
    say "the guest's serial console, last 40 lines:"
    tail -n 40 "$scratch/serial.log" | tr -d '\r' >&2
    if [ -s "$scratch/qemu.log" ]; then say "QEMU said:"; cat "$scratch/qemu.log" >&2; fi
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 143' INT TERM
die() { say "FAILED: $*"; exit 1; }

# --- the seed: a user with a fresh key, the hostname, a runcmd -----------------
ssh-keygen -q -t ed25519 -N '' -C vrtg-smoke -f "$scratch/id"
token=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
hostname=vrtg-smoke-$token
mkdir "$scratch/seed"
cat >"$scratch/seed/meta-data" <<EOF
instance-id: smoke-$token
local-hostname: $hostname
EOF
cat >"$scratch/seed/user-data" <<EOF
#cloud-config
users:
  - name: vrtg
    shell: /bin/bash
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    ssh_authorized_keys:
      - $(cat "$scratch/id.pub")
runcmd:
  - echo $token > /var/tmp/vrtg-runcmd
EOF
mac0=52:54:00:7a:00:01
mac1=52:54:00:7a:00:02
static_ip=10.0.3.50
if [ "$network" = v2 ]; then
  cat >"$scratch/seed/network-config" <<EOF
version: 2
ethernets:
  nic0:
    match: {macaddress: "$mac0"}
    set-name: eth0
    dhcp4: true
  nic1:
    match: {macaddress: "$mac1"}
    set-name: eth1
    addresses: [$static_ip/24]
EOF
fi
(cd "$scratch/seed" && genisoimage -quiet -output "$scratch/seed.iso" -volid cidata -joliet -rock ./*)

# --- QEMU ---------------------------------------------------------------------
# A 2 GiB overlay on the cached image (never written): the guest must grow its
# root file system to it.
qemu-img create -q -f qcow2 -F qcow2 -b "$image" "$scratch/disk.qcow2" 2G
port=$(free_port)
port1=$(free_port)
qemu_args=(
  -nodefaults -no-user-config -name vrtg-guest-smoke
  -machine q35 -accel tcg
  -smp 2,sockets=3,cores=1,threads=1,maxcpus=3
  -m 1024M,slots=2,maxmem=2048M
  -display none -device VGA
  -chardev "file,id=serial0,path=$scratch/serial.log" -serial chardev:serial0
  -chardev "socket,id=qmp,path=$scratch/qmp.sock,server=on,wait=off" -mon chardev=qmp,mode=control
  -device virtio-serial-pci,id=vser0
  -chardev "socket,id=qga0,path=$scratch/qga.sock,server=on,wait=off"
  -device virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0
  -drive "if=none,id=root,file=$scratch/disk.qcow2,format=qcow2"
  -device virtio-blk-pci,drive=root,bootindex=1
  -netdev "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:22"
  -device "virtio-net-pci,netdev=net0,mac=$mac0"
  -device virtio-rng-pci -device virtio-balloon-pci
)
if [ "$network" = v2 ]; then
  qemu_args+=(
    -netdev "user,id=net1,restrict=on,net=10.0.3.0/24,hostfwd=tcp:127.0.0.1:$port1-$static_ip:22"
    -device "virtio-net-pci,netdev=net1,mac=$mac1"
  )
fi
# The cloud kernel has no AHCI (SATA) driver: the seed goes on virtio.
if [ "$seed_bus" = scsi ]; then
  qemu_args+=(-device virtio-scsi-pci,id=scsi0
    -drive "if=none,id=seed,file=$scratch/seed.iso,format=raw,media=cdrom,readonly=on"
    -device scsi-cd,bus=scsi0.0,drive=seed)
else
  qemu_args+=(-drive "if=none,id=seed,file=$scratch/seed.iso,format=raw,readonly=on"
    -device virtio-blk-pci,drive=seed)
fi
if [ "$firmware" = uefi ]; then
  cp /usr/share/OVMF/OVMF_VARS_4M.fd "$scratch/vars.fd"
  qemu_args+=(-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd
    -drive "if=pflash,format=raw,file=$scratch/vars.fd")
fi

say "booting $image ($firmware, seed on $seed_bus, network $network) under TCG"
started=$(now)
qemu-system-x86_64 "${qemu_args[@]}" </dev/null >"$scratch/qemu.log" 2>&1 &
qemu_pid=$!

ssh_opts=(-F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -i "$scratch/id"
  -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile="$scratch/known_hosts"
  -o ConnectTimeout=3 -o ServerAliveInterval=5 -o LogLevel=ERROR
  -o ControlMaster=auto -o ControlPath="$scratch/ssh-master" -o ControlPersist=300)
# Every command is bounded: bash runs the TERM trap (which kills QEMU) only
# once the command in the foreground has returned.
guest() { timeout 120 ssh "${ssh_opts[@]}" -p "$port" vrtg@127.0.0.1 "$@"; }
qmp() { node "$here/qmp.mjs" "$scratch/qmp.sock" "$@"; }

# --- SSH login ------------------------------------------------------------------
deadline=$((SECONDS + ssh_timeout))
# The first login also starts the SSH connection the checks below reuse.
until guest true </dev/null >/dev/null 2>&1; do
  kill -0 "$qemu_pid" 2>/dev/null || die "QEMU exited before SSH answered"
  [ $SECONDS -lt $deadline ] || die "no SSH login within ${ssh_timeout}s"
  sleep 0.5
done
ssh_at=$(now)
ssh_cpu=$(qemu_cpu)
say "SSH login after $(since "$started" "$ssh_at") s"

# --- cloud-init -------------------------------------------------------------------
timeout "$ssh_timeout" ssh "${ssh_opts[@]}" -p "$port" vrtg@127.0.0.1 cloud-init status --wait >/dev/null || die "cloud-init status --wait failed: $(guest cloud-init status --long)"
status=$(guest cloud-init status)
[ "$status" = "status: done" ] || die "cloud-init $status"
result=$(guest cat /run/cloud-init/result.json) || die "no /run/cloud-init/result.json"
errors=$(node -e 'console.log(JSON.stringify(JSON.parse(process.argv[1]).v1.errors))' "$result")
[ "$errors" = "[]" ] || die "cloud-init reported errors: $errors"
warnings=$(guest sudo -n grep -h -E "'WARNING|Traceback'" /var/log/cloud-init.log || true)
if [ -n "$warnings" ]; then die "cloud-init logged warnings:
$warnings"; fi
# When the final stage finished, on the host's clock: the guest's uptime now
# and at boot-finished (written at the end of the final stage).
before=$(now)
final_cpu=$(qemu_cpu) # an upper bound: it is read after the final stage
# shellcheck disable=SC2016 # expanded by the guest's shell
read -r uptime_now uptime_final < <(guest 'read -r up _ </proc/uptime; read -r fin _ </var/lib/cloud/instance/boot-finished; echo "$up $fin"')
after=$(now)
final_at=$(awk -v b="$before" -v a="$after" -v u="$uptime_now" -v f="$uptime_final" 'BEGIN { printf "%.3f", (b + a) / 2 - (u - f) }')
kernel_at=$(awk -v b="$before" -v a="$after" -v u="$uptime_now" 'BEGIN { printf "%.3f", (b + a) / 2 - u }')

if [ $analyze -eq 1 ]; then
  guest 'systemd-analyze; systemd-analyze critical-chain; systemd-analyze blame | head -n 25' >&2 || true
fi

# --- what the seed asked for ------------------------------------------------------
got=$(guest hostname)
[ "$got" = "$hostname" ] || die "hostname is '$got', meta-data said '$hostname'"
got=$(guest cat /var/tmp/vrtg-runcmd) || die "runcmd wrote no /var/tmp/vrtg-runcmd"
[ "$got" = "$token" ] || die "runcmd file holds '$got', not '$token'"
got=$(guest sudo -n true 2>&1) || die "passwordless sudo for the seed's user: $got"
got=$(guest nproc)
[ "$got" = 2 ] || die "nproc is $got, not 2"
got=$(guest df -BM --output=size / | tail -n1 | tr -d ' M')
[ "$got" -gt 1800 ] || die "the root file system is $got MiB: not grown to the 2 GiB disk"
if [ "$network" = v2 ]; then
  got=$(guest ip -4 -o addr show dev eth1)
  case $got in *" $static_ip/24 "*) ;; *) die "eth1 lacks the static $static_ip/24: $got" ;; esac
  got=$(timeout 60 ssh "${ssh_opts[@]}" -o ControlPath=none -p "$port1" vrtg@127.0.0.1 hostname) ||
    die "no SSH through the static address $static_ip"
  got=$(guest ip -4 -o addr show dev eth0)
  case $got in *" 10.0.2."*) ;; *) die "eth0 has no DHCP address: $got" ;; esac
fi

# --- the guest agent, consoles, host key ----------------------------------------------
got=$(guest systemctl is-active qemu-guest-agent) || die "qemu-guest-agent is $got"
# logind handles the ACPI power button; a getty waits on tty1 (the VGA screen) too.
for unit in systemd-logind getty@tty1 serial-getty@ttyS0; do
  got=$(guest systemctl is-active "$unit") || die "$unit is $got"
done
node "$here/qmp.mjs" --agent "$scratch/qga.sock" guest-ping >/dev/null ||
  die "the guest agent does not answer on org.qemu.guest_agent.0"
for _ in $(seq 20); do
  grep -q "$hostname login:" "$scratch/serial.log" && break
  sleep 0.5
done
grep -q "$hostname login:" "$scratch/serial.log" || die "no login prompt on the serial console (ttyS0)"
console_key=$(tr -d '\r' <"$scratch/serial.log" | sed -n '/BEGIN SSH HOST KEY KEYS/,/END SSH HOST KEY KEYS/p' | awk '$1 == "ssh-ed25519" { print $2 }')
known_key=$(awk '$2 == "ssh-ed25519" { print $3 }' "$scratch/known_hosts")
if [ -z "$console_key" ] || [ "$console_key" != "$known_key" ]; then
  die "the SSH host key on the serial console ('$console_key') is not the one SSH saw ('$known_key')"
fi

# --- hot-added vCPU and memory come online (the image's udev rule) --------------------
qmp device_add '{"driver": "qemu64-x86_64-cpu", "id": "cpu2", "socket-id": 2, "core-id": 0, "thread-id": 0}' >/dev/null ||
  die "QEMU refused to hot-add a vCPU"
mem_before=$(guest awk "'/^MemTotal/ { print \$2 }'" /proc/meminfo)
qmp object-add '{"qom-type": "memory-backend-ram", "id": "mem1", "size": 268435456}' >/dev/null ||
  die "QEMU refused a memory backend"
qmp device_add '{"driver": "pc-dimm", "id": "dimm1", "memdev": "mem1"}' >/dev/null ||
  die "QEMU refused to hot-add memory"
for _ in $(seq 40); do
  [ "$(guest nproc)" = 3 ] && break
  sleep 0.5
done
got=$(guest nproc)
[ "$got" = 3 ] || die "a hot-added vCPU is not online: nproc is $got"
memory_online() {
  offline=$(guest grep -l offline /sys/devices/system/memory/memory*/state 2>/dev/null | wc -l)
  mem_after=$(guest awk "'/^MemTotal/ { print \$2 }'" /proc/meminfo)
  [ "$offline" -eq 0 ] && [ "$mem_after" -gt $((mem_before + 200000)) ]
}
for _ in $(seq 40); do
  if memory_online; then break; fi
  sleep 0.5
done
memory_online || die "hot-added memory is not online: MemTotal $mem_before -> $mem_after kB, $offline blocks offline"

# --- ACPI power-down: the guest shuts itself down and QEMU exits ------------------------
ssh -F /dev/null -o ControlPath="$scratch/ssh-master" -O exit x >/dev/null 2>&1 || true
powerdown_at=$(now)
qmp system_powerdown >/dev/null || die "QMP system_powerdown failed"
for _ in $(seq 600); do
  kill -0 "$qemu_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$qemu_pid" 2>/dev/null; then die "the guest did not power off within 60 s of an ACPI power-down"; fi
exited_at=$(now)
wait "$qemu_pid" || die "QEMU exited with status $?"
qemu_pid=
grep -q "reboot: Power down" "$scratch/serial.log" || die "QEMU exited without the guest's kernel powering down"

failed=0
printf 'guest-smoke: QEMU start -> kernel:                  %s s\n' "$(since "$started" "$kernel_at")"
printf 'guest-smoke: QEMU start -> SSH login:               %s s (QEMU used %s s of CPU)\n' "$(since "$started" "$ssh_at")" "$ssh_cpu"
printf 'guest-smoke: QEMU start -> cloud-init final done:   %s s (QEMU used at most %s s of CPU)\n' "$(since "$started" "$final_at")" "$final_cpu"
printf 'guest-smoke: machine load average (1 min) now:      %s\n' "$(cut -d' ' -f1 /proc/loadavg)"
printf 'guest-smoke: ACPI power-down -> QEMU exited:        %s s\n' "$(since "$powerdown_at" "$exited_at")"
printf 'guest-smoke: passed (%s, seed on %s, network %s)\n' "$firmware" "$seed_bus" "$network"
