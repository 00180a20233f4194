import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "@jest/globals";
import {
  ApplyOutcome,
  ApplyRequestSchema,
  ApplyResponseSchema,
  ConsoleKind,
  CreateConsoleTicketRequestSchema,
  CreateConsoleTicketResponseSchema,
  DeleteRequestSchema,
  Kind,
  ListRequestSchema,
} from "@virtrigaud/proto/manager";
import { type FinishedCall, auditEntryOf, isAudited } from "./audit-entry.js";

const vm = (resourceVersion = "") => ({
  kind: {
    case: "virtualMachine" as const,
    value: {
      metadata: { name: "web-1", namespace: "team-a", resourceVersion },
      spec: {
        userData: { cloudInit: { inline: "#cloud-config\npassword: hunter2" } },
      },
    },
  },
});

const call = (overrides: Partial<FinishedCall>): FinishedCall => ({
  rpc: "Apply",
  request: create(ApplyRequestSchema, { resource: vm() }),
  response: create(ApplyResponseSchema, { resource: vm("42"), outcome: ApplyOutcome.CREATED }),
  error: undefined,
  identity: { name: "alice", groups: ["ops"], method: "token" },
  source: "127.0.0.1",
  replica: "a",
  time: new Date("2026-12-04T10:00:00.123Z"),
  ...overrides,
});

describe("isAudited", () => {
  it.each([
    ["Apply", undefined, true],
    ["Delete", undefined, true],
    ["CreateConsoleTicket", undefined, true],
    ["Apply", new ConnectError("bad", Code.InvalidArgument), true],
    ["Get", undefined, false],
    ["List", new ConnectError("missing", Code.NotFound), false],
    ["Get", new ConnectError("no", Code.PermissionDenied), true],
    ["Watch", new ConnectError("who?", Code.Unauthenticated), true],
  ])("%s ending in %p: %p", (rpc, error, audited) => {
    expect(isAudited(rpc, error)).toBe(audited);
  });
});

describe("auditEntryOf", () => {
  it("names who did what to which resource, and the version it left", () => {
    expect(auditEntryOf(call({}))).toEqual({
      time: "2026-12-04T10:00:00.123Z",
      replica: "a",
      identity: { name: "alice", groups: ["ops"], method: "token" },
      source: "127.0.0.1",
      rpc: "Apply",
      verb: "create",
      kind: "VirtualMachine",
      namespace: "team-a",
      name: "web-1",
      outcome: "ok",
      resourceVersion: "42",
    });
  });

  it("names the VM of a console ticket, and never holds the ticket", () => {
    const entry = auditEntryOf(
      call({
        rpc: "CreateConsoleTicket",
        request: create(CreateConsoleTicketRequestSchema, {
          namespace: "team-a",
          name: "web-1",
          kind: ConsoleKind.SERIAL,
        }),
        response: create(CreateConsoleTicketResponseSchema, { ticket: "s3cret-ticket" }),
        access: {
          verb: "console",
          resource: "virtualmachines",
          namespace: "team-a",
          name: "web-1",
        },
      }),
    );
    expect(entry).toMatchObject({
      verb: "console",
      kind: "VirtualMachine",
      namespace: "team-a",
      name: "web-1",
      outcome: "ok",
    });
    expect(JSON.stringify(entry)).not.toContain("s3cret-ticket");
  });

  it("never holds the resource's content", () => {
    expect(JSON.stringify(auditEntryOf(call({})))).not.toContain("hunter2");
  });

  it("says update for an apply that changed or kept a resource", () => {
    const configured = create(ApplyResponseSchema, {
      resource: vm("43"),
      outcome: ApplyOutcome.CONFIGURED,
    });
    expect(auditEntryOf(call({ response: configured }))?.verb).toBe("update");
  });

  it("takes the verb the access rules decided on, and a refusal's code, without a version", () => {
    const entry = auditEntryOf(
      call({
        response: undefined,
        error: new ConnectError("alice may not create virtualmachines", Code.PermissionDenied),
        access: { verb: "create", resource: "virtualmachines", namespace: "team-a", name: "web-1" },
      }),
    );
    expect(entry).toMatchObject({ verb: "create", outcome: "permission_denied" });
    expect(entry).not.toHaveProperty("resourceVersion");
    expect(JSON.stringify(entry)).not.toContain("may not");
  });

  it("marks a dry run", () => {
    const request = create(ApplyRequestSchema, { resource: vm(), dryRun: true });
    expect(auditEntryOf(call({ request }))?.dryRun).toBe(true);
  });

  it("reads a delete's target, with the API's default namespace", () => {
    const entry = auditEntryOf(
      call({
        rpc: "Delete",
        request: create(DeleteRequestSchema, { kind: Kind.VM_CLASS, name: "small" }),
        response: {},
      }),
    );
    expect(entry).toMatchObject({
      verb: "delete",
      kind: "VMClass",
      namespace: "default",
      name: "small",
      outcome: "ok",
    });
  });

  it("records a refused list across namespaces with no namespace", () => {
    const entry = auditEntryOf(
      call({
        rpc: "List",
        request: create(ListRequestSchema, { kind: Kind.PROVIDER, allNamespaces: true }),
        response: undefined,
        error: new ConnectError("no", Code.PermissionDenied),
      }),
    );
    expect(entry).toMatchObject({ verb: "list", kind: "Provider", namespace: "", name: "" });
  });

  it("names a refused stream's target from what the access rules were asked", () => {
    const entry = auditEntryOf(
      call({
        rpc: "Watch",
        request: undefined,
        response: undefined,
        error: new ConnectError("no", Code.PermissionDenied),
        access: { verb: "list", resource: "events", namespace: "team-b" },
      }),
    );
    // Not a kind: named as the access rules name it.
    expect(entry).toMatchObject({ verb: "list", kind: "events", namespace: "team-b", name: "" });
    const vms = auditEntryOf(
      call({
        rpc: "Watch",
        request: undefined,
        response: undefined,
        error: new ConnectError("no", Code.PermissionDenied),
        access: { verb: "watch", resource: "virtualmachines", namespace: undefined },
      }),
    );
    expect(vms).toMatchObject({ kind: "VirtualMachine", namespace: "" });
  });

  it("leaves out reads that succeeded", () => {
    expect(auditEntryOf(call({ rpc: "Get", request: {}, response: {} }))).toBeUndefined();
  });
});
