/**
 * The host side of a listing: one `sh -c` script that lists the domains,
 * keeps those whose name starts with the prefix, and has a single virsh
 * process dump each one's XML and then, for the active ones, the guest
 * agent's and the DHCP leases' addresses. One round trip and two virsh
 * connections per page, whatever the number of domains.
 *
 * Arguments: $1 the libvirt URI, $2 the name prefix, $3 the marker (letters
 * and digits, random per call, so no document can forge it). awk does the
 * filtering (the shell's `read` takes a system call per byte): it gets the
 * values from its environment, never in its program, compares the prefix
 * as a plain string, and puts only UUIDs (36 hex digits and dashes, checked)
 * and the marker into the virsh command string, which it runs by system()
 * inside single quotes; the URI stays a quoted variable of that shell. A
 * command string stays under Linux's 128 KiB limit of one argument: past
 * 100,000 bytes, a virsh process runs what is gathered (a chunk).
 *
 * Output, per chunk: `<marker> chunk` and a line break, the definitions one
 * after the other (no marker between them: a marker per domain costs virsh
 * a command each), then `<marker> addresses`, the `<marker> agent <uuid>`
 * and `<marker> lease <uuid>` answers, and `<marker> end`; virsh's echo
 * adds no line break. A domain gone in the meantime is left out (its error
 * goes to standard error). Exits with virsh's status when the list fails.
 */
export const listingScript = `uri=$1 prefix=$2 mark=$3
lists=$(virsh -q -c "$uri" "list --all --uuid --name ; echo $mark ; list --uuid") || exit
export uri prefix mark
printf '%s\\n' "$lists" | awk '
function flush() {
  if (xml addr == "") return
  printf "%s chunk\\n", mark
  fflush()
  system("virsh -q -c \\"$uri\\" '\\''" xml " echo " mark " addresses ;" addr " echo " mark " end'\\''")
  xml = addr = ""
}
BEGIN { mark = ENVIRON["mark"]; prefix = ENVIRON["prefix"] }
index($0, mark) == 1 { active = 1; $0 = substr($0, length(mark) + 1) }
active { if ($1 != "") up[$1] = 1; next }
{
  name = $0
  sub(/^[ \\t]*[^ \\t]+[ \\t]+/, "", name)
  sub(/[ \\t]+$/, "", name)
  if ($1 ~ /^[0-9a-f-]+$/ && length($1) == 36 && substr(name, 1, length(prefix)) == prefix) ids[n++] = $1
}
END {
  for (i = 0; i < n; i++) {
    u = ids[i]
    xml = xml " dumpxml --domain " u " ;"
    if (u in up) addr = addr " echo " mark " agent " u " ; domifaddr --domain " u " --source agent --full ; echo " mark " lease " u " ; domifaddr --domain " u " --source lease --full ;"
    if (length(xml) + length(addr) >= 100000) flush()
  }
  flush()
}'
`;

/** What the listing script printed. */
export interface Listing {
  /** The definitions of each chunk, one after the other, as virsh printed them. */
  definitions: string[];
  /** The guest agent's answers of active domains, by UUID. */
  agent: Map<string, string>;
  /** The DHCP leases' answers of active domains, by UUID. */
  lease: Map<string, string>;
}

/**
 * Splits the listing script's output. `marker` is the script's third argument.
 *
 * @throws Error when a chunk has no end: virsh stopped (or never connected) before it.
 */
export function parseListing(output: string, marker: string): Listing {
  const listing: Listing = { definitions: [], agent: new Map(), lease: new Map() };
  const header = new RegExp(
    `${marker} (chunk|addresses|end|agent|lease)(?: ([0-9a-f-]{36}))?\\n?`,
    "g",
  );
  const headers = [...output.matchAll(header)];
  let chunks = 0;
  let ends = 0;
  headers.forEach((found, i) => {
    const [, kind, uuid = ""] = found;
    const start = found.index + found[0].length;
    const body = output.slice(start, headers[i + 1]?.index ?? output.length);
    if (kind === "chunk") {
      chunks++;
      listing.definitions.push(body);
    } else if (kind === "end") ends++;
    else if (kind === "agent") listing.agent.set(uuid, body);
    else if (kind === "lease") listing.lease.set(uuid, body);
  });
  if (ends !== chunks) throw new Error(`virsh stopped after ${ends} of ${chunks} chunks`);
  return listing;
}
