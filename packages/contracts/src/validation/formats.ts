import { isIP } from "node:net";
import { StringFormat } from "@virtrigaud/proto/validate";

/** A check that a string has a format, and what to say when it does not. */
interface FormatCheck {
  test: (value: string) => boolean;
  expectation: string;
}

const name = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const id = /^[\x21-\x7e]{1,256}$/;
const mac = /^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}$/;
const hex = /^[0-9A-Fa-f]+$/;

function isUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const { protocol } = new URL(value);
  return protocol === "http:" || protocol === "https:" || protocol === "file:";
}

/** The checks behind each StringFormat of the contract. */
export const formatChecks: Readonly<Record<StringFormat, FormatCheck | undefined>> = {
  [StringFormat.UNSPECIFIED]: undefined,
  [StringFormat.NAME]: {
    test: (v) => name.test(v),
    expectation:
      "must be 1 to 63 ASCII letters, digits, '.', '_' or '-', starting and ending with a letter or digit",
  },
  [StringFormat.ID]: {
    test: (v) => id.test(v),
    expectation: "must be 1 to 256 printable ASCII characters without spaces",
  },
  [StringFormat.IP_ADDRESS]: {
    test: (v) => isIP(v) !== 0,
    expectation: "must be an IPv4 or IPv6 address",
  },
  [StringFormat.MAC_ADDRESS]: {
    test: (v) => mac.test(v),
    expectation: "must be a MAC address such as 52:54:00:12:34:56",
  },
  [StringFormat.URL]: {
    test: isUrl,
    expectation: "must be an absolute http, https or file URL",
  },
  [StringFormat.HEX]: {
    test: (v) => hex.test(v),
    expectation: "must be hexadecimal digits",
  },
};

/** Length in Unicode code points, the unit of min_len and max_len. */
export function codePointLength(value: string): number {
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) i++;
    n++;
  }
  return n;
}
