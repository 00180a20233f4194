import { Writable } from "node:stream";
import { expect, it } from "@jest/globals";
import { Secret } from "../credentials/secret.js";
import { createLogger } from "./create-logger.js";

it("writes JSON lines with level names and redacts secret fields at any of three depths", () => {
  let output = "";
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      output += chunk.toString();
      done();
    },
  });
  const logger = createLogger({ name: "svc", destination });
  logger.info(
    {
      password: "a1",
      request: { token: "a2", cloudInit: { userData: "a3" } },
      deep: { er: { authorization: "a4" } },
      credential: new Secret("a5"),
      vm: "web-1",
    },
    "hello",
  );
  const line = JSON.parse(output.trim()) as Record<string, unknown>;
  expect(line).toMatchObject({
    level: "info",
    name: "svc",
    msg: "hello",
    vm: "web-1",
    password: "[redacted]",
  });
  expect(output).not.toMatch(/a[1-5]/);
});
