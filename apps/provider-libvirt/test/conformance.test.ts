// vcts against the provider as a real process (the built binary), reaching the
// test bed's libvirtd over its sshd, with every capability the provider declares.
import { existsSync } from "node:fs";
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll } from "@jest/globals";
import { describeConformance } from "@virtrigaud/conformance/jest";
import { type ProviderProcess, startProviderProcess } from "@virtrigaud/contracts/testing";
import { removeDomains, repoRoot, testbed, virsh } from "./testbed.js";
import { blankImage, testPool } from "./use-provider.js";
import { libvirtHostFlags, libvirtTestbed } from "@virtrigaud/testbed";

const providerMain = join(repoRoot, "apps/provider-libvirt/dist/main.js");
let provider: ProviderProcess | undefined;
let image = "";

beforeAll(async () => {
  if (!existsSync(providerMain)) {
    throw new Error(
      `${providerMain} is missing: build first (npx tsc -b apps/provider-libvirt/tsconfig.lib.json)`,
    );
  }
  await removeDomains("vcts-");
  image = await blankImage("vcts-base", 64);
  // A template in the pool, so Create and ImagePrepare from templates are tested too.
  await copyFile(image, `${testbed().poolDir}/vcts-template.qcow2`);
  await virsh("pool-refresh", "--pool", testPool).catch(() => "");
  provider = await startProviderProcess({
    args: [
      providerMain,
      "--listen",
      "127.0.0.1:0",
      "--ops-listen",
      "off",
      "--insecure",
      ...libvirtHostFlags(libvirtTestbed()),
      "--storage-pool",
      testPool,
      "--create-pool-dir",
      testbed().poolDir,
      "--shutdown-timeout",
      "5s",
    ],
  });
}, 60_000);

afterAll(async () => {
  await provider?.stop();
});

describeConformance(
  "vcts: the libvirt provider over SSH",
  () => ({
    endpoint: provider?.url ?? "",
    insecure: true,
    image: "template:vcts-template",
    network: testbed().network,
    imagePath: image,
    settleMs: 20_000,
  }),
  { caseTimeoutMs: 3 * 60_000 },
);
