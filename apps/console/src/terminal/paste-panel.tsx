import type RFB from "@novnc/novnc";
import { useState } from "react";
import { type PasteKey, keysyms, pasteKeys, pasteLimit } from "./paste-keys";

/** Presses `keys` on the VM's keyboard, Shift around those that need it, in order. */
function typeKeys(rfb: RFB, keys: readonly PasteKey[]): void {
  // No key code: QEMU then finds the key from the keysym (its keymap), where
  // a code would name a key of the browser's own keyboard layout.
  for (const { keysym, shift } of keys) {
    if (shift) rfb.sendKey(keysyms.shiftLeft, null, true);
    rfb.sendKey(keysym, null);
    if (shift) rfb.sendKey(keysyms.shiftLeft, null, false);
  }
}

/**
 * Paste for the VM's screen: QEMU's VNC has no clipboard the guest reads, so
 * the text is typed as keys, all of it or (a character with no key, too
 * long) none of it, with the reason.
 */
export function PastePanel({ rfb }: { rfb: RFB | undefined }) {
  const [text, setText] = useState("");
  const [said, setSaid] = useState<{ error: boolean; text: string } | undefined>(undefined);
  const paste = () => {
    if (!rfb) return setSaid({ error: true, text: "Not pasted: the screen is not connected." });
    const planned = pasteKeys(text);
    if ("refused" in planned)
      return setSaid({ error: true, text: `Not pasted: ${planned.refused}` });
    typeKeys(rfb, planned.keys);
    setSaid({ error: false, text: `Pasted ${planned.keys.length} characters as keys.` });
  };
  return (
    <div className="paste-panel">
      <label>
        Text to paste (typed as keys, at most {pasteLimit} characters)
        <textarea value={text} rows={3} onChange={(event) => setText(event.target.value)} />
      </label>
      <button onClick={paste} disabled={text === ""}>
        Paste
      </button>
      {said && (
        <p className={said.error ? "error" : undefined} role="status" data-testid="paste-status">
          {said.text}
        </p>
      )}
    </div>
  );
}
