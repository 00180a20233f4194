import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import { ProviderError } from "@virtrigaud/contracts";
import { VirtualMachineSchema } from "@virtrigaud/proto/manager";
import type { SecretValues } from "../secrets/secret-cipher.js";
import { type ReadSecret, multipartCloudConfig, resolveCloudInit } from "./cloud-init-sources.js";

const text = (s: string) => Buffer.from(s, "utf8");

function vm(
  user: { inline?: string; secret?: string },
  meta: { inline?: string; secret?: string } = {},
) {
  const source = (s: { inline?: string; secret?: string }) => ({
    inline: s.inline ?? "",
    ...(s.secret ? { secretRef: { name: s.secret } } : {}),
  });
  return create(VirtualMachineSchema, {
    metadata: { name: "web", namespace: "team" },
    spec: { userData: { cloudInit: source(user) }, metaData: { cloudInit: source(meta) } },
  });
}

const secrets =
  (byName: Record<string, SecretValues | ProviderError>): ReadSecret =>
  (name) =>
    byName[name];

describe("resolveCloudInit", () => {
  it("takes user data from the first key present of userdata, user-data, cloud-init, cloud-config", () => {
    const read = secrets({
      a: { "cloud-config": text("late"), "user-data": text("#cloud-config\nfrom: user-data") },
      b: { "cloud-config": text("#cloud-config\nonly") },
    });
    expect(resolveCloudInit(vm({ secret: "a" }), read)).toEqual({
      userData: "#cloud-config\nfrom: user-data",
      metaData: "",
    });
    expect(resolveCloudInit(vm({ secret: "b" }), read)).toEqual({
      userData: "#cloud-config\nonly",
      metaData: "",
    });
  });

  it("takes meta data from metadata, meta-data or meta_data, joined after inline", () => {
    const read = secrets({ m: { meta_data: text("local-hostname: web") } });
    expect(resolveCloudInit(vm({}, { inline: "instance-id: 1", secret: "m" }), read)).toEqual({
      userData: "",
      metaData: "instance-id: 1\nlocal-hostname: web",
    });
  });

  it("makes inline and Secret user data one multipart document, inline first", () => {
    const read = secrets({ s: { userdata: text("#cloud-config\nb: 2") } });
    const out = resolveCloudInit(vm({ inline: "#cloud-config\na: 1", secret: "s" }), read);
    expect(out).toEqual({
      userData: multipartCloudConfig(["#cloud-config\na: 1", "#cloud-config\nb: 2"]),
      metaData: "",
    });
    const doc = (out as { userData: string }).userData;
    expect(doc).toMatch(/^Content-Type: multipart\/mixed; boundary="([^"]+)"\nMIME-Version: 1.0\n/);
    expect(doc.indexOf("a: 1")).toBeLessThan(doc.indexOf("b: 2"));
    expect(doc.trimEnd().endsWith("--VIRTRIGAUD-CLOUD-INIT-PART--")).toBe(true);
  });

  it("says which Secret or key is missing, and never a value", () => {
    const read = secrets({
      other: { password: text("hunter2") },
      broken: ProviderError.internal(
        'Secret team/broken cannot be decrypted: it was sealed with the key "k"',
      ),
    });
    expect(resolveCloudInit(vm({ secret: "gone" }), read)).toEqual({
      unresolved: {
        reason: "SecretNotFound",
        message: "Secret gone, named by the user data secretRef, does not exist",
      },
    });
    const noKey = resolveCloudInit(vm({ secret: "other" }), read);
    expect(noKey).toEqual({
      unresolved: {
        reason: "SecretKeyNotFound",
        message:
          "Secret other holds no user data under any of the keys userdata, user-data, cloud-init, cloud-config",
      },
    });
    expect(JSON.stringify(noKey)).not.toContain("hunter2");
    expect(resolveCloudInit(vm({}, { secret: "broken" }), read)).toMatchObject({
      unresolved: { reason: "SecretUnreadable" },
    });
  });

  it("gives nothing for a VM without cloud-init", () => {
    expect(resolveCloudInit(vm({}), secrets({}))).toBeUndefined();
  });
});
