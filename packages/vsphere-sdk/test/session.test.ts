import { afterEach, describe, expect, it } from "@jest/globals";
import {
  InvalidLoginError,
  type ManagedObjectReference,
  type RoundTripEvent,
  type UserSession,
  type VimClient,
  retrieveOne,
} from "../src/index.js";
import { uniqueName, vcsimClient, vcsimFromEnv, vcsimStats } from "../src/testing/index.js";

const clients: VimClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function track(overrides: Parameters<typeof vcsimClient>[0] = {}) {
  const events: RoundTripEvent[] = [];
  const client = vcsimClient({ onRoundTrip: (e) => events.push(e), ...overrides });
  clients.push(client);
  return {
    client,
    events,
    count: (method: string) => events.filter((e) => e.method === method).length,
  };
}

/**
 * The SOAP calls vcsim served to clients with this User-Agent: what this test
 * caused, whatever other tests sharing the test bed do meanwhile.
 */
const callsBy = async (userAgent: string) => vcsimStats(vcsimFromEnv(), { userAgent });

/** Every session vCenter has, read through the SessionManager's sessionList. */
async function sessionList(admin: VimClient): Promise<UserSession[]> {
  const { sessionManager } = await admin.serviceContent();
  const values = await retrieveOne(admin, sessionManager!, ["sessionList"]);
  return (values["sessionList"] as UserSession[] | undefined) ?? [];
}

async function eventuallyTrue(check: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 5000; !(await check());) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

const rootName = async (client: VimClient) => {
  const { rootFolder } = await client.serviceContent();
  return (await retrieveOne(client, rootFolder, ["name"]))["name"];
};

describe("one session per client", () => {
  it("runs 50 concurrent calls in one session, logged in once", async () => {
    const { client: admin } = track();
    await admin.login();
    // The sessions of this test's client alone (other tests log in and out meanwhile).
    const userAgent = uniqueName("one-session");
    const mine = async () => (await sessionList(admin)).filter((s) => s.userAgent === userAgent);
    const before = await mine();

    const { client, count } = track({ userAgent });
    const names = await Promise.all(Array.from({ length: 50 }, () => rootName(client)));
    expect(new Set(names)).toEqual(new Set(["Datacenters"]));
    expect(count("Login")).toBe(1);

    const after = await mine();
    expect(after).toHaveLength(before.length + 1);
    expect(after.filter((s) => s.key === client.session?.key)).toHaveLength(1);
  });

  it("logs in again once when the session is terminated mid-run, and retries the call once", async () => {
    const { client: admin } = track();
    const { client, events, count } = track();
    await rootName(client);
    const first = client.session?.key;
    expect(first).toBeDefined();

    const { sessionManager } = await admin.serviceContent();
    await admin.call("TerminateSession", sessionManager!, { sessionId: [first] });
    expect((await sessionList(admin)).some((s) => s.key === first)).toBe(false);

    // Ten calls notice at once; one login serves them all.
    const names = await Promise.all(Array.from({ length: 10 }, () => rootName(client)));
    expect(names.every((n) => n === "Datacenters")).toBe(true);
    expect(count("Login")).toBe(2);
    expect(client.session?.key).not.toBe(first);
    expect(client.sessionGeneration).toBe(2);
    // Each call that met the dead session was retried exactly once.
    const refused = events.filter((e) => e.fault === "NotAuthenticated").length;
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(refused).toBeLessThanOrEqual(10);
    expect(count("RetrievePropertiesEx")).toBe(1 + 10 + refused);
  });

  it("gives InvalidLogin at once for a wrong password, with one login attempt however many calls", async () => {
    const userAgent = uniqueName("wrong-password");
    const before = (await callsBy(userAgent))["Login"] ?? 0;
    const { client, count } = track({ password: "wrong <password> & co", userAgent });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => rootName(client)));
    expect(
      results.every((r) => r.status === "rejected" && r.reason instanceof InvalidLoginError),
    ).toBe(true);
    // Later calls within the cooldown fail without asking vCenter again.
    await expect(rootName(client)).rejects.toBeInstanceOf(InvalidLoginError);
    expect(count("Login")).toBe(1);
    expect(((await callsBy(userAgent))["Login"] ?? 0) - before).toBe(1);
  });

  it("logs in again after the cooldown", async () => {
    const { client, count } = track({ password: "wrong", invalidLoginCooldownMs: 50 });
    await expect(client.login()).rejects.toBeInstanceOf(InvalidLoginError);
    await new Promise((r) => setTimeout(r, 60));
    await expect(client.login()).rejects.toBeInstanceOf(InvalidLoginError);
    expect(count("Login")).toBe(2);
  });

  it("after dropSession, logs in with the credentials its functions answer now, within the cooldown, and logs the old session out", async () => {
    const { client: admin } = track();
    const right = vcsimFromEnv();
    let password = "wrong";
    const { client, count } = track({
      username: () => right.username,
      password: () => password,
    });
    await expect(client.login()).rejects.toBeInstanceOf(InvalidLoginError);
    password = right.password;
    // Still in the cooldown: the new password is not tried until the session is dropped.
    await expect(client.login()).rejects.toBeInstanceOf(InvalidLoginError);
    client.dropSession();
    const first = await client.login();
    expect(count("Login")).toBe(2);
    client.dropSession();
    const second = await client.login();
    expect(second.key).not.toBe(first.key);
    await eventuallyTrue(async () => !(await sessionList(admin)).some((s) => s.key === first.key));
  });

  it("keeps an idle session alive", async () => {
    const { client, count } = track({ keepAliveMs: 100 });
    await client.login();
    await new Promise((r) => setTimeout(r, 350));
    expect(count("CurrentTime")).toBeGreaterThanOrEqual(1);
  });

  it("logs out on close once the session's calls in flight have answered, and takes no new ones meanwhile", async () => {
    const { client, events } = track();
    const { propertyCollector, rootFolder } = await client.serviceContent();
    const collector = await client.call<ManagedObjectReference>(
      "CreatePropertyCollector",
      propertyCollector,
    );
    await client.call("CreateFilter", collector, {
      spec: { propSet: [{ type: "Folder", pathSet: ["name"] }], objectSet: [{ obj: rootFolder }] },
      partialUpdates: false,
    });
    const first = await client.call<{ version: string }>("WaitForUpdatesEx", collector, {
      version: "",
      options: { maxWaitSeconds: 0 },
    });
    // Nothing changes: the server holds this one for a second.
    const waiting = client.call("WaitForUpdatesEx", collector, {
      version: first.version,
      options: { maxWaitSeconds: 1 },
    });
    await new Promise((r) => setTimeout(r, 100));
    const closed = client.close();
    await expect(rootName(client)).rejects.toThrow(/closed/);
    await closed;
    await expect(waiting).resolves.not.toBeInstanceOf(Error);
    const methods = events.map((e) => e.method);
    expect(methods.indexOf("Logout")).toBeGreaterThan(methods.lastIndexOf("WaitForUpdatesEx"));
  });

  it("logs out on close", async () => {
    const { client: admin } = track();
    const client = vcsimClient();
    await client.login();
    const key = client.session?.key;
    expect((await sessionList(admin)).some((s) => s.key === key)).toBe(true);
    await client.close();
    expect((await sessionList(admin)).some((s) => s.key === key)).toBe(false);
    await expect(rootName(client)).rejects.toThrow(/closed/);
  });
});

describe("the test bed's call counts", () => {
  it("counts a User-Agent's calls apart from every other client's", async () => {
    const [mine, other] = [uniqueName("counted"), uniqueName("other")];
    await track({ userAgent: other }).client.login();
    expect(await callsBy(mine)).toEqual({});
    await track({ userAgent: mine }).client.login();
    expect((await callsBy(mine))["Login"]).toBe(1);
    expect((await callsBy(other))["Login"]).toBe(1);
  });
});
