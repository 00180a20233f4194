import { randomBytes } from "node:crypto";
import { describe, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import type { Keyring } from "./keyring.js";
import { openSecretData, sealSecretData } from "./secret-cipher.js";

const keyring = (...names: string[]): Keyring => ({
  file: "/etc/keys.yaml",
  keys: names.map((name) => ({ name, key: randomBytes(32) })),
});

const value = Buffer.from("hunter2-password");
const here = { namespace: "team", name: "db" };

function refusal(open: () => unknown): ProviderError {
  try {
    open();
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw err;
  }
  throw new Error("it opened");
}

describe("sealSecretData and openSecretData", () => {
  it("opens what they sealed, under the first key, with a new nonce every time", () => {
    const ring = keyring("new", "old");
    const a = sealSecretData(ring, here, { password: value });
    const b = sealSecretData(ring, here, { password: value });
    expect(a.keyName).toBe("new");
    expect(a.nonce).toHaveLength(12);
    expect(Buffer.from(a.nonce).equals(Buffer.from(b.nonce))).toBe(false);
    expect(Buffer.from(a.ciphertext).includes(value)).toBe(false);
    expect(Buffer.from(openSecretData(ring, here, a)["password"] ?? [])).toEqual(value);
  });

  it("opens with any key of the ring, by the name stored with the ciphertext", () => {
    const ring = keyring("old");
    const sealed = sealSecretData(ring, here, { password: value });
    const rotated: Keyring = {
      ...ring,
      keys: [{ name: "new", key: randomBytes(32) }, ...ring.keys],
    };
    expect(Buffer.from(openSecretData(rotated, here, sealed)["password"] ?? [])).toEqual(value);
  });

  it("refuses a ciphertext changed by one bit, naming the Secret and not the value", () => {
    const ring = keyring("k");
    const sealed = sealSecretData(ring, here, { password: value });
    sealed.ciphertext[3] = (sealed.ciphertext[3] ?? 0) ^ 1;
    const err = refusal(() => openSecretData(ring, here, sealed));
    expect(err.reason).toBe(ErrorReason.INTERNAL);
    expect(err.rawMessage).toMatch(/Secret team\/db cannot be decrypted: .*does not authenticate/);
    expect(err.rawMessage).not.toContain("hunter2");
  });

  it("refuses a ciphertext moved to another Secret, or another namespace", () => {
    const ring = keyring("k");
    const sealed = sealSecretData(ring, here, { password: value });
    for (const elsewhere of [
      { namespace: "team", name: "web" },
      { namespace: "other", name: "db" },
    ])
      expect(refusal(() => openSecretData(ring, elsewhere, sealed)).rawMessage).toMatch(
        /does not authenticate/,
      );
  });

  it("says which key is missing when the key file lost it", () => {
    const sealed = sealSecretData(keyring("gone"), here, { password: value });
    expect(refusal(() => openSecretData(keyring("other"), here, sealed)).rawMessage).toBe(
      'Secret team/db cannot be decrypted: it was sealed with the key "gone", which /etc/keys.yaml does not hold',
    );
  });
});
