// What vcsim cannot show (paged retrievals, tasks that run for a while, task
// cancellation, vCenter's NotAuthenticated SOAP fault) against a fake
// endpoint replaying answers in vCenter's format; see test/fixtures/README.md.
import { afterEach, describe, expect, it } from "@jest/globals";
import { type FakeVimServer, fixture, startFakeVimServer } from "../../test/fixtures.js";
import { retrieveProperties } from "../property-collector.js";
import { RequestCanceledError } from "../soap/faults.js";
import { cancelTask, waitForTask } from "../tasks.js";
import { createVimClient } from "./vim-client.js";

let server: FakeVimServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const task = { type: "Task", value: "task-3001" };
const clientOf = (url: string) =>
  createVimClient({ url, username: "u", password: "p", keepAliveMs: 0 });
const soapMethods = () => server?.requests.map((r) => r.method) ?? [];
/** vCenter's answers to the calls that set a property collector of its own up and tear it down. */
const collectorFixtures: Record<string, string> = {
  CreatePropertyCollector: "vcenter-create-property-collector",
  CreateFilter: "vcenter-create-filter",
  DestroyPropertyCollector: "vcenter-destroy-property-collector",
};
const collectorCall = (method: string) => {
  const name = collectorFixtures[method];
  return name ? fixture(name) : undefined;
};

describe("against replayed vCenter answers", () => {
  it("logs in again once when the datastore file service answers 401, and sends the request again", async () => {
    let refused = false;
    server = await startFakeVimServer(({ method }) => {
      // Not SOAP: the /folder request.
      if (method !== "unknown") return undefined;
      if (!refused) {
        refused = true;
        return { status: 401, body: "" };
      }
      return { status: 200, body: "bytes" };
    });
    const client = clientOf(server.url);
    const answer = await client.httpRequest({ method: "GET", path: "/folder/x?dsName=d" });
    expect(answer.status).toBe(200);
    expect(Buffer.from(await answer.body.arrayBuffer()).toString()).toBe("bytes");
    expect(soapMethods()).toEqual([
      "RetrieveServiceContent",
      "Login",
      "unknown",
      "Login",
      "unknown",
    ]);
    const cookies = server.requests.filter((r) => r.method === "unknown").map((r) => r.cookie);
    expect(cookies[0]).toMatch(/^vmware_soap_session=/);
    expect(cookies[1]).toMatch(/^vmware_soap_session=/);
    expect(cookies[1]).not.toBe(cookies[0]);
    await client.close();
  });

  it("follows continuation tokens until every object is read", async () => {
    server = await startFakeVimServer(({ method, body }) => {
      if (method === "RetrievePropertiesEx") {
        expect(body).toContain("<maxObjects>2</maxObjects>");
        return fixture("vcenter-retrieve-page-1");
      }
      if (method === "ContinueRetrievePropertiesEx") {
        return body.includes("<token>1</token>")
          ? fixture("vcenter-retrieve-page-2")
          : fixture("vcenter-retrieve-page-3");
      }
      return undefined;
    });
    const client = clientOf(server.url);
    const objects = await retrieveProperties(
      client,
      [{ propSet: [{ type: "VirtualMachine", pathSet: ["name"] }], objectSet: [] }],
      { maxObjects: 2 },
    );
    expect(objects.map((o) => o.propSet?.[0]?.val)).toEqual(["a & b", "c", "d", "e <f>"]);
    expect(soapMethods()).toEqual([
      "RetrieveServiceContent",
      "Login",
      "RetrievePropertiesEx",
      "ContinueRetrievePropertiesEx",
      "ContinueRetrievePropertiesEx",
    ]);
    await client.close();
  });

  it("waits for a task by property updates, reporting its progress", async () => {
    const updates = ["vcenter-wait-running-10", "vcenter-wait-running-60", "vcenter-wait-success"];
    server = await startFakeVimServer(({ method }) => {
      if (method === "WaitForUpdatesEx") return fixture(updates.shift() ?? "vcenter-wait-success");
      return collectorCall(method);
    });
    const client = clientOf(server.url);
    const progress: number[] = [];
    const info = await waitForTask(client, task, { onProgress: (p) => progress.push(p) });
    expect(progress).toEqual([10, 60, 100]);
    expect(info.result).toEqual({ type: "VirtualMachine", value: "vm-3002" });
    // One WaitForUpdatesEx per change; nothing polls.
    expect(soapMethods().filter((m) => m === "WaitForUpdatesEx")).toHaveLength(3);
    const versions = server.requests
      .filter((r) => r.method === "WaitForUpdatesEx")
      .map((r) => /<version>([^<]*)<\/version>/.exec(r.body)?.[1]);
    expect(versions).toEqual(["", "1", "2"]);
    await client.close();
  });

  it("cancels a task, and the wait ends with RequestCanceledError", async () => {
    let cancelled = false;
    server = await startFakeVimServer(({ method }) => {
      if (method === "CancelTask") {
        cancelled = true;
        return fixture("vcenter-cancel-task");
      }
      if (method === "WaitForUpdatesEx") {
        return fixture(cancelled ? "vcenter-wait-canceled" : "vcenter-wait-running-10");
      }
      return collectorCall(method);
    });
    const client = clientOf(server.url);
    const waiting = waitForTask(client, task, {
      onProgress: () => {
        if (!cancelled) void cancelTask(client, task);
      },
    });
    await expect(waiting).rejects.toBeInstanceOf(RequestCanceledError);
    expect(soapMethods()).toContain("CancelTask");
    await client.close();
  });

  it("logs in again once when vCenter answers NotAuthenticated, and retries the call", async () => {
    let first = true;
    server = await startFakeVimServer(({ method, cookie }) => {
      if (method !== "RetrievePropertiesEx") return undefined;
      if (first) {
        first = false;
        return fixture("vcenter-fault-not-authenticated");
      }
      expect(cookie).toBe('vmware_soap_session="s4"');
      return fixture("vcenter-retrieve-page-3").replaceAll(
        "ContinueRetrievePropertiesEx",
        "RetrievePropertiesEx",
      );
    });
    const client = clientOf(server.url);
    const objects = await retrieveProperties(client, [
      { propSet: [{ type: "VirtualMachine", pathSet: ["name"] }], objectSet: [] },
    ]);
    expect(objects).toHaveLength(1);
    expect(soapMethods()).toEqual([
      "RetrieveServiceContent",
      "Login",
      "RetrievePropertiesEx",
      "Login",
      "RetrievePropertiesEx",
    ]);
    expect(client.sessionGeneration).toBe(2);
    await client.close();
  });
});
