#!/usr/bin/env bash
# Builds VirtRigaud's guest image: a small Debian 12 (bookworm) qcow2 with the
# cloud kernel, systemd, cloud-init (NoCloud), qemu-guest-agent and OpenSSH,
# tuned to boot fast under QEMU's software emulation (TCG). BIOS boots it
# through extlinux, UEFI through a GRUB EFI binary on a small ESP.
#
# Prints the image's path on stdout (everything else goes to stderr):
#   image=$(tools/guest-image/build.sh)
#
# The image is cached in $VIRTRIGAUD_GUEST_IMAGE_CACHE/<hash>/ (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/virtrigaud/guest-image), keyed by a hash of
# the recipe: this script and every file under rootfs/ it copies into the
# image. A second call with the same recipe returns at once; --force rebuilds.
# Builds take a lock (one at a time per cache) and happen in a temp directory
# that is renamed into place at the end, so an interrupted build never leaves
# a half image where a finished one goes. See README.md beside this script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/../.." && pwd)

usage() {
  cat <<'USAGE'
Usage: tools/guest-image/build.sh [--force | --no-build | --print-key]
  --force      rebuild even when the cache holds an image of this recipe
  --no-build   print the cached image's path, or fail when there is none
  --print-key  print the recipe's hash (the cache key) and exit
Environment:
  VIRTRIGAUD_GUEST_IMAGE_CACHE   cache directory (default ${XDG_CACHE_HOME:-$HOME/.cache}/virtrigaud/guest-image)
  VIRTRIGAUD_GUEST_IMAGE_MIRROR  Debian mirror (default http://deb.debian.org/debian)
USAGE
}

force=0
no_build=0
print_key=0
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    --no-build) no_build=1 ;;
    --print-key) print_key=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

say() { printf 'guest-image: %s\n' "$*" >&2; }

# The recipe's hash: this script, and each file under rootfs/ with its path
# and whether it is executable (the only mode bit the image takes from it).
recipe_key() {
  (
    cd "$here"
    sha256sum build.sh
    find rootfs -type f -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' f; do
      sha256sum "$f"
      if [ -x "$f" ]; then echo "x $f"; fi
    done
  ) | sha256sum | cut -c1-16
}

key=$(recipe_key)
if [ $print_key -eq 1 ]; then
  echo "$key"
  exit 0
fi
cache_root=${VIRTRIGAUD_GUEST_IMAGE_CACHE:-${XDG_CACHE_HOME:-${HOME:?}/.cache}/virtrigaud/guest-image}
mirror=${VIRTRIGAUD_GUEST_IMAGE_MIRROR:-http://deb.debian.org/debian}
out_dir=$cache_root/$key
image_name=debian-12.qcow2
image=$out_dir/$image_name

if [ $force -eq 0 ] && [ -f "$image" ]; then
  printf '%s\n' "$image"
  exit 0
fi
if [ $no_build -eq 1 ]; then
  say "no image of this recipe in $cache_root: run tools/guest-image/build.sh (or tools/testbed/guest/setup.sh)"
  exit 1
fi

# One build at a time per cache: a second caller waits, then finds the image.
mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
if ! flock -n 9; then
  say "another build holds $cache_root/.lock; waiting for it"
  flock 9
fi
if [ $force -eq 0 ] && [ -f "$image" ]; then
  printf '%s\n' "$image"
  exit 0
fi

started=$SECONDS
# The test beds' helper installs Debian packages when missing (apt-get update once, under a lock).
# shellcheck source=SCRIPTDIR/../testbed/lib.sh
. "$repo_root/tools/testbed/lib.sh"
ensure_packages debootstrap extlinux syslinux-common e2fsprogs qemu-utils fdisk dosfstools mtools \
  grub-efi-amd64-bin mount util-linux coreutils

# The mount points below DIR (deepest first), decoded from /proc/self/mounts
# (which writes a space as \040: printf %b reads that as octal).
mounts_below() {
  local _dev mp _rest
  while read -r _dev mp _rest; do
    mp=$(printf '%b' "$mp")
    case $mp in "$1"/*) printf '%s\n' "$mp" ;; esac
  done </proc/self/mounts | sort -r
}

# Removes a build directory: unmounts what a build left mounted in it (a chroot's
# /proc, the loop-mounted root file system), then deletes it without crossing
# into any file system still mounted there.
remove_build_dir() {
  local mp
  while IFS= read -r mp; do
    umount "$mp" 2>/dev/null || umount -l "$mp" || true
  done < <(mounts_below "$1")
  rm -rf --one-file-system "$1"
}

# debootstrap does not quote every path it handles (a space in its target
# breaks it): it works in a directory with a plain path, and only the output
# goes to the cache.
plain_path() { case $1 in *[!A-Za-z0-9/._+-]*) return 1 ;; esac; }
work_parent=${TMPDIR:-/var/tmp}
plain_path "$work_parent" || work_parent=/var/tmp

# A build killed outright leaves its directories; with the lock held, none is in use.
for stale in "$cache_root"/.build-*; do
  if [ -d "$stale" ]; then
    say "removing an interrupted build: $stale"
    stale_work=$(cat "$stale/work" 2>/dev/null || true)
    case $stale_work in */virtrigaud-guest-image.*) remove_build_dir "$stale_work" ;; esac
    remove_build_dir "$stale"
  fi
done

# The output, renamed into place at the end, and the work (a root file system, raw images).
stage=$(mktemp -d "$cache_root/.build-$key.XXXXXX")
work=$(mktemp -d "$work_parent/virtrigaud-guest-image.XXXXXX")
printf '%s\n' "$work" >"$stage/work"
trap 'remove_build_dir "$work"; remove_build_dir "$stage"' EXIT
trap 'exit 130' INT TERM
rootfs=$work/rootfs
mkdir -p "$stage/out"
log_file=$stage/out/build.log
: >"$log_file"

# run CMD...: runs a build step with its output in build.log; on failure, shows the log's end.
run() {
  if ! "$@" >>"$log_file" 2>&1; then
    say "failed: $*"
    tail -n 40 "$log_file" >&2
    exit 1
  fi
}
in_root() { LC_ALL=C DEBIAN_FRONTEND=noninteractive chroot "$rootfs" "$@"; }

# --- 1. Debian: minbase plus what a cloud guest needs -------------------------
# python3-cffi-backend: without it debootstrap cannot resolve cloud-init's
# dependencies. dbus: systemd-logind (the ACPI power button) and resolved need
# it. cloud-guest-utils: growpart, so the root partition grows with the disk.
packages=(
  linux-image-cloud-amd64 systemd-sysv dbus systemd-resolved
  cloud-init python3-cffi-backend cloud-guest-utils e2fsprogs
  qemu-guest-agent openssh-server sudo iproute2 iputils-ping netbase
)
say "debootstrap bookworm (minbase) from $mirror into $rootfs (about 3 min)"
# Downloaded packages stay in the cache for the next build (when its path is plain).
deb_cache=()
if plain_path "$cache_root"; then
  mkdir -p "$cache_root/debs"
  deb_cache=(--cache-dir="$cache_root/debs")
fi
run debootstrap --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" \
  "${deb_cache[@]}" bookworm "$rootfs" "$mirror"
kernel_version=$(basename "$(ls -d "$rootfs"/lib/modules/*)")

# --- 2. The image's own files (rootfs/), then services --------------------------
say "configuring"
while IFS= read -r -d '' f; do
  mode=0644
  if [ -x "$here/rootfs/$f" ]; then mode=0755; fi
  install -D -m "$mode" -o root -g root "$here/rootfs/$f" "$rootfs/$f"
done < <(cd "$here/rootfs" && find . -type f -print0)

mount -t proc proc "$rootfs/proc"
# systemd-networkd renders cloud-init's network config (DHCP by default); its
# wait-online service is kept, with a short timeout (rootfs/etc/systemd).
# A login prompt on the serial console even when the kernel's console is elsewhere.
run in_root systemctl enable systemd-networkd.service systemd-resolved.service serial-getty@ttyS0.service
# Nothing a short-lived test guest wants at boot or on a timer.
run in_root systemctl mask apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
  e2scrub_all.timer e2scrub_reap.service fstrim.timer
# cloud-init's config stage: its modules run in the final stage (rootfs/etc/cloud).
run in_root systemctl mask cloud-config.service
# The initrd with only the listed modules (rootfs/etc/initramfs-tools).
run in_root update-initramfs -u -k "$kernel_version"
umount "$rootfs/proc"

# Per-instance identity: a machine ID made at first boot (an empty file: not a
# "first boot" for systemd's presets), host keys made by cloud-init, and no
# copy of the build machine's name.
: >"$rootfs/etc/machine-id"
ln -sf /etc/machine-id "$rootfs/var/lib/dbus/machine-id"
rm -f "$rootfs"/etc/ssh/ssh_host_*
echo debian >"$rootfs/etc/hostname"
# No password for root: debootstrap leaves it locked ('*'); make sure.
if ! grep -q '^root:[*!]' "$rootfs/etc/shadow"; then
  say "root has a password in the built system"
  exit 1
fi

# Smaller: no package caches or lists (apt-get update first in a guest), no
# documentation or translations (rootfs/etc/dpkg keeps it so for later installs).
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/*
find "$rootfs/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
find "$rootfs/var/log" -type f -exec truncate -s 0 {} +
rm -rf "$rootfs"/tmp/* "$rootfs"/var/tmp/*

# --- 3. Disk layout -----------------------------------------------------------
# MBR, 1 GiB: partition 1 is a 16 MiB EFI system partition (UEFI), partition 2
# the ext4 root (BIOS boots it: marked active), last so that cloud-init's
# growpart can grow it, and the file system with it, when the disk grows.
disk_mib=1024
esp_start_mib=1
esp_mib=16
root_start_mib=$((esp_start_mib + esp_mib))
root_mib=$((disk_mib - root_start_mib))
root_uuid=$(cat /proc/sys/kernel/random/uuid)
# quiet, no mitigations (emulated, and short-lived) and no status lines: each
# saves seconds under TCG. rw, and no fsck pass in fstab: the root file system
# is mounted once, read-write, with no fsck on the way (ext4's journal
# recovers a guest that was killed). The last console= is /dev/console: the serial port,
# where systemd and cloud-init print; tty1 is the VNC screen. eth0, eth1...
# names: the same on every hypervisor a guest moves to.
cmdline="root=UUID=$root_uuid rw console=tty1 console=ttyS0,115200n8 net.ifnames=0 quiet mitigations=off systemd.show_status=0"

cat >"$rootfs/etc/fstab" <<FSTAB
# <file system>  <mount point>  <type>  <options>  <dump>  <pass>
UUID=$root_uuid  /  ext4  errors=remount-ro  0  0
FSTAB

# BIOS: extlinux reads /boot/extlinux/extlinux.conf. /vmlinuz and /initrd.img
# are the kernel package's symlinks, so a kernel upgrade in the guest boots.
mkdir -p "$rootfs/boot/extlinux"
cat >"$rootfs/boot/extlinux/extlinux.conf" <<CONF
DEFAULT debian
PROMPT 0
TIMEOUT 0
LABEL debian
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND $cmdline
CONF

say "making the file systems"
root_img=$work/root.ext4
run mkfs.ext4 -q -L root -U "$root_uuid" -d "$rootfs" "$root_img" "${root_mib}M"
# extlinux installs itself into a mounted file system (it maps ldlinux.sys's
# blocks through the kernel): a loop mount of the file system image.
mkdir -p "$work/mnt"
mount -o loop "$root_img" "$work/mnt"
run extlinux --install "$work/mnt/boot/extlinux"
umount "$work/mnt"
# The loop device starts at the file system, so extlinux recorded 0 hidden
# sectors; its boot sector adds that field (the FAT BPB's, offset 0x1c, 32-bit
# little endian) to every sector it loads: the partition's start.
root_start_sector=$((root_start_mib * 2048))
perl -e 'print pack("V", $ARGV[0])' "$root_start_sector" |
  dd of="$root_img" bs=1 seek=$((0x1c)) conv=notrunc status=none

# UEFI: a standalone GRUB (its config inside) as the removable-media path
# \EFI\BOOT\BOOTX64.EFI, which OVMF boots without NVRAM entries. It reads the
# kernel from the root file system, as extlinux does.
cat >"$work/grub.cfg" <<CONF
set timeout=0
search --no-floppy --fs-uuid --set=root $root_uuid
linux /vmlinuz $cmdline
initrd /initrd.img
boot
CONF
run grub-mkstandalone -O x86_64-efi -o "$work/BOOTX64.EFI" \
  --modules="part_msdos ext2 search search_fs_uuid linux" \
  --install-modules="normal search search_fs_uuid part_msdos ext2 linux boot configfile echo test" \
  --locales= --fonts= --themes= "boot/grub/grub.cfg=$work/grub.cfg"
esp_img=$work/esp.fat
run mkfs.vfat -C -n ESP "$esp_img" $((esp_mib * 1024))
run mmd -i "$esp_img" ::/EFI ::/EFI/BOOT
run mcopy -i "$esp_img" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI

say "assembling the disk"
disk=$work/disk.raw
truncate -s "${disk_mib}M" "$disk"
run sfdisk --quiet "$disk" <<TABLE
label: dos
start=$((esp_start_mib * 2048)), size=$((esp_mib * 2048)), type=ef
start=$root_start_sector, type=83, bootable
TABLE
# syslinux's MBR code (the first 440 bytes; the partition table stays) boots the active partition.
run dd if=/usr/lib/syslinux/mbr/mbr.bin of="$disk" bs=440 count=1 conv=notrunc
run dd if="$esp_img" of="$disk" bs=1M seek=$esp_start_mib conv=notrunc,sparse
run dd if="$root_img" of="$disk" bs=1M seek=$root_start_mib conv=notrunc,sparse
rm -f "$root_img" "$esp_img"

say "compressing"
run qemu-img convert -c -O qcow2 "$disk" "$stage/out/$image_name"
rm -f "$disk"

# What is in it, for the README and for whoever debugs a guest.
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
in_root dpkg-query -W -f='${Package} ${Version}\n' >"$stage/out/packages.txt"
cat >"$stage/out/image.txt" <<INFO
recipe=$key
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
mirror=$mirror
kernel=$kernel_version
root_uuid=$root_uuid
cmdline=$cmdline
disk_mib=$disk_mib
partitions=1:esp:${esp_start_mib}MiB+${esp_mib}MiB 2:root:${root_start_mib}MiB-end
file_bytes=$(stat -c %s "$stage/out/$image_name")
INFO

# Into place in one rename; a --force rebuild moves the old one aside first.
if [ -e "$out_dir" ]; then
  mv -T "$out_dir" "$stage/previous"
fi
mv -T "$stage/out" "$out_dir"
say "built $image ($(du -m --apparent-size "$image" | cut -f1) MiB) in $((SECONDS - started)) s"
printf '%s\n' "$image"
