/** One key to press on the VM's keyboard: its X keysym, with Shift held when the character needs it. */
export interface PasteKey {
  keysym: number;
  shift: boolean;
}

/** The most characters one paste types: a paste is typed key by key, so it stays short. */
export const pasteLimit = 4096;

/** X keysyms of the keys a paste presses beside the characters' own. */
export const keysyms = { return: 0xff0d, tab: 0xff09, shiftLeft: 0xffe1 } as const;

// The characters a US keyboard types with Shift held. QEMU's VNC server turns
// a keysym into the key that carries it (its keymap, en-us by default) but
// does not press Shift for it: "A" or '"' without Shift reach the guest as
// "a" and "'". The guests' console keymap is taken to be US too.
const shifted = new Set('~!@#$%^&*()_+{}|:"<>?ABCDEFGHIJKLMNOPQRSTUVWXYZ');

/**
 * The keys that type `text` on the VM's screen, or why it cannot be typed:
 * the whole text or nothing, so a refused paste sends no key. Printable ASCII
 * (its keysym is its code point), newlines (CRLF or LF) as Return and tabs as
 * Tab; any other character has no key on a US keyboard and is refused, named
 * with its position.
 */
export function pasteKeys(text: string): { keys: PasteKey[] } | { refused: string } {
  const characters = Array.from(text.replace(/\r\n?/g, "\n"));
  if (characters.length > pasteLimit)
    return {
      refused: `The text has ${characters.length} characters; at most ${pasteLimit} are typed at once.`,
    };
  const keys: PasteKey[] = [];
  for (const [index, character] of characters.entries()) {
    const code = character.codePointAt(0) ?? 0;
    if (character === "\n") keys.push({ keysym: keysyms.return, shift: false });
    else if (character === "\t") keys.push({ keysym: keysyms.tab, shift: false });
    else if (code >= 0x20 && code <= 0x7e)
      keys.push({ keysym: code, shift: shifted.has(character) });
    else
      return {
        refused: `Character ${index + 1} (${describe(code)}) has no key on the VM's keyboard: only ASCII letters, digits, symbols, spaces, tabs and newlines can be typed.`,
      };
  }
  return { keys };
}

/** A character as U+XXXX, with itself when it is visible. */
function describe(code: number): string {
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  return code > 0x20 && code !== 0x7f && !(code >= 0x80 && code < 0xa0)
    ? `"${String.fromCodePoint(code)}", ${hex}`
    : hex;
}
