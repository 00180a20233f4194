import { afterAll, afterEach, beforeAll, expect, it } from "@jest/globals";
import { create } from "@bufbuild/protobuf";
import { IpAddressSchema, IpSource, PowerState, type VirtualMachine } from "@virtrigaud/contracts";
import type { ProviderProcess } from "@virtrigaud/contracts/testing";
import { type ConformanceReport, runConformance } from "../src/index.js";
import { type Lies, type LyingProxy, startLyingProxy } from "./lying-proxy.js";
import { startMock } from "./mock-process.js";

// ListVMs and Describe report the same facts of a VM: each provider below
// (provider-mock, lying through a fault of its own or through a proxy in
// front of it) breaks that for one fact, and the agreement profile must
// fail it, naming the fact and what each RPC said. Providers whose facts
// legitimately move (addresses that appear while a guest boots) must pass.

// One honest provider-mock behind every proxy (each run has its own name
// prefix); a provider-mock of its own for each fault.
let honest: ProviderProcess;
let faulty: ProviderProcess | undefined;
let proxy: LyingProxy | undefined;
beforeAll(async () => {
  honest = await startMock();
});
afterAll(() => honest.stop());
afterEach(async () => {
  await proxy?.close();
  await faulty?.stop();
  proxy = undefined;
  faulty = undefined;
});

async function runAgreement(options: { fault?: string; lies?: Lies }): Promise<ConformanceReport> {
  let endpoint = honest.url;
  if (options.fault) {
    faulty = await startMock(["--fault", options.fault]);
    endpoint = faulty.url;
  }
  if (options.lies) {
    proxy = await startLyingProxy(endpoint, options.lies);
    endpoint = proxy.url;
  }
  return runConformance({
    endpoint,
    insecure: true,
    profiles: ["agreement"],
    network: "default",
    caseTimeoutMs: 30_000,
    settleMs: 1000,
  });
}

function failed(report: ConformanceReport) {
  return Object.fromEntries(
    report.cases.filter((c) => c.status === "failed").map((c) => [c.id, c.error]),
  );
}

/** A lie ListVMs tells about every VM, Describe telling the truth. */
function listVMsSays(change: (vm: VirtualMachine) => void): Lies {
  return {
    report(vm, by) {
      if (by === "listVMs") change(vm);
      return vm;
    },
  };
}

const address = String.raw`\d+\.\d+\.\d+\.\d+`;

it("passes provider-mock, whose ListVMs and Describe agree", async () => {
  const report = await runAgreement({});
  expect(failed(report)).toEqual({});
  expect(report.ok).toBe(true);
  // The running VM's guest address was among the facts compared.
  const running = report.cases.find((c) => c.id === "agreement/power-states");
  expect(running?.log.join("\n")).toMatch(new RegExp(`running: .*agree \\(${address} GUEST_AGENT`));
});

it.each<[string, { fault?: string; lies?: Lies }, string, RegExp]>([
  [
    "the power state (a fault of provider-mock's ListVMs)",
    { fault: "listVMs:lie-power-state" },
    "agreement/stopped",
    /^off: ListVMs and Describe disagree on power_state: ListVMs says ON, Describe says OFF \(\d+ readings/,
  ],
  [
    "the CPU count",
    { lies: listVMsSays((vm) => vm.resources && (vm.resources.cpu += 1)) },
    "agreement/stopped",
    /^off: ListVMs and Describe disagree on resources\.cpu: ListVMs says 2, Describe says 1 /,
  ],
  [
    "the memory",
    { lies: listVMsSays((vm) => vm.resources && (vm.resources.memoryMib *= 2)) },
    "agreement/stopped",
    /disagree on resources\.memory_mib: ListVMs says 512, Describe says 256 /,
  ],
  [
    "a disk's size",
    {
      lies: listVMsSays((vm) => {
        const data = vm.resources?.disks.find((d) => d.name === "data");
        if (data) data.sizeGib += 1;
      }),
    },
    "agreement/stopped",
    /disagree on resources\.disks: ListVMs says \[.*\{"name":"data","size_gib":2,.*\}\], Describe says \[.*\{"name":"data","size_gib":1,/,
  ],
  [
    "a NIC's MAC",
    {
      lies: listVMsSays((vm) => {
        for (const nic of vm.resources?.networkInterfaces ?? [])
          nic.macAddress = "02:00:00:00:00:01";
      }),
    },
    "agreement/stopped",
    /disagree on resources\.network_interfaces: ListVMs says \[\{"network":"default",.*"mac_address":"02:00:00:00:00:01"\}\], Describe says \[\{.*"mac_address":"(?!02:00:00:00:00:01)/,
  ],
  [
    "the addresses (a fault of provider-mock's ListVMs)",
    { fault: "listVMs:no-ip" },
    "agreement/power-states",
    new RegExp(
      `^running: ListVMs and Describe disagree on ip_addresses: ListVMs says \\[\\], Describe says \\["${address}"\\]`,
    ),
  ],
  [
    "an address's source",
    {
      lies: listVMsSays((vm) => {
        for (const ip of vm.ipAddresses) ip.source = IpSource.DHCP_LEASE;
      }),
    },
    "agreement/power-states",
    new RegExp(
      `^running: ListVMs and Describe disagree on ip_addresses\\[${address}\\]\\.source: ListVMs says DHCP_LEASE, Describe says GUEST_AGENT \\(`,
    ),
  ],
  [
    "an address's MAC",
    {
      lies: listVMsSays((vm) => {
        for (const ip of vm.ipAddresses) ip.macAddress = "02:00:00:00:00:02";
      }),
    },
    "agreement/power-states",
    new RegExp(
      `disagree on ip_addresses\\[${address}\\]\\.mac_address: ListVMs says "02:00:00:00:00:02", Describe says "[0-9a-f:]{17}"`,
    ),
  ],
  [
    "the labels",
    { lies: listVMsSays((vm) => (vm.labels["tier"] = "db")) },
    "agreement/stopped",
    /disagree on labels: ListVMs says \{"role":"agreement","tier":"db"\}, Describe says \{"role":"agreement","tier":"web"\}/,
  ],
  [
    "the tags",
    { lies: listVMsSays((vm) => vm.tags.reverse()) },
    "agreement/stopped",
    /disagree on tags: ListVMs says \["agreement","vcts"\], Describe says \["vcts","agreement"\]/,
  ],
  [
    "the name",
    { lies: listVMsSays((vm) => (vm.name = `${vm.name}-listed`)) },
    "agreement/stopped",
    /disagree on name: ListVMs says "vcts-[0-9a-f]{6}-stopped-stopped-1-listed", Describe says "vcts-[0-9a-f]{6}-stopped-stopped-1"/,
  ],
  [
    "whether the VM exists",
    { lies: { report: (vm, by) => (by === "listVMs" ? undefined : vm) } },
    "agreement/stopped",
    /^off: Describe finds \S+ \("vcts-[^"]+"\) but ListVMs with that name as prefix does not list it/,
  ],
])(
  "fails a provider whose ListVMs and Describe disagree on %s",
  async (_, provider, caseId, message) => {
    const report = await runAgreement(provider);
    expect(report.ok).toBe(false);
    expect(failed(report)[caseId]).toMatch(message);
  },
);

it("fails a provider whose Describe never holds still, saying what moved", async () => {
  let cpu = 0;
  const report = await runAgreement({
    lies: {
      report(vm, by) {
        if (by === "describe" && vm.resources) vm.resources.cpu = 1 + (cpu++ % 2);
        return vm;
      },
    },
  });
  expect(failed(report)["agreement/stopped"]).toMatch(
    /^off: the VM did not hold still: two Describes in a row differ on resources\.cpu: the first says [12], the second says [12] \(\d+ readings over 1 s\)/,
  );
});

it("passes a provider whose addresses change mid-check, by reading again", async () => {
  // A running VM gains a second address (an IPv6 one, after its IPv4 lease)
  // the moment ListVMs first lists it, and both RPCs report it from then on:
  // the check's first Describe has one address, ListVMs and the second
  // Describe have two. Honest, and it must pass.
  const gained = new Set<string>();
  const report = await runAgreement({
    lies: {
      report(vm, by) {
        if (vm.powerState !== PowerState.ON) return vm;
        if (by === "listVMs") gained.add(vm.id);
        if (gained.has(vm.id)) {
          const mac = vm.ipAddresses[0]?.macAddress ?? "";
          vm.ipAddresses.push(
            create(IpAddressSchema, {
              address: "2001:db8::7",
              source: IpSource.GUEST_AGENT,
              macAddress: mac,
            }),
          );
        }
        return vm;
      },
    },
  });
  expect(failed(report)).toEqual({});
  const running = (report.cases.find((c) => c.id === "agreement/power-states")?.log ?? []).join(
    "\n",
  );
  expect(running).toMatch(
    new RegExp(
      `running: reading 1: the VM did not hold still: two Describes in a row differ on ip_addresses: the first says \\["${address}"\\], the second says \\["${address}","2001:db8::7"\\]; reading again`,
    ),
  );
  expect(running).toMatch(
    new RegExp(
      `running: ListVMs and Describe agree \\(${address} GUEST_AGENT \\S+, 2001:db8::7 GUEST_AGENT`,
    ),
  );
});
