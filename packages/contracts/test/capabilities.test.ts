import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  CloneType,
  ConsoleKind,
  ErrorReason,
  Firmware,
  ImageFormat,
  ImageSourceKind,
  PowerOperation,
  ProviderError,
  ServeConfigError,
  createLogger,
  serveProvider,
} from "../src/index.js";
import { type TestServer, startTestServer } from "../src/testing/index.js";
import { stubProvider } from "./stub-provider.js";

const quiet = {
  listen: "127.0.0.1:0",
  opsListen: false as const,
  insecure: true,
  handleSignals: false,
  logger: createLogger({ level: "silent" }),
};

describe("start-up", () => {
  it("refuses a provider that declares a capability it does not implement", async () => {
    const liar = stubProvider({
      getCapabilities: () =>
        Promise.resolve({ capabilities: { snapshots: true, imagePrepare: true } }),
    });
    const start = serveProvider(liar, quiet);
    await expect(start).rejects.toThrow(ServeConfigError);
    await expect(serveProvider(liar, quiet)).rejects.toThrow(
      /declare snapshotCreate .*imagePrepare/s,
    );
  });

  it("refuses disk export from snapshots declared without snapshots or export formats", async () => {
    const liar = stubProvider({
      getCapabilities: () => Promise.resolve({ capabilities: { diskExportFromSnapshot: true } }),
    });
    await expect(serveProvider(liar, quiet)).rejects.toThrow(
      /disk_export_from_snapshot is declared without snapshots.*without disk_export_formats/s,
    );
  });

  it("refuses changed ranges and rewrites declared without snapshots, RAW or import formats", async () => {
    const liar = stubProvider({
      getCapabilities: () =>
        Promise.resolve({
          capabilities: { diskExportChangedRanges: true, diskImportRewrites: true },
        }),
    });
    await expect(serveProvider(liar, quiet)).rejects.toThrow(
      /disk_export_changed_ranges is declared without snapshots or a RAW export format.*disk_import_rewrites is declared without disk_import_formats/s,
    );
  });

  it("refuses declared disk formats whose methods are missing", async () => {
    const liar = stubProvider({
      getCapabilities: () =>
        Promise.resolve({
          capabilities: {
            diskExportFormats: [ImageFormat.RAW],
            diskImportFormats: [ImageFormat.QCOW2],
          },
        }),
    });
    await expect(serveProvider(liar, quiet)).rejects.toThrow(
      /declare describeDisks .*diskExportRead.*diskImportWrite/s,
    );
  });

  it("refuses console kinds declared without a console method", async () => {
    const liar = stubProvider({
      getCapabilities: () =>
        Promise.resolve({ capabilities: { consoleKinds: [ConsoleKind.SERIAL] } }),
    });
    await expect(serveProvider(liar, quiet)).rejects.toThrow(
      /declare console_kinds but the provider does not implement console/,
    );
  });

  it("refuses memory snapshots declared without snapshots", async () => {
    const liar = stubProvider({
      getCapabilities: () => Promise.resolve({ capabilities: { memorySnapshots: true } }),
    });
    await expect(serveProvider(liar, quiet)).rejects.toThrow(
      /memory_snapshots is declared without snapshots/,
    );
  });
});

describe("a provider that declares little", () => {
  let test: TestServer;
  let calls = 0;
  beforeAll(async () => {
    // Implements snapshots and clones but declares only full clones, BIOS and templates.
    const count = () => {
      calls++;
      return Promise.resolve({});
    };
    test = await startTestServer(
      stubProvider({
        getCapabilities: () =>
          Promise.resolve({
            capabilities: {
              fullClones: true,
              firmwareTypes: [Firmware.BIOS],
              imageSources: [ImageSourceKind.TEMPLATE],
            },
          }),
        snapshotCreate: count,
        snapshotList: count,
        clone: count,
        create: count,
        power: count,
      }),
    );
  });
  afterAll(() => test.close());

  async function unsupported(call: Promise<unknown>): Promise<string> {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(ProviderError.is(error, ErrorReason.UNSUPPORTED)).toBe(true);
    return (error as ProviderError).rawMessage;
  }

  it("answers UNSUPPORTED for undeclared RPCs without calling the provider", async () => {
    const before = calls;
    expect(await unsupported(test.client.snapshotList({ vmId: "vm-1" }))).toMatch(/snapshotList/);
    expect(
      await unsupported(
        test.client.imagePrepare({
          name: "img",
          source: { source: { case: "template", value: "t" } },
        }),
      ),
    ).toMatch(/imagePrepare/);
    expect(await unsupported(test.client.describeDisks({ vmId: "vm-1" }))).toMatch(/describeDisks/);
    expect(
      await unsupported(
        test.client.diskImportWrite({
          importId: "i-1",
          chunk: { offset: 0n, content: { case: "data", value: new Uint8Array(4) } },
        }),
      ),
    ).toMatch(/diskImportWrite/);
    expect(calls).toBe(before);
  });

  it("answers UNSUPPORTED for undeclared options of declared RPCs", async () => {
    expect(
      await unsupported(
        test.client.clone({ sourceVmId: "vm-1", name: "c", type: CloneType.LINKED }),
      ),
    ).toMatch(/linked clones/);
    expect(
      await unsupported(test.client.power({ vmId: "vm-1", operation: PowerOperation.SUSPEND })),
    ).toMatch(/suspend/);
    expect(
      await unsupported(
        test.client.create({
          name: "a",
          class: { cpu: 1, memoryMib: 512, firmware: Firmware.UEFI },
        }),
      ),
    ).toMatch(/firmware FIRMWARE_UEFI/);
    expect(
      await unsupported(
        test.client.create({
          name: "a",
          class: { cpu: 1, memoryMib: 512 },
          image: { source: { case: "path", value: "/images/a.qcow2" } },
        }),
      ),
    ).toMatch(/images from a path/);
    expect(
      await unsupported(
        test.client.create({
          name: "a",
          class: { cpu: 1, memoryMib: 512 },
          disks: [
            {
              name: "data",
              sizeGib: 1,
              source: { source: { case: "importedDisk", value: "i-1" } },
            },
          ],
        }),
      ),
    ).toMatch(/imported disks/);
  });

  it("passes declared RPCs and options through", async () => {
    const before = calls;
    await test.client.clone({ sourceVmId: "vm-1", name: "c", type: CloneType.FULL });
    await test.client.power({ vmId: "vm-1", operation: PowerOperation.ON });
    await test.client.create({
      name: "a",
      class: { cpu: 1, memoryMib: 512, firmware: Firmware.BIOS },
    });
    expect(calls).toBe(before + 3);
  });

  it("answers GetCapabilities from what was read at start", async () => {
    const { capabilities } = await test.client.getCapabilities({});
    expect(capabilities?.fullClones).toBe(true);
    expect(capabilities?.snapshots).toBe(false);
  });
});

describe("start-up with a provider that does not answer", () => {
  it("gives up on getCapabilities after the probe timeout", async () => {
    const stuck = stubProvider({ getCapabilities: () => new Promise(() => {}) });
    const started = Date.now();
    await expect(serveProvider(stuck, { ...quiet, healthCheckTimeoutMs: 100 })).rejects.toThrow(
      /getCapabilities failed/,
    );
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
