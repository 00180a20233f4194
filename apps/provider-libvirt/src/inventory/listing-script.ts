/**
 * The host side of a listing: one `sh -c` script that lists the domains,
 * keeps those whose name starts with the prefix, and dumps each one's XML
 * (and, for the active ones, the guest agent's and the DHCP leases'
 * addresses) from a single virsh process. One round trip and two virsh
 * connections per page, whatever the number of domains.
 *
 * Arguments: $1 the libvirt URI, $2 the name prefix, $3 the section marker.
 * Only UUIDs (hex digits and dashes, checked here) reach the virsh command
 * string; the prefix is matched as a quoted, literal pattern and never
 * reaches a command. A command string stays under Linux's 128 KiB limit of
 * one argument: past 100,000 bytes, a virsh process runs what is gathered.
 *
 * Output: for each matching domain a `<marker> domain <uuid>` line, then
 * from virsh, sections each headed by `<marker> <kind> <uuid>` (virsh's
 * echo, without a line break): its
 * `xml`, and for an active domain its `agent` and `lease` answers. A
 * domain gone in the meantime has an empty section; its error goes to
 * standard error. Exits with virsh's status when the list itself fails.
 */
export const listingScript = `uri=$1 prefix=$2 mark=$3
lists=$(virsh -q -c "$uri" "list --all --uuid --name ; echo $mark ; list --uuid") || exit
active=\${lists#*"$mark"}
cmds=
flush() { [ -z "$cmds" ] || virsh -q -c "$uri" "$cmds"; cmds=; }
printf '%s\\n' "\${lists%%"$mark"*}" | {
  while read -r uuid name; do
    case $uuid in *[!0-9a-f-]* | '') continue ;; esac
    [ \${#uuid} -eq 36 ] || continue
    case $name in "$prefix"*) ;; *) continue ;; esac
    printf '%s domain %s\\n' "$mark" "$uuid"
    cmds="$cmds echo $mark xml $uuid ; dumpxml --domain $uuid ;"
    case $active in *"$uuid"*)
      cmds="$cmds echo $mark agent $uuid ; domifaddr --domain $uuid --source agent --full ;"
      cmds="$cmds echo $mark lease $uuid ; domifaddr --domain $uuid --source lease --full ;" ;;
    esac
    [ \${#cmds} -lt 100000 ] || flush
  done
  flush
}
`;

/** What the listing script printed about one domain. */
export interface ListedDomain {
  uuid: string;
  /** Its XML; empty when the domain vanished before it was dumped. */
  xml: string;
  /** The guest agent's and the leases' answers, for an active domain. */
  agent: string | undefined;
  lease: string | undefined;
}

/**
 * Splits the listing script's output into its domains, in list order.
 * `marker` is the script's third argument: letters and digits only.
 *
 * @throws Error when a domain it announced has no XML section: virsh
 * stopped (or never connected) before it got there.
 */
export function parseListing(output: string, marker: string): ListedDomain[] {
  const domains = new Map<string, ListedDomain>();
  const dumped = new Set<string>();
  // virsh's echo ends without a line break: a header is its marker, kind and UUID.
  const header = new RegExp(`${marker} (domain|xml|agent|lease) ([0-9a-f-]{36})\\n?`, "g");
  const headers = [...output.matchAll(header)];
  headers.forEach((header, i) => {
    const [, kind, uuid = ""] = header;
    const start = header.index + header[0].length;
    const body = output.slice(start, headers[i + 1]?.index ?? output.length);
    const domain = domains.get(uuid);
    if (kind === "domain") domains.set(uuid, { uuid, xml: "", agent: undefined, lease: undefined });
    else if (!domain) return;
    else if (kind === "xml") {
      domain.xml = body;
      dumped.add(uuid);
    } else if (kind === "agent") domain.agent = body;
    else domain.lease = body;
  });
  for (const uuid of domains.keys()) {
    if (!dumped.has(uuid)) throw new Error(`virsh stopped before the XML of domain ${uuid}`);
  }
  return [...domains.values()];
}
