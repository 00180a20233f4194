import { isIP } from "node:net";
import type { DescMessage } from "@bufbuild/protobuf";
import {
  type Checksum,
  ChecksumAlgorithm,
  ChecksumSchema,
  type CreateRequest,
  CreateRequestSchema,
  type ReconfigureRequest,
  ReconfigureRequestSchema,
  type StaticIpConfig,
  StaticIpConfigSchema,
} from "@virtrigaud/proto";
import { quote } from "../clip.js";
import { codePointLength } from "./formats.js";

/** A broken rule: the field path relative to the message, and what is wrong. */
export interface Violation {
  field: string;
  message: string;
}

/** A rule spanning several fields of one message, which field options cannot say. */
type MessageRule = (message: never) => Violation | undefined;

const checksumLength: Record<ChecksumAlgorithm, number> = {
  [ChecksumAlgorithm.UNSPECIFIED]: 0,
  [ChecksumAlgorithm.SHA256]: 64,
  [ChecksumAlgorithm.SHA512]: 128,
};

function checksum(m: Checksum): Violation | undefined {
  const want = checksumLength[m.algorithm];
  if (want && m.value.length !== want) {
    return { field: "value", message: `must be ${want} hex digits for this algorithm` };
  }
  return undefined;
}

function staticIp(m: StaticIpConfig): Violation | undefined {
  const family = isIP(m.address);
  if (family === 4 && m.prefixLength > 32) {
    return { field: "prefix_length", message: "must be at most 32 for an IPv4 address" };
  }
  if (m.gateway && isIP(m.gateway) !== family) {
    return { field: "gateway", message: "must be of the same IP version as the address" };
  }
  return undefined;
}

function uniqueNames(items: ReadonlyArray<{ name: string }>, list: string): Violation | undefined {
  const seen = new Set<string>();
  for (const [i, { name }] of items.entries()) {
    if (seen.has(name))
      return { field: `${list}[${i}].name`, message: `repeats the name ${quote(name)}` };
    seen.add(name);
  }
  return undefined;
}

const printable = /^[^\p{Cc}]*$/u;

function createRequest(m: CreateRequest): Violation | undefined {
  const root = m.disks.findIndex((d) => d.name === "root");
  if (root >= 0)
    return { field: `disks[${root}].name`, message: '"root" is the boot disk\'s name' };
  const disks = uniqueNames(m.disks, "disks");
  if (disks) return disks;
  for (const [key, value] of Object.entries(m.labels)) {
    const field = `labels[${quote(key)}]`;
    if (!key || codePointLength(key) > 256 || !printable.test(key)) {
      return { field, message: "label keys must be 1 to 256 printable characters" };
    }
    if (codePointLength(value) > 256 || !printable.test(value)) {
      return { field, message: "label values must be at most 256 printable characters" };
    }
  }
  return undefined;
}

function reconfigureRequest(m: ReconfigureRequest): Violation | undefined {
  return uniqueNames(m.disks, "disks");
}

/** Cross-field rules, by message type. */
export const messageRules: ReadonlyMap<string, MessageRule> = new Map<
  DescMessage["typeName"],
  MessageRule
>([
  [ChecksumSchema.typeName, checksum],
  [StaticIpConfigSchema.typeName, staticIp],
  [CreateRequestSchema.typeName, createRequest],
  [ReconfigureRequestSchema.typeName, reconfigureRequest],
]);
