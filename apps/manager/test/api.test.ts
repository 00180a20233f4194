import { type JsonValue, equals, fromJson } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import { type ClientProtocol, createServiceClient } from "@virtrigaud/contracts/client";
import {
  Kind,
  ManagerService,
  type Resource,
  ResourceSchema,
  type WatchResponse,
  WatchEventType,
  WatchResponseSchema,
} from "@virtrigaud/proto/manager";
import { toResource } from "../src/manifest/kinds.js";
import { decodeManifest } from "../src/manifest/manifest-codec.js";
import { stack, vmManifest } from "./fixtures.js";
import { type TestManager, messageOf, startTestManager } from "./harness.js";
import { parseManifests } from "../src/manifest/parse-manifests.js";

const vmResource = (yaml: string) => decodeManifest(parseManifests(yaml, "t")[0]?.manifest);

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (err) {
    if (ProviderError.is(err)) return err;
    throw err;
  }
  throw new Error("expected a rejection");
}

describe("ManagerService", () => {
  let tm: TestManager | undefined;
  afterEach(async () => {
    await tm?.close();
    tm = undefined;
  });

  it.each([
    [
      "a name with capitals",
      (y: string) => y.replace("name: web-1", "name: Web-1"),
      "resource.virtual_machine.metadata.name",
    ],
    [
      "a duplicate disk",
      (y: string) =>
        y.replace(
          "    - name: data\n      sizeGiB: 10\n",
          "    - name: data\n      sizeGiB: 10\n    - name: data\n      sizeGiB: 5\n",
        ),
      "resource.virtual_machine.spec.disks[1].name",
    ],
    [
      "a bad MAC address",
      (y: string) =>
        y.replace("    - name: default-net\n", "    - name: default-net\n      macAddress: zz\n"),
      "resource.virtual_machine.spec.networks[0].mac_address",
    ],
    [
      "a cloud-init Secret's bad name",
      (y: string) =>
        y.replace("      inline: |", "      secretRef:\n        name: Not_A_Name\n      inline: |"),
      "resource.virtual_machine.spec.user_data.cloud_init.secret_ref.name",
    ],
    [
      "a zero disk size",
      (y: string) => y.replace("sizeGiB: 10", "sizeGiB: 0"),
      "resource.virtual_machine.spec.disks[0].size_gib",
    ],
    [
      "a negative CPU count",
      (y: string) =>
        y.replace("  powerState: On\n", "  powerState: On\n  resources:\n    cpu: -4\n"),
      "resource.virtual_machine.spec.resources.cpu",
    ],
    [
      "a negative prefix",
      (y: string) =>
        y.replace(
          "    - name: default-net\n",
          "    - name: default-net\n      ipAddress: 10.0.0.5\n      prefix: -8\n",
        ),
      "resource.virtual_machine.spec.networks[0].prefix",
    ],
    [
      "an IPv4 prefix beyond 32",
      (y: string) =>
        y.replace(
          "    - name: default-net\n",
          "    - name: default-net\n      ipAddress: 10.0.0.5\n      prefix: 64\n",
        ),
      "resource.virtual_machine.spec.networks[0].prefix",
    ],
    [
      "an address policy timeout that is not a duration",
      (y: string) =>
        y.replace("  powerState: On\n", "  powerState: On\n  addressPolicy:\n    timeout: soon\n"),
      "resource.virtual_machine.spec.address_policy.timeout",
    ],
  ])(
    "refuses %s with INVALID_SPEC naming the field, and stores nothing",
    async (_what, edit, field) => {
      tm = await startTestManager();
      const error = await rejection(
        tm.client.apply({ resource: vmResource(edit(vmManifest("web-1"))) }),
      );
      expect(error.reason).toBe(ErrorReason.INVALID_SPEC);
      expect(error.field).toBe(field);
      expect(tm.manager.store.count(Kind.VIRTUAL_MACHINE)).toBe(0);
    },
  );

  it("refuses a VMClass with neither memory nor memoryMiB, and a bad quantity", async () => {
    tm = await startTestManager();
    const vmClass = (spec: Record<string, unknown>) =>
      decodeManifest({
        apiVersion: "infra.virtrigaud.io/v1beta1",
        kind: "VMClass",
        metadata: { name: "c" },
        spec: { cpu: 1, ...spec },
      });
    expect((await rejection(tm.client.apply({ resource: vmClass({}) }))).field).toBe(
      "resource.vm_class.spec.memory",
    );
    expect(
      (await rejection(tm.client.apply({ resource: vmClass({ memory: "lots" }) }))).rawMessage,
    ).toMatch(/is not a quantity/);
    expect(
      (
        await rejection(
          tm.client.apply({
            resource: vmClass({ memory: "1Gi", addressPolicy: { timeout: "forever" } }),
          }),
        )
      ).field,
    ).toBe("resource.vm_class.spec.address_policy.timeout");
    expect(tm.manager.store.count(Kind.VM_CLASS)).toBe(0);
  });

  it.each([
    [
      "a memory no provider can take",
      { memory: "99999999999999999999Ei" },
      "spec.memory",
      /at most 16Ti/,
    ],
    [
      "a memory too large to count",
      { memory: `${"9".repeat(31)}E` },
      "spec.memory",
      /at most 16Ti/,
    ],
    ["a memory of 17Ti", { memory: "17Ti" }, "spec.memory", /at most 16Ti/],
    [
      "a root disk no provider can take",
      { memory: "1Gi", diskDefaults: { size: "65Ti" } },
      "spec.disk_defaults.size",
      /at most 64Ti/,
    ],
    ["a negative CPU count", { memory: "1Gi", cpu: -4 }, "spec.cpu", /at least 1/],
  ])("refuses a VMClass with %s, naming the field", async (_what, spec, field, message) => {
    tm = await startTestManager();
    const error = await rejection(
      tm.client.apply({
        resource: decodeManifest({
          apiVersion: "infra.virtrigaud.io/v1beta1",
          kind: "VMClass",
          metadata: { name: "c" },
          spec: { cpu: 1, ...spec },
        }),
      }),
    );
    expect([error.reason, error.field]).toEqual([
      ErrorReason.INVALID_SPEC,
      `resource.vm_class.${field}`,
    ]);
    expect(error.rawMessage).toMatch(message);
    expect(tm.manager.store.count(Kind.VM_CLASS)).toBe(0);
  });

  it("refuses a VMSnapshot whose retention keeps a negative count, which would delete them all", async () => {
    tm = await startTestManager();
    const error = await rejection(
      tm.client.apply({
        resource: decodeManifest({
          apiVersion: "infra.virtrigaud.io/v1beta1",
          kind: "VMSnapshot",
          metadata: { name: "s" },
          spec: { vmRef: { name: "web-1" }, retentionPolicy: { maxCount: -1 } },
        }),
      }),
    );
    expect([error.reason, error.field]).toEqual([
      ErrorReason.INVALID_SPEC,
      "resource.vm_snapshot.spec.retention_policy.max_count",
    ]);
  });

  it("applies with optimistic concurrency by resourceVersion", async () => {
    tm = await startTestManager();
    const first = await tm.client.apply({ resource: vmResource(vmManifest("web-1")) });
    const rv = messageOf(first.resource)?.metadata?.resourceVersion ?? "";
    await tm.client.apply({ resource: vmResource(vmManifest("web-1", { cpu: 3 })) });
    const stale = vmResource(vmManifest("web-1", { cpu: 4 }));
    const meta = messageOf(stale)?.metadata;
    if (meta) meta.resourceVersion = rv;
    expect((await rejection(tm.client.apply({ resource: stale }))).reason).toBe(
      ErrorReason.CONFLICT,
    );
  });

  it("gets, lists by label and answers NOT_FOUND", async () => {
    tm = await startTestManager();
    await tm.apply(vmManifest("web-1"));
    await tm.apply(vmManifest("db-1").replace("app: web", "app: db"));
    const list = await tm.client.list({ kind: Kind.VIRTUAL_MACHINE, labelSelector: "app=db" });
    expect(list.resources.map((r) => messageOf(r)?.metadata?.name)).toEqual(["db-1"]);
    expect(
      (await rejection(tm.client.get({ kind: Kind.VIRTUAL_MACHINE, name: "nope" }))).reason,
    ).toBe(ErrorReason.NOT_FOUND);
  });

  it("answers Apply, Get and List with the stored resource in every protocol, binary or JSON", async () => {
    tm = await startTestManager();
    await tm.apply(stack("http://127.0.0.1:1"));
    await tm.apply(vmManifest("web-1"));
    await tm.apply(vmManifest("web-2"));
    // The controllers write status meanwhile: an answer is checked against the
    // stored resource of the version it carries, and asked again if it has moved on.
    const matchesStore = async (answer: () => Promise<Resource | undefined>) => {
      for (let attempt = 0; attempt < 50; attempt++) {
        const resource = await answer();
        const message = messageOf(resource);
        const stored = tm!.manager.store.get(
          Kind.VIRTUAL_MACHINE,
          "default",
          message?.metadata?.name ?? "",
        );
        if (stored?.metadata?.resourceVersion !== message?.metadata?.resourceVersion) continue;
        return equals(ResourceSchema, resource!, toResource(Kind.VIRTUAL_MACHINE, stored!));
      }
      throw new Error("the resource never stood still");
    };
    // Connect's JSON format, as a browser speaks it: the message itself, not stored bytes.
    const unaryJson = async (method: string, body: unknown) => {
      const response = await fetch(`${tm!.url}/virtrigaud.manager.v1.ManagerService/${method}`, {
        method: "POST",
        headers: { "content-type": "application/json", "connect-protocol-version": "1" },
        body: JSON.stringify(body),
      });
      return (await response.json()) as { resource?: JsonValue; resources?: JsonValue[] };
    };
    const fromJsonAnswer = (json: JsonValue | undefined) => fromJson(ResourceSchema, json ?? null);
    const vm1 = vmResource(vmManifest("web-1"));
    const answers: Array<[string, () => Promise<Resource | undefined>]> = [
      [
        "json get",
        async () =>
          fromJsonAnswer(
            (await unaryJson("Get", { kind: "KIND_VIRTUAL_MACHINE", name: "web-1" })).resource,
          ),
      ],
      [
        "json list",
        async () =>
          fromJsonAnswer(
            (await unaryJson("List", { kind: "KIND_VIRTUAL_MACHINE" })).resources?.[1],
          ),
      ],
    ];
    const protocols: ClientProtocol[] = ["connect", "grpc", "grpc-web"];
    const clients = protocols.map((protocol) =>
      createServiceClient(ManagerService, tm!.url, { protocol }),
    );
    clients.forEach((client, i) => {
      answers.push(
        [`${protocols[i]} apply`, async () => (await client.apply({ resource: vm1 })).resource],
        [
          `${protocols[i]} get`,
          async () => (await client.get({ kind: Kind.VIRTUAL_MACHINE, name: "web-2" })).resource,
        ],
        [
          `${protocols[i]} list`,
          async () => (await client.list({ kind: Kind.VIRTUAL_MACHINE })).resources[1],
        ],
      );
    });
    try {
      for (const [what, answer] of answers)
        expect([what, await matchesStore(answer)]).toEqual([what, true]);
      const listed = await tm.client.list({ kind: Kind.VIRTUAL_MACHINE });
      expect(listed.resources.map((r) => messageOf(r)?.metadata?.name)).toEqual(["web-1", "web-2"]);
      expect(Number(listed.resourceVersion)).toBeGreaterThan(0);
    } finally {
      for (const client of clients) client.close();
    }
  });

  it("sends a watch the same resources in every protocol, binary or JSON", async () => {
    tm = await startTestManager();
    const url = tm.url;
    await tm.apply(stack("http://127.0.0.1:1").split("---")[1] ?? "");
    const stored = (await tm.client.get({ kind: Kind.VM_CLASS, name: "small" })).resource;
    const first = async (
      watch: (signal: AbortSignal) => AsyncIterable<WatchResponse>,
    ): Promise<WatchResponse | undefined> => {
      const abort = new AbortController();
      try {
        for await (const event of watch(abort.signal)) return event;
      } finally {
        abort.abort();
      }
      return undefined;
    };
    const request = { kind: Kind.VM_CLASS };
    const protocols: ClientProtocol[] = ["connect", "grpc", "grpc-web"];
    for (const protocol of protocols) {
      const client = createServiceClient(ManagerService, url, { protocol });
      try {
        const event = await first((signal) => client.watch(request, { signal }));
        expect([protocol, event?.type]).toEqual([protocol, WatchEventType.ADDED]);
        expect(equals(ResourceSchema, event?.resource ?? stored!, stored!)).toBe(true);
        expect(event?.resource).toBeDefined();
      } finally {
        client.close();
      }
    }
    // Connect's JSON format, as a browser speaks it: one enveloped message each way.
    const body = Buffer.from(JSON.stringify({ kind: "KIND_VM_CLASS" }));
    const envelope = Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), body]);
    const abort = new AbortController();
    const response = await fetch(`${url}/virtrigaud.manager.v1.ManagerService/Watch`, {
      method: "POST",
      headers: { "content-type": "application/connect+json", "connect-protocol-version": "1" },
      body: envelope,
      signal: abort.signal,
    });
    const reader = response.body!.getReader();
    let bytes = Buffer.alloc(0);
    while (bytes.length < 5 || bytes.length < 5 + bytes.readUInt32BE(1)) {
      const { value } = (await reader.read()) as { value?: Uint8Array };
      bytes = Buffer.concat([bytes, value ?? Buffer.alloc(0)]);
    }
    abort.abort();
    const event = fromJson(
      WatchResponseSchema,
      JSON.parse(bytes.subarray(5, 5 + bytes.readUInt32BE(1)).toString()) as JsonValue,
    );
    expect(event?.resource).toBeDefined();
    expect(equals(ResourceSchema, event?.resource ?? stored!, stored!)).toBe(true);
  });

  it("streams changes to a watch and resumes one from a resourceVersion", async () => {
    tm = await startTestManager();
    await tm.apply(stack("http://127.0.0.1:1").split("---")[1] ?? "");
    const list = await tm.client.list({ kind: Kind.VM_CLASS });
    await tm.apply((stack("http://127.0.0.1:1").split("---")[1] ?? "").replace("cpu: 2", "cpu: 3"));
    const seen: Array<[WatchEventType, string]> = [];
    const abort = new AbortController();
    const watching = (async () => {
      for await (const event of tm.client.watch(
        { kind: Kind.VM_CLASS, resourceVersion: list.resourceVersion },
        { signal: abort.signal },
      )) {
        seen.push([
          event.type,
          String((messageOf(event.resource) as { spec?: { cpu: number } } | undefined)?.spec?.cpu),
        ]);
        if (seen.length === 2) abort.abort();
      }
    })().catch(() => {});
    await new Promise((r) => setTimeout(r, 200));
    await tm.client.delete({ kind: Kind.VM_CLASS, name: "small" });
    await watching;
    expect(seen).toEqual([
      [WatchEventType.MODIFIED, "3"],
      [WatchEventType.DELETED, "3"],
    ]);
    expect(
      (await rejection(tm.client.watch({ resourceVersion: "abc" })[Symbol.asyncIterator]().next()))
        .reason,
    ).toBe(ErrorReason.INVALID_SPEC);
  });
});
