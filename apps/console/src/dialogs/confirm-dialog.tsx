import { type ReactNode, useEffect, useRef, useState } from "react";

/**
 * A modal confirmation (the page's own <dialog>, not window.confirm): the
 * action runs only from its button, and with `typeToConfirm`, only once that
 * text is typed exactly, as GitHub asks for a repository's name.
 */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  typeToConfirm,
  onConfirm,
  onCancel,
}: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  typeToConfirm?: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState("");
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const ready = typeToConfirm === undefined || typed === typeToConfirm;
  return (
    <dialog ref={dialog} className="confirm" aria-label={title} onCancel={onCancel}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (ready) onConfirm();
        }}
      >
        <h3>{title}</h3>
        {children}
        {typeToConfirm !== undefined && (
          <label>
            <span>
              Type <strong>{typeToConfirm}</strong> to confirm
            </span>
            <input
              aria-label="confirmation"
              autoComplete="off"
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
            />
          </label>
        )}
        <div className="actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className="danger" disabled={!ready}>
            {confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
