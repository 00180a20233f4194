import {
  type CreateRequest,
  type ImageSource,
  ProviderError,
  type SnapshotCreateRequest,
} from "@virtrigaud/contracts";

/**
 * Checks of request fields the contract leaves open (the SDK checks lengths
 * and formats) but that reach virsh arguments, XML documents or paths on the
 * host. A value none of those can carry is refused here, naming its field,
 * before anything is read or changed; without these checks it failed deep
 * inside (the quoting or the XML builder) as INTERNAL.
 */

// C0 and C1 controls and DEL: no name or path holds them, and virsh reads its
// command string line by line.
// eslint-disable-next-line no-control-regex
const control = /[\u0000-\u001f\u007f-\u009f]/u;
// What XML 1.0 cannot carry at all, even escaped (besides controls).
const notXml = /[\uFFFE\uFFFF]/u;

/** A value for an error message: short, with control characters escaped. */
function shown(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

function refuse(field: string, value: string, rule: string): never {
  throw ProviderError.invalidSpec(field, `${shown(value)} ${rule}`);
}

/** Text that goes into the domain's metadata: anything XML carries, line breaks and tabs included. */
function checkXmlText(field: string, value: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/u.test(value) || notXml.test(value)) {
    refuse(field, value, "holds characters an XML document cannot carry");
  }
}

/** A libvirt network or host bridge name. */
function checkNetworkName(field: string, value: string): void {
  if (control.test(value) || notXml.test(value)) {
    refuse(field, value, "is not a network or bridge name: it holds control characters");
  }
  if (value.includes("/")) {
    refuse(field, value, "is not a network or bridge name: it holds '/'");
  }
}

/**
 * Where an image comes from: a template (a volume name), a path on the host,
 * or a URL.
 *
 * @throws ProviderError INVALID_SPEC naming `field.template`, `field.path` or `field.url.url`.
 */
export function checkImageSource(field: string, image: ImageSource): void {
  const source = image.source;
  switch (source.case) {
    case "template":
      if (control.test(source.value) || notXml.test(source.value) || source.value.includes("/")) {
        refuse(`${field}.template`, source.value, "is not a volume name");
      }
      return;
    case "path":
      if (!source.value.startsWith("/")) {
        refuse(`${field}.path`, source.value, "must be an absolute path on the host");
      }
      if (control.test(source.value) || notXml.test(source.value)) {
        refuse(`${field}.path`, source.value, "holds control characters");
      }
      return;
    case "url":
      if (/\s/u.test(source.value.url) || control.test(source.value.url)) {
        refuse(`${field}.url.url`, source.value.url, "holds white space or control characters");
      }
      return;
    default:
      return;
  }
}

/** @throws ProviderError INVALID_SPEC naming the first field the host cannot take. */
export function checkCreateRequest(request: CreateRequest): void {
  request.networks.forEach((nic, i) => checkNetworkName(`networks[${i}].network`, nic.network));
  if (request.image) checkImageSource("image", request.image);
  request.tags.forEach((tag, i) => checkXmlText(`tags[${i}]`, tag));
  for (const [key, value] of Object.entries(request.labels)) {
    checkXmlText(`labels[${shown(key)}]`, key);
    checkXmlText(`labels[${shown(key)}]`, value);
  }
}

/** @throws ProviderError INVALID_SPEC naming `description`. */
export function checkSnapshotRequest(request: SnapshotCreateRequest): void {
  checkXmlText("description", request.description);
}
