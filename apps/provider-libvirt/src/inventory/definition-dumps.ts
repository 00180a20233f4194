import { virshCommand, virshQuote } from "../host/shell-quote.js";

/**
 * How a listing reads definitions: `virsh dumpxml` of many domains from one
 * virsh process, in parts run at once (libvirtd answers each virsh process
 * on its own worker, so two parts take about half the time where it has the
 * cores). The definitions come one after the other with no marker between
 * them (a marker costs virsh a command each); the part ends with a random
 * marker so that a virsh that stopped early is told from domains that
 * vanished in the meantime (whose errors go to standard error).
 */

/**
 * Linux takes at most 128 KiB in one argument; a dumpxml command with its
 * quoted UUID is 58 bytes.
 */
const maxPerPart = 1000;
/** Fewer domains than this are one part: a second virsh costs its connection. */
const minPerPart = 50;

/** The domains' UUIDs in parts of the sizes above: two for a listing of 100 to 2,000. */
export function dumpParts(uuids: readonly string[]): string[][] {
  const size = Math.min(maxPerPart, Math.max(minPerPart, Math.ceil(uuids.length / 2)));
  const parts: string[][] = [];
  for (let i = 0; i < uuids.length; i += size) parts.push(uuids.slice(i, i + size));
  return parts;
}

/** The virsh command string of one part: each domain's dumpxml, every value quoted, then the marker. */
export function dumpCommand(uuids: readonly string[], marker: string): string {
  const dumps = uuids.map((domain) => virshCommand("dumpxml", { domain }));
  return [...dumps, `echo ${virshQuote(marker)}`].join(" ; ");
}

/**
 * The definitions a part printed, one after the other.
 *
 * @throws Error when its marker is missing: virsh stopped before the end.
 */
export function dumpedDefinitions(stdout: string, marker: string): string {
  const end = stdout.lastIndexOf(marker);
  if (end < 0) throw new Error("virsh stopped before the end of the definitions");
  return stdout.slice(0, end);
}
