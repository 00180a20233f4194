/**
 * The host side of a listing: one `sh -c` script that lists the domains,
 * keeps those whose name starts with the prefix, and has a single virsh
 * process dump each one's XML and then, for the active ones, the guest
 * agent's and the DHCP leases' addresses. One round trip and two virsh
 * connections per page, whatever the number of domains.
 *
 * Arguments: $1 the libvirt URI, $2 the name prefix, $3 the marker (letters
 * and digits, random per call, so no document can forge it). Only UUIDs
 * (36 hex digits and dashes, checked here) reach the virsh command string;
 * the prefix is matched as a quoted, literal pattern and reaches no command.
 * A command string stays under Linux's 128 KiB limit of one argument: past
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
active=\${lists#*"$mark"}
xml= addr=
flush() {
  if [ -n "$xml$addr" ]; then
    printf '%s chunk\\n' "$mark"
    virsh -q -c "$uri" "$xml echo $mark addresses ;$addr echo $mark end"
  fi
  xml= addr=
}
printf '%s\\n' "\${lists%%"$mark"*}" | {
  while read -r uuid name; do
    case $uuid in *[!0-9a-f-]* | '') continue ;; esac
    [ \${#uuid} -eq 36 ] || continue
    case $name in "$prefix"*) ;; *) continue ;; esac
    xml="$xml dumpxml --domain $uuid ;"
    case $active in *"$uuid"*)
      addr="$addr echo $mark agent $uuid ; domifaddr --domain $uuid --source agent --full ;"
      addr="$addr echo $mark lease $uuid ; domifaddr --domain $uuid --source lease --full ;" ;;
    esac
    [ $((\${#xml} + \${#addr})) -lt 100000 ] || flush
  done
  flush
}
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
