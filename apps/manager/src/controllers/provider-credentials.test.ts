import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import { ProviderError } from "@virtrigaud/contracts";
import { Kind, ProviderSchema, type Secret, SecretSchema } from "@virtrigaud/proto/manager";
import type { AnyResource } from "../manifest/kinds.js";
import { credentialsMayGoTo, credentialsVersion, planCredentials } from "./provider-credentials.js";

const provider = (endpoint: string, ref?: { name: string; namespace?: string }) =>
  create(ProviderSchema, {
    metadata: { namespace: "team-a", name: "vc" },
    spec: { endpoint, ...(ref ? { credentialSecretRef: ref } : {}) },
  });

const secret = (namespace: string, name: string, sharedWith?: string, resourceVersion = "7") =>
  create(SecretSchema, {
    metadata: {
      namespace,
      name,
      resourceVersion,
      annotations: sharedWith ? { "virtrigaud.io/shared-with": sharedWith } : {},
    },
  });

const storeOf =
  (...secrets: Secret[]) =>
  (kind: Kind, namespace: string, name: string): AnyResource | undefined =>
    kind === Kind.SECRET
      ? secrets.find((s) => s.metadata?.namespace === namespace && s.metadata.name === name)
      : undefined;

const values = { username: Buffer.from("u53r"), password: Buffer.from("pa55") };
const open = () => values;

describe("credentialsMayGoTo", () => {
  it.each([
    ["https://vc-provider.example:9443", true],
    ["http://127.0.0.1:9443", true],
    ["http://localhost:9443", true],
    ["http://[::1]:9443", true],
    ["http://10.0.0.5:9443", false],
    ["http://provider.example:9443", false], // a name could resolve anywhere
    ["not a url", false],
  ])("%s: %s", (endpoint, expected) => {
    expect(credentialsMayGoTo(endpoint)).toBe(expected);
  });
});

describe("planCredentials", () => {
  it("sends nothing for a Provider without credentialSecretRef", () => {
    expect(planCredentials(provider("http://10.0.0.5:1"), storeOf(), open)).toEqual({
      send: false,
    });
  });

  it("sends the data of a Secret of the Provider's namespace", () => {
    const plan = planCredentials(
      provider("https://p:1", { name: "vc-creds" }),
      storeOf(secret("team-a", "vc-creds")),
      open,
    );
    expect(plan).toEqual({ send: true, data: values });
  });

  it("refuses plaintext to another host before it reads the Secret", () => {
    const plan = planCredentials(
      provider("http://10.0.0.5:9443", { name: "vc-creds" }),
      storeOf(secret("team-a", "vc-creds")),
      () => {
        throw new Error("must not be opened");
      },
    );
    expect(plan.blocked?.reason).toBe("CredentialsInsecure");
  });

  it("waits for a Secret that does not exist", () => {
    const plan = planCredentials(provider("https://p:1", { name: "later" }), storeOf(), open);
    expect(plan.blocked).toEqual({
      reason: "CredentialsNotFound",
      message: "Secret later, named by spec.credentialSecretRef, does not exist",
    });
  });

  it("uses a Secret of another namespace only when it is shared with the Provider's", () => {
    const ref = { name: "vc-creds", namespace: "infra" };
    expect(
      planCredentials(provider("https://p:1", ref), storeOf(secret("infra", "vc-creds")), open)
        .blocked?.reason,
    ).toBe("CredentialsNotFound");
    expect(
      planCredentials(
        provider("https://p:1", ref),
        storeOf(secret("infra", "vc-creds", "team-a")),
        open,
      ).send,
    ).toBe(true);
  });

  it("reports a Secret that does not open, in words that hold no value", () => {
    const plan = planCredentials(
      provider("https://p:1", { name: "vc-creds" }),
      storeOf(secret("team-a", "vc-creds")),
      () => {
        throw ProviderError.internal("Secret team-a/vc-creds cannot be decrypted");
      },
    );
    expect(plan.blocked).toEqual({
      reason: "CredentialsUnreadable",
      message: "Secret team-a/vc-creds cannot be decrypted",
    });
  });
});

describe("credentialsVersion", () => {
  it("changes with the Secret's revision, its coming and going, and the endpoint", () => {
    const p = provider("https://p:1", { name: "vc-creds" });
    const before = credentialsVersion(p, storeOf());
    const s = secret("team-a", "vc-creds");
    const at7 = credentialsVersion(p, storeOf(s));
    const s8 = secret("team-a", "vc-creds", undefined, "8");
    const at8 = credentialsVersion(p, storeOf(s8));
    const moved = credentialsVersion(provider("https://q:1", { name: "vc-creds" }), storeOf(s8));
    expect(new Set([before, at7, at8, moved]).size).toBe(4);
    expect(credentialsVersion(provider("https://p:1"), storeOf(s))).toBe("");
  });
});
