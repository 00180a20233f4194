import type RFB from "@novnc/novnc";
import { useEffect, useRef, useState } from "react";
import { type PasteKey, keysyms, pasteKeys, pasteLimit } from "./paste-keys";

/**
 * The pause after each character typed. QEMU spaces key events 10 ms apart,
 * but a PS/2 keyboard holds 16 bytes: a guest starved of CPU for longer
 * loses keys of a burst, so a paste types at a steady 50 characters a second.
 */
const keyIntervalMs = 20;

/** Presses one key on the VM's keyboard, Shift around it when it needs it. */
function typeKey(rfb: RFB, { keysym, shift }: PasteKey): void {
  // No key code: QEMU then finds the key from the keysym (its keymap), where
  // a code would name a key of the browser's own keyboard layout.
  if (shift) rfb.sendKey(keysyms.shiftLeft, null, true);
  rfb.sendKey(keysym, null);
  if (shift) rfb.sendKey(keysyms.shiftLeft, null, false);
}

/**
 * Paste for the VM's screen: QEMU's VNC has no clipboard the guest reads, so
 * the text is typed as keys, all of it or (a character with no key, too
 * long) none of it, with the reason; a screen that closes while it types
 * stops it, and says how far it got.
 */
export function PastePanel({ rfb }: { rfb: RFB | undefined }) {
  const [text, setText] = useState("");
  const [said, setSaid] = useState<{ error: boolean; text: string } | undefined>(undefined);
  const [typing, setTyping] = useState(false);
  // The screen's client as it is now, read between keys.
  const current = useRef(rfb);
  useEffect(() => {
    current.current = rfb;
  }, [rfb]);
  const paste = async () => {
    if (!rfb) return setSaid({ error: true, text: "Not pasted: the screen is not connected." });
    const planned = pasteKeys(text);
    if ("refused" in planned)
      return setSaid({ error: true, text: `Not pasted: ${planned.refused}` });
    const total = planned.keys.length;
    setTyping(true);
    setSaid({ error: false, text: `Typing ${total} characters…` });
    for (const [index, key] of planned.keys.entries()) {
      if (current.current !== rfb) {
        setTyping(false);
        return setSaid({
          error: true,
          text: `Stopped after ${index} of ${total} characters: the screen closed.`,
        });
      }
      typeKey(rfb, key);
      await new Promise((resolve) => setTimeout(resolve, keyIntervalMs));
    }
    setTyping(false);
    setSaid({ error: false, text: `Pasted ${total} characters as keys.` });
  };
  return (
    <div className="paste-panel">
      <label>
        Text to paste (typed as keys, at most {pasteLimit} characters)
        <textarea value={text} rows={3} onChange={(event) => setText(event.target.value)} />
      </label>
      <button onClick={() => void paste()} disabled={text === "" || typing}>
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
