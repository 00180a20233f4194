#!/usr/bin/env bash
# Installs what the libvirt test bed needs: libvirtd with the QEMU driver,
# dnsmasq and iptables for a NAT network, genisoimage for cloud-init seeds,
# curl for image downloads on the host,
# OVMF for UEFI guests, OpenSSH's server, socat (it hands connections of a
# second SSH port to sshd inside libvirtd's namespaces), and xmllint for
# virt-xml-validate (the unit tests check built domain XML against libvirt's
# schema). Idempotent.
. "$(dirname "$0")/../lib.sh"
ensure_packages libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-system libvirt-clients \
  qemu-system-x86 qemu-utils libxml2-utils dnsmasq-base iptables iproute2 genisoimage ovmf openssh-server socat curl \
  util-linux
