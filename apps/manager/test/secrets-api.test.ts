import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { create } from "@bufbuild/protobuf";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import { type ServiceClient, createServiceClient } from "@virtrigaud/contracts/client";
import {
  ApplyOutcome,
  Kind,
  ManagerService,
  type Resource,
  type Secret,
  SecretSchema,
  VirtualMachineSchema,
  WatchEventType,
} from "@virtrigaud/proto/manager";
import { toResource } from "../src/manifest/kinds.js";
import { addKeyToFile } from "../src/secrets/keyring.js";
import type { ResourceStore } from "../src/store/resource-store.js";
import { type TestManager, startTestManager } from "./harness.js";

// The API's side of Secrets, against a manager in this process on a real
// socket; whether a caller may read secret data is a stub decision here (a
// header), as the authorizer that makes it in production is another part.

const password = "correct-horse-battery-staple";
/** The stub decision: callers sending this header may read secret data. */
const readerHeader = "x-test-may-read";

let dir: string;
let tm: TestManager;
let store: ResourceStore;
let client: ServiceClient<typeof ManagerService>;
let readerClient: ServiceClient<typeof ManagerService>;

async function serve(withKeys = true): Promise<void> {
  await tm?.close();
  const keyFile = join(dir, "keys.yaml");
  if (withKeys) addKeyToFile(keyFile);
  tm = await startTestManager(join(dir, "data"), {
    ...(withKeys ? { secretKeyFile: keyFile } : {}),
    maySeeSecretData: (context) => context.requestHeader.get(readerHeader) === "yes",
  });
  store = tm.manager.store;
  client = tm.client;
  readerClient?.close();
  readerClient = createServiceClient(ManagerService, tm.url, {
    headers: { [readerHeader]: "yes" },
  });
}

function secret(name: string, init: Partial<Pick<Secret, "data" | "stringData">>): Resource {
  return toResource(
    Kind.SECRET,
    create(SecretSchema, { metadata: { name, namespace: "team" }, ...init }),
  );
}

function secretOf(resource: Resource | undefined): Secret {
  if (resource?.kind.case !== "secret") throw new Error("not a Secret");
  return resource.kind.value;
}

async function refusal(call: Promise<unknown>): Promise<ProviderError> {
  try {
    await call;
  } catch (err) {
    return ProviderError.from(err);
  }
  throw new Error("it succeeded");
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "manager-secrets-"));
  await serve();
});

afterEach(async () => {
  readerClient.close();
  await tm.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("Secrets through the ManagerService", () => {
  it("folds stringData into data, stores it sealed, and answers Apply without data", async () => {
    const applied = await client.apply({
      resource: secret("db", { data: { user: Buffer.from("admin") }, stringData: { password } }),
    });
    expect(applied.outcome).toBe(ApplyOutcome.CREATED);
    const answer = secretOf(applied.resource);
    expect(answer.data).toEqual({});
    expect(answer.stringData).toEqual({});
    expect(answer.encryptedData).toBeUndefined();
    expect(answer.type).toBe("Opaque");

    const stored = store.get(Kind.SECRET, "team", "db") as Secret;
    expect(stored.data).toEqual({});
    expect(stored.stringData).toEqual({});
    expect(stored.encryptedData?.keyName).toMatch(/^key-/);
    expect(Buffer.from(stored.encryptedData?.ciphertext ?? []).includes(password)).toBe(false);

    const got = secretOf(
      (await readerClient.get({ kind: Kind.SECRET, namespace: "team", name: "db" })).resource,
    );
    expect(Buffer.from(got.data["password"] ?? []).toString()).toBe(password);
    expect(Buffer.from(got.data["user"] ?? []).toString()).toBe("admin");
    expect(got.encryptedData).toBeUndefined();
  });

  it("reports a re-apply of the same values unchanged, and new values configured", async () => {
    await client.apply({ resource: secret("db", { stringData: { password } }) });
    const again = await client.apply({
      resource: secret("db", { data: { password: Buffer.from(password) } }),
    });
    expect(again.outcome).toBe(ApplyOutcome.UNCHANGED);
    const changed = await client.apply({
      resource: secret("db", { stringData: { password: "other" } }),
    });
    expect(changed.outcome).toBe(ApplyOutcome.CONFIGURED);
  });

  it("gives no data in Get, List and Watch to a caller that may not read secret data", async () => {
    await client.apply({ resource: secret("db", { stringData: { password } }) });
    const got = secretOf(
      (await client.get({ kind: Kind.SECRET, namespace: "team", name: "db" })).resource,
    );
    expect(got.data).toEqual({});
    expect(got.encryptedData).toBeUndefined();
    expect(got.metadata?.name).toBe("db");

    const listed = await client.list({ kind: Kind.SECRET, namespace: "team" });
    expect(listed.resources.map((r) => secretOf(r).data)).toEqual([{}]);
    expect(listed.resources.map((r) => secretOf(r).encryptedData)).toEqual([undefined]);
    const listedByReader = await readerClient.list({ kind: Kind.SECRET, allNamespaces: true });
    expect(Object.keys(secretOf(listedByReader.resources[0]).data)).toEqual(["password"]);

    for (const who of [client, readerClient]) {
      const abort = new AbortController();
      const seen: Secret[] = [];
      const stream = who.watch({ kind: Kind.SECRET }, { signal: abort.signal });
      const done = (async () => {
        try {
          for await (const change of stream) {
            if (change.type === WatchEventType.BOOKMARK) continue;
            seen.push(secretOf(change.resource));
            if (seen.length === 2) abort.abort();
          }
        } catch {
          // Aborted.
        }
      })();
      // The initial ADDED, then a change as it is written.
      await new Promise((r) => setTimeout(r, 50));
      await client.apply({
        resource: secret("db", { stringData: { password: `${seen.length}-${Math.random()}` } }),
      });
      await done;
      expect(seen).toHaveLength(2);
      for (const s of seen) expect(s.encryptedData).toBeUndefined();
      if (who === readerClient)
        expect(seen.every((s) => s.data["password"] !== undefined)).toBe(true);
      else expect(seen.map((s) => s.data)).toEqual([{}, {}]);
    }
  });

  it("refuses bad keys, too much data and a sealed form from the caller, naming the field", async () => {
    const bad = await refusal(
      client.apply({ resource: secret("db", { stringData: { "a/b": "x" } }) }),
    );
    expect(bad.reason).toBe(ErrorReason.INVALID_SPEC);
    expect(bad.field).toBe('resource.secret.string_data["a/b"]');
    const big = await refusal(
      client.apply({ resource: secret("db", { data: { blob: Buffer.alloc(1024 * 1024) } }) }),
    );
    expect(big.field).toBe("resource.secret.data");
    expect(big.rawMessage).toMatch(/at most 1048576/);
    const sealed = toResource(
      Kind.SECRET,
      create(SecretSchema, {
        metadata: { name: "db" },
        encryptedData: { keyName: "k1", nonce: new Uint8Array(12), ciphertext: new Uint8Array(20) },
      }),
    );
    expect((await refusal(client.apply({ resource: sealed }))).field).toBe(
      "resource.secret.encrypted_data",
    );
    expect(store.count(Kind.SECRET)).toBe(0);
  });

  it("refuses Secrets when the manager has no key file, storing nothing", async () => {
    await serve(false);
    const err = await refusal(
      client.apply({ resource: secret("db", { stringData: { password } }) }),
    );
    expect(err.reason).toBe(ErrorReason.UNSUPPORTED);
    expect(err.rawMessage).toMatch(/--secret-key-file/);
    expect(store.count(Kind.SECRET)).toBe(0);
  });

  it("refuses to delete a Secret a VirtualMachine's cloud-init refers to", async () => {
    await client.apply({ resource: secret("boot", { stringData: { userdata: "#cloud-config" } }) });
    await store.apply(
      Kind.VIRTUAL_MACHINE,
      create(VirtualMachineSchema, {
        metadata: { name: "web", namespace: "team" },
        spec: { userData: { cloudInit: { secretRef: { name: "boot" } } } },
      }),
    );
    const err = await refusal(
      client.delete({ kind: Kind.SECRET, namespace: "team", name: "boot" }),
    );
    expect(err.reason).toBe(ErrorReason.CONFLICT);
    expect(err.rawMessage).toBe(
      "Secret team/boot is used by VirtualMachine team/web; delete them first",
    );
    await store.requestDelete(Kind.VIRTUAL_MACHINE, "team", "web");
    await client.delete({ kind: Kind.SECRET, namespace: "team", name: "boot" });
    expect(store.count(Kind.SECRET)).toBe(0);
  });
});
