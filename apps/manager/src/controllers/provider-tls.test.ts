import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "@jest/globals";
import { create } from "@bufbuild/protobuf";
import { ErrorReason } from "@virtrigaud/contracts";
import { ProviderTlsSchema } from "@virtrigaud/proto/manager";
import { loadProviderTls } from "./provider-tls.js";

const dir = mkdtempSync(join(tmpdir(), "provider-tls-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const inside = join(dir, "ca.crt");
writeFileSync(inside, "not a certificate\n");
const load = (caFile: string, tlsDir: string | undefined) => () =>
  loadProviderTls(create(ProviderTlsSchema, { caFile }), (option) => option, tlsDir);

it("reads no Provider TLS file when the manager names no directory for them", () => {
  expect(load(inside, undefined)).toThrow(
    expect.objectContaining({
      reason: ErrorReason.INVALID_SPEC,
      field: "caFile",
      rawMessage: `"${inside}" cannot be read: the manager reads provider TLS files only from a directory its operator names (--provider-tls-dir), and none is set`,
    }),
  );
});

it("reads only inside the directory, and says when the directory is missing", () => {
  expect(load("/etc/hostname", dir)).toThrow(
    expect.objectContaining({
      rawMessage: `"/etc/hostname" is outside "${dir}", the only directory the manager reads provider TLS files from`,
    }),
  );
  expect(load(`${dir}/../${dir.split("/").pop()}-other/x.crt`, dir)).toThrow(
    expect.objectContaining({ field: "caFile" }),
  );
  expect(load(inside, join(dir, "missing"))).toThrow(
    expect.objectContaining({
      rawMessage: expect.stringMatching(/--provider-tls-dir .* does not exist$/),
    }),
  );
  // Inside, it is read, and judged for what it holds.
  expect(load(inside, dir)).toThrow(
    expect.objectContaining({ rawMessage: expect.stringMatching(/holds no PEM certificate$/) }),
  );
});
