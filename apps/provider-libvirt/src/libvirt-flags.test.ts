import { describe, expect, it } from "@jest/globals";
import { ServeConfigError, createLogger } from "@virtrigaud/contracts";
import { libvirtOptionsFromFlags } from "./libvirt-flags.js";

const logger = createLogger({ level: "silent" });

describe("libvirtOptionsFromFlags", () => {
  it.each([
    [{ "default-network": "lan\nwan" }, /--default-network must not hold control characters/],
    [{ "storage-pool": "pool\u0000" }, /--storage-pool must not hold control characters/],
    [{ "scratch-dir": "tmp" }, /--scratch-dir must be an absolute path/],
    [{ "orphan-grace": "soon" }, /--orphan-grace: .* is not a duration/],
  ])("refuses %j at start", async (values, message) => {
    const error = await libvirtOptionsFromFlags(values, logger, {}).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ServeConfigError);
    expect((error as Error).message).toMatch(message);
  });

  it("takes the scratch directory and the grace", async () => {
    const options = await libvirtOptionsFromFlags(
      { "scratch-dir": "/var/tmp", "orphan-grace": "2m" },
      logger,
      {},
    );
    expect(options.orphans).toEqual({ graceMs: 120_000 });
    await options.host.close();
  });
});
