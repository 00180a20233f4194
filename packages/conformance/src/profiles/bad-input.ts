import { create } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { DiskSpecSchema, ErrorReason, PowerOperation, ProviderError } from "@virtrigaud/contracts";
import { CaseFailure } from "../suite/types.js";
import { checkEqual, expectReason, expectSuccess } from "../suite/checks.js";
import type { CaseContext, ConformanceCase, Profile } from "../suite/types.js";

export const badInputProfile: Profile = {
  name: "bad-input",
  description:
    "Zero CPU, memory and disk sizes, negative sizes, empty, huge and hostile names, unknown ids, malformed task refs: INVALID_SPEC or NOT_FOUND, and nothing made; empty credentials refused without harm",
  declared: () => true,
};

const INVALID = [ErrorReason.INVALID_SPEC];
const INVALID_OR_NOT_FOUND = [ErrorReason.INVALID_SPEC, ErrorReason.NOT_FOUND];

/** Checks that no VM whose name starts with `prefix` exists. */
async function noTrace(t: CaseContext, prefix: string, what: string) {
  const { vms } = await expectSuccess(
    t.client.listVMs({ namePrefix: prefix }, { signal: t.signal }),
    "ListVMs",
  );
  if (vms.length) {
    throw new CaseFailure(
      `${what} left VMs behind: ${vms.map((v) => JSON.stringify(v.name)).join(", ")}`,
    );
  }
}

/** Creates with a bad request, expecting INVALID_SPEC naming `field`, and that nothing was made. */
async function refused(
  t: CaseContext,
  what: string,
  request: Parameters<CaseContext["client"]["create"]>[0],
  field: string,
) {
  const error = await expectReason(t.client.create(request, { signal: t.signal }), INVALID, what);
  checkEqual(error.field, field, `the field the error for ${what} names`);
}

/** A negative number where the contract has an unsigned one: the 10-byte varint of -1 as an int64. */
const negativeVarint = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);

export const badInputCases: ConformanceCase[] = [
  {
    id: "bad-input/sizes",
    profile: "bad-input",
    title:
      "CPU 0, memory 0, and zero or negative disk sizes are INVALID_SPEC naming the field; nothing is made",
    async run(t) {
      const prefix = t.name("sizes");
      await refused(
        t,
        "cpu 0",
        t.vmRequest(`${prefix}-cpu`, { class: { cpu: 0, memoryMib: 256 } }),
        "class.cpu",
      );
      await refused(
        t,
        "memory 0",
        t.vmRequest(`${prefix}-mem`, { class: { cpu: 1, memoryMib: 0 } }),
        "class.memory_mib",
      );
      await refused(
        t,
        "a disk of 0 GiB",
        t.vmRequest(`${prefix}-disk0`, { disks: [{ name: "data", sizeGib: 0 }] }),
        "disks[0].size_gib",
      );
      // size_gib is unsigned: a negative value can only arrive as a negative varint, which
      // decodes to 2^32-1 at the server. Sent as the raw field, so it reaches the server
      // whatever the client library makes of negative numbers.
      const negative = create(DiskSpecSchema, { name: "data" });
      negative.$unknown = [{ no: 2, wireType: WireType.Varint, data: negativeVarint }];
      await refused(
        t,
        "a disk of -1 GiB",
        t.vmRequest(`${prefix}-diskneg`, { disks: [negative] }),
        "disks[0].size_gib",
      );
      await noTrace(t, prefix, "requests with bad sizes");
    },
  },
  {
    id: "bad-input/names",
    profile: "bad-input",
    title:
      "Empty, 10,000-character and hostile names are INVALID_SPEC naming the field; nothing is made",
    async run(t) {
      const prefix = t.name("names");
      await refused(t, "an empty name", t.vmRequest(""), "name");
      const hostile: Array<[string, string]> = [
        ["a 10,000-character name", `${prefix}-${"x".repeat(10_000)}`],
        ["a name with ;", `${prefix}-a;reboot`],
        ["a name with $( )", `${prefix}-$(touch vcts-pwned)`],
        ["a name with backticks", `${prefix}-\`id\``],
        ["a name with a single quote", `${prefix}-it's`],
        ["a name with a double quote", `${prefix}-say"hi"`],
        ["a name with <", `${prefix}-<domain>`],
        ["a name with &", `${prefix}-a&b`],
        ["a name with a newline", `${prefix}-line\nbreak`],
        ["a name with unicode", `${prefix}-ünïcödé-名前`],
        ["a name with a space", `${prefix}-two words`],
        ["a name with a slash", `${prefix}-../etc`],
      ];
      for (const [what, name] of hostile) await refused(t, what, t.vmRequest(name), "name");
      await noTrace(t, prefix, "requests with hostile names");
    },
  },
  {
    id: "bad-input/unknown-ids",
    profile: "bad-input",
    title:
      "Unknown and malformed VM ids answer NOT_FOUND or INVALID_SPEC; Describe says they do not exist",
    async run(t) {
      for (const vmId of [`${t.name("unknown")}-id`, "vm;reboot", "$(id)", "x".repeat(300), ""]) {
        const what = `a VM id of ${JSON.stringify(vmId.slice(0, 40))}`;
        await expectReason(
          t.client.power({ vmId, operation: PowerOperation.ON }, { signal: t.signal }),
          INVALID_OR_NOT_FOUND,
          `Power with ${what}`,
        );
        await expectReason(
          t.client.reconfigure({ vmId, cpu: 2 }, { signal: t.signal }),
          INVALID_OR_NOT_FOUND,
          `Reconfigure with ${what}`,
        );
        const described = await t.client
          .describe({ vmId }, { signal: t.signal })
          .catch((e: unknown) => ProviderError.from(e));
        if (described instanceof ProviderError) {
          await expectReason(
            Promise.reject(described),
            INVALID_OR_NOT_FOUND,
            `Describe with ${what}`,
          );
        } else if (described.exists) {
          throw new CaseFailure(`Describe with ${what} says the VM exists`);
        }
      }
    },
  },
  {
    id: "bad-input/task-refs",
    profile: "bad-input",
    title: "Malformed task references answer INVALID_SPEC or NOT_FOUND",
    async run(t) {
      for (const id of [
        "",
        "task with spaces",
        "../../etc/passwd",
        "t".repeat(300),
        "line\nbreak",
        "<task/>",
      ]) {
        await expectReason(
          t.client.getTask({ task: { id } }, { signal: t.signal }),
          INVALID_OR_NOT_FOUND,
          `GetTask ${JSON.stringify(id.slice(0, 40))}`,
        );
      }
      await expectReason(
        t.client.getTask({}, { signal: t.signal }),
        INVALID,
        "GetTask without a task",
      );
    },
  },
  {
    id: "bad-input/empty-credentials",
    profile: "bad-input",
    title:
      "SetCredentials with no data answers UNSUPPORTED, INVALID_SPEC or CONFLICT, and leaves the provider working",
    async run(t) {
      await expectReason(
        t.client.setCredentials({ data: {} }, { signal: t.signal }),
        [ErrorReason.UNSUPPORTED, ErrorReason.INVALID_SPEC, ErrorReason.CONFLICT],
        "SetCredentials with no data",
      );
      await expectSuccess(
        t.client.validate({}, { signal: t.signal }),
        "Validate after SetCredentials with no data",
      );
    },
  },
];
