/**
 * `text` cut to `max` characters, saying how many were left out: for
 * messages and logs that echo what a client or server sent, so they never
 * carry its megabytes. Never ends on half a surrogate pair.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = /[\uD800-\uDBFF]$/.test(text.slice(0, max)) ? max - 1 : max;
  return `${text.slice(0, cut)}… (${text.length - cut} more characters)`;
}

/**
 * A value from a request for an error message or a field path: quoted, with
 * control characters escaped, and clipped.
 */
export function quote(value: string, max = 64): string {
  return JSON.stringify(clip(value, max));
}
