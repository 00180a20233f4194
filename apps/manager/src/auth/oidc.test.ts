import { expect, it } from "@jest/globals";
import { checkIssuerUrl } from "./oidc.js";

it("takes https issuers, and http only on a loopback address", () => {
  expect(checkIssuerUrl("https://login.example.com/realms/x").href).toBe(
    "https://login.example.com/realms/x",
  );
  expect(checkIssuerUrl("http://127.0.0.1:5556/dex").hostname).toBe("127.0.0.1");
  expect(checkIssuerUrl("http://[::1]:5556").hostname).toBe("[::1]");
  expect(() => checkIssuerUrl("http://login.example.com")).toThrow(
    "--oidc-issuer must be an https URL (http only on a loopback address)",
  );
  expect(() => checkIssuerUrl("http://10.0.0.1")).toThrow(/https/);
  expect(() => checkIssuerUrl("login.example.com")).toThrow("--oidc-issuer must be a URL");
});
