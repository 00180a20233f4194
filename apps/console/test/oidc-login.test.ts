import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, toJson } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createServiceClient } from "@virtrigaud/contracts/client";
import {
  ApplyRequestSchema,
  Kind,
  ManagerService,
  PowerState,
  ResourceSchema,
} from "@virtrigaud/proto/manager";
import type { Page } from "playwright-core";
import { type TestBrowser, startBrowser } from "./browser";
import { type TestIssuer, startTestIssuer } from "./oidc-issuer";
import { type ConsoleStack, startConsoleStack, stackManifest, tokens, vmManifest } from "./stack";

const screenshots = fileURLToPath(new URL("../test-results/", import.meta.url));
const admin = { headers: { authorization: `Bearer ${tokens.admin}` } };
const clientId = "virtrigaud-console";

/** The issuer's groups, bound to the built-in roles everywhere. */
const groupBindings = ["admin", "viewer"]
  .map(
    (role) => `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: oidc-${role}s}
subjects: [{kind: Group, name: virtrigaud-${role}s, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: ClusterRole, name: ${role}, apiGroup: rbac.authorization.k8s.io}
`,
  )
  .join("---\n");

describe("the web console's OIDC login, through a real issuer (oidc-provider) on 127.0.0.1", () => {
  const dir = mkdtempSync(join(tmpdir(), "console-oidc-"));
  let issuer: TestIssuer;
  let stack: ConsoleStack;
  let browser: TestBrowser;

  const loginButton = (page: Page) =>
    page.getByRole("button", { name: `Log in with ${new URL(issuer.url).host}` });
  /** Goes to the console, through the issuer's login and consent as `login`, and back. */
  const logInAs = async (page: Page, login: string) => {
    await page.goto(`${stack.manager.url}/console/`);
    await loginButton(page).click();
    await page.waitForURL(`${issuer.url}/**`);
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill("any password");
    await page.getByRole("button", { name: "Sign-in" }).click();
    await page.getByRole("button", { name: "Continue" }).click();
  };
  const user = (page: Page) => page.getByTestId("user");
  const stored = (page: Page): Promise<Record<string, string>> =>
    page.evaluate(() => ({ ...sessionStorage }));

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    issuer = await startTestIssuer({
      ada: { name: "Ada", groups: ["virtrigaud-admins"] },
      vera: { name: "Vera", groups: ["virtrigaud-viewers"] },
    });
    stack = await startConsoleStack(dir, {
      managerArgs: [
        "--oidc-issuer",
        issuer.url,
        "--oidc-audience",
        clientId,
        "--oidc-scopes",
        "openid profile groups",
      ],
    });
    issuer.serve(clientId, `${stack.manager.url}/console/oidc/callback`);
    await stack.vrtg(["apply", "-f", "-"], stackManifest(stack.mock.url, "default"));
    await stack.vrtg(
      ["apply", "-f", "-"],
      [groupBindings, vmManifest("web-1", "default", "web")].join("---\n"),
    );
    browser = await startBrowser();
    // oidc-provider's own pages load a web font: nothing leaves loopback.
    await browser.context.route(
      (url) => url.hostname !== "127.0.0.1",
      (route) => route.abort(),
    );
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await issuer?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("logs in through the issuer with a code, PKCE, state and nonce, lands on the fleet as the issuer's user, and logs out there too", async () => {
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    await page.goto(`${stack.manager.url}/console/`);
    await page.getByLabel("token").waitFor();
    await page.screenshot({ path: join(screenshots, "login-oidc.png") });
    const authorization = page.waitForRequest(`${issuer.url}/auth?**`);
    const exchange = page.waitForRequest(`${issuer.url}/token`);
    await logInAs(page, "ada");

    // The request the console sent the browser with: a code, PKCE S256, a state and a nonce.
    const asked = new URL((await authorization).url()).searchParams;
    expect(asked.get("response_type")).toBe("code");
    expect(asked.get("client_id")).toBe(clientId);
    expect(asked.get("redirect_uri")).toBe(`${stack.manager.url}/console/oidc/callback`);
    expect(asked.get("scope")).toBe("openid profile groups");
    expect(asked.get("code_challenge_method")).toBe("S256");
    expect(asked.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(asked.get("state")).toMatch(/^[\w-]{20,}$/);
    expect(asked.get("nonce")).toMatch(/^[\w-]{20,}$/);
    // The code redeemed by the browser with the verifier, and no secret.
    const redeemed = new URLSearchParams((await exchange).postData() ?? "");
    expect(redeemed.get("grant_type")).toBe("authorization_code");
    expect(redeemed.get("code_verifier")).toMatch(/^[\w-]{43,128}$/);
    expect(redeemed.has("client_secret")).toBe(false);

    // On the fleet, as the issuer's user, whose group may act.
    await expect(user(page).textContent()).resolves.toBe(`${issuer.url}#ada`);
    await page
      .locator('[data-vm="default/web-1"] [data-field="power"]', { hasText: "On" })
      .waitFor();
    expect(new URL(page.url()).pathname).toBe("/console/");
    expect(page.url()).not.toContain("code=");
    const session = await stored(page);
    expect(Object.keys(session)).toEqual(["virtrigaud.console.token"]);
    expect(session["virtrigaud.console.token"]?.split(".")).toHaveLength(3);
    await page.screenshot({ path: join(screenshots, "fleet-oidc.png") });
    await page.locator('[data-vm="default/web-1"]').click();
    await page.getByRole("button", { name: "Power off" }).waitFor();
    // No ID token in the manager's log.
    expect(JSON.stringify(stack.manager.logs)).not.toContain(session["virtrigaud.console.token"]);

    // Log out ends the issuer's session too (RP-initiated logout): the ID token as the hint.
    const ending = page.waitForRequest(`${issuer.url}/session/end?**`);
    await page.getByRole("button", { name: "Log out" }).click();
    const ended = new URL((await ending).url()).searchParams;
    expect(Object.fromEntries(ended)).toEqual({
      id_token_hint: session["virtrigaud.console.token"],
      client_id: clientId,
      post_logout_redirect_uri: `${stack.manager.url}/console/`,
    });
    await page.getByRole("button", { name: "Yes, sign me out" }).click();
    await loginButton(page).waitFor();
    expect(page.url()).toBe(`${stack.manager.url}/console/`);
    await expect(stored(page)).resolves.toEqual({});
    // The issuer's session is gone: logging in again asks who is there.
    await loginButton(page).click();
    await page.waitForURL(`${issuer.url}/**`);
    await page.locator('input[name="login"]').waitFor();
    await page.close();
  });

  it("applies the manager's access rules to the OIDC identity: a user of the viewer group sees no action, and forged ones are refused", async () => {
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    await logInAs(page, "vera");
    await expect(user(page).textContent()).resolves.toBe(`${issuer.url}#vera`);
    await page.locator('[data-vm="default/web-1"]').click();
    await page.getByText("Read only: your role may not change this VM.").waitFor();
    for (const name of ["Power on", "Power off", "Shut down", "Reboot", "Delete VM"])
      await expect(page.getByRole("button", { name }).count()).resolves.toBe(0);
    await page.screenshot({ path: join(screenshots, "vm-viewer-oidc.png"), fullPage: true });

    // An Apply made by hand with the viewer's ID token: PERMISSION_DENIED, nothing changed.
    const { resource } = await createServiceClient(ManagerService, stack.manager.url).get(
      { kind: Kind.VIRTUAL_MACHINE, namespace: "default", name: "web-1" },
      admin,
    );
    if (resource?.kind.case !== "virtualMachine") throw new Error("web-1 is no VM");
    const vm = resource.kind.value;
    if (vm.spec) vm.spec.powerState = PowerState.OFF;
    const body = JSON.stringify(
      toJson(
        ApplyRequestSchema,
        create(ApplyRequestSchema, {
          resource: create(ResourceSchema, { kind: { case: "virtualMachine", value: vm } }),
        }),
      ),
    );
    const forged = await page.evaluate(async (request) => {
      const response = await fetch("/virtrigaud.manager.v1.ManagerService/Apply", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${sessionStorage.getItem("virtrigaud.console.token") ?? ""}`,
        },
        body: request,
      });
      return { status: response.status, body: (await response.json()) as { code?: string } };
    }, body);
    expect(forged).toEqual({
      status: 403,
      body: expect.objectContaining({ code: "permission_denied" }),
    });
    await page.close();
  });

  it("refuses the issuer's answer when its state was tampered with, and tries an answer once only", async () => {
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    // The issuer's answer (a redirect that routes cannot stop), held back
    // before the browser follows it: the consent is sent, and the redirects
    // after it followed, by the test, with the browser's cookies.
    const interaction = (url: URL) =>
      url.origin === issuer.url && url.pathname.startsWith("/interaction/");
    const callbackUrl = new Promise<string>((resolve, reject) => {
      void page.route(interaction, async (route) => {
        if (!route.request().postData()?.includes("prompt=consent")) return route.fallback();
        try {
          let answer = await route.fetch({ maxRedirects: 0 });
          let location = answer.headers()["location"] ?? "";
          while (!location.startsWith(stack.manager.url)) {
            answer = await page.request.get(new URL(location, issuer.url).href, {
              maxRedirects: 0,
            });
            location = answer.headers()["location"] ?? "";
          }
          resolve(location);
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
        await route.fulfill({ body: "held back" });
      });
    });
    await logInAs(page, "ada");
    const genuine = new URL(await callbackUrl);
    await page.unroute(interaction);
    expect(genuine.searchParams.get("code")).toBeTruthy();

    const tampered = new URL(genuine);
    tampered.searchParams.set("state", "forged-state");
    await page.goto(tampered.href);
    await page
      .getByText("The issuer's answer does not belong to the login this tab started")
      .waitFor();
    expect(new URL(page.url()).search).toBe("");
    await expect(stored(page)).resolves.toEqual({});
    await page.screenshot({ path: join(screenshots, "login-oidc-refused.png") });

    // The genuine answer after it: the login it belonged to is over.
    await page.goto(genuine.href);
    await page.getByText("This tab has no login waiting for the issuer's answer").waitFor();
    await expect(stored(page)).resolves.toEqual({});
    await page.getByRole("link", { name: "Back to the login" }).click();
    await loginButton(page).waitFor();
    await page.close();
  });

  it("sends the user back to the login when the ID token expires", async () => {
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    await page.clock.install();
    await logInAs(page, "ada");
    await expect(user(page).textContent()).resolves.toBe(`${issuer.url}#ada`);
    // oidc-provider's ID tokens last an hour.
    await page.clock.fastForward("01:00:05");
    await page.getByText("Your session has ended: log in again.").waitFor();
    await loginButton(page).waitFor();
    await expect(stored(page)).resolves.toEqual({});
    await page.close();
  });
});
