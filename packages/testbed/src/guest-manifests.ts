import type { GuestTestbed } from "./guest-testbed.js";

/** The user the guest's cloud-init makes, who logs in with a password on its consoles. */
export const guestUser = "vrtg";

/** A guest that boots the bed's image and lets `guestUser` log in with `password`. */
export interface PasswordGuest {
  /** The VM's name, also its hostname. */
  name: string;
  /** The password of `guestUser`; it goes into the VM's cloud-init only. */
  password: string;
  /** The provider-libvirt the manager reaches the bed through. */
  providerUrl: string;
}

/**
 * The manifests of one running guest of the bed's image on its NAT network,
 * with a Provider `kvm`, a VMClass `guest` (1 CPU, 512 MiB, BIOS), a VMImage
 * `debian` and a VMNetworkAttachment `nat`: what the console tests log into.
 * Every value goes into YAML as a JSON string, which YAML reads as it is.
 */
export function passwordGuestManifests(bed: GuestTestbed, guest: PasswordGuest): string {
  const q = (value: string) => JSON.stringify(value);
  const cloudConfig = [
    "#cloud-config",
    `hostname: ${q(guest.name)}`,
    "users:",
    `  - name: ${guestUser}`,
    "    shell: /bin/bash",
    "    lock_passwd: false",
    `    plain_text_passwd: ${q(guest.password)}`,
  ];
  return `apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: kvm}
spec: {type: libvirt, endpoint: ${q(guest.providerUrl)}}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: guest}
spec: {cpu: 1, memory: 512Mi, firmware: BIOS}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: debian}
spec: {source: {libvirt: {path: ${q(bed.image)}}}}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMNetworkAttachment
metadata: {name: nat}
spec: {network: {libvirt: {networkName: ${q(bed.network)}}}}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: ${q(guest.name)}}
spec:
  providerRef: {name: kvm}
  classRef: {name: guest}
  imageRef: {name: debian}
  networks: [{name: nat}]
  powerState: On
  userData:
    cloudInit:
      inline: |
${cloudConfig.map((line) => `        ${line}`).join("\n")}
`;
}
