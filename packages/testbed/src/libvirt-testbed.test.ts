import { describe, expect, it } from "@jest/globals";
import { libvirtHostFlags, libvirtTestbedFrom } from "./libvirt-testbed.js";

const env: Record<string, string> = {
  VIRTRIGAUD_LIBVIRT_URI: "qemu+unix:///system?socket=/t/libvirt/sock",
  VIRTRIGAUD_LIBVIRT_DIR: "/t/libvirt",
  VIRTRIGAUD_LIBVIRT_NETWORK: "vrtg-test",
  VIRTRIGAUD_LIBVIRT_POOL_DIR: "/t/libvirt/pool",
  VIRTRIGAUD_LIBVIRT_SSH_HOST: "127.0.0.1",
  VIRTRIGAUD_LIBVIRT_SSH_PORT: "2201",
  VIRTRIGAUD_LIBVIRT_NAMESPACE_SSH_PORT: "2202",
  VIRTRIGAUD_LIBVIRT_SSH_USER: "root",
  VIRTRIGAUD_LIBVIRT_SSH_KEY: "/t/libvirt/ssh/client_key",
  VIRTRIGAUD_LIBVIRT_SSH_KNOWN_HOSTS: "/t/libvirt/ssh/known_hosts",
  VIRTRIGAUD_LIBVIRT_SSH_WRONG_KNOWN_HOSTS: "/t/libvirt/ssh/wrong_known_hosts",
};
const get = (name: string) => {
  const value = env[name];
  if (value === undefined) throw new Error(`no ${name}`);
  return value;
};

describe("libvirtHostFlags", () => {
  const bed = libvirtTestbedFrom(get);

  it("points provider-libvirt at the bed's sshd and libvirtd, each value its own argument", () => {
    expect(libvirtHostFlags(bed)).toEqual([
      ...["--ssh-host", "127.0.0.1", "--ssh-port", "2201", "--ssh-user", "root"],
      ...["--ssh-key", "/t/libvirt/ssh/client_key"],
      ...["--ssh-known-hosts", "/t/libvirt/ssh/known_hosts"],
      ...["--libvirt-uri", "qemu+unix:///system?socket=/t/libvirt/sock"],
    ]);
  });

  it("takes the sshd in libvirtd's namespaces when asked", () => {
    const flags = libvirtHostFlags(bed, { namespace: true });
    expect(flags[flags.indexOf("--ssh-port") + 1]).toBe("2202");
  });

  it("names the variable a bed did not set", () => {
    const partial = (name: string) => {
      if (name === "VIRTRIGAUD_LIBVIRT_SSH_KEY") throw new Error(`no ${name}`);
      return get(name);
    };
    expect(() => libvirtTestbedFrom(partial)).toThrow("no VIRTRIGAUD_LIBVIRT_SSH_KEY");
  });
});
