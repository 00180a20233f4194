// Scripts run in the page, as text: this package is compiled without the
// DOM's types, and they are small.

/** Before the console's own scripts: the session's token, and a recorder of frames and long tasks. */
export function initScript(token: string): string {
  return `
sessionStorage.setItem("virtrigaud.console.token", ${JSON.stringify(token)});
window.__bench = { recording: false, frames: [], longTaskMs: 0 };
new PerformanceObserver((list) => {
  if (!window.__bench.recording) return;
  for (const entry of list.getEntries()) window.__bench.longTaskMs += entry.duration;
}).observe({ type: "longtask", buffered: false });
const tick = (t) => {
  if (window.__bench.recording) window.__bench.frames.push(t);
  requestAnimationFrame(tick);
};
requestAnimationFrame(tick);
`;
}

/** Starts recording frames afresh. */
export const startRecording = `(() => { window.__bench.frames = []; window.__bench.longTaskMs = 0; window.__bench.recording = true; })()`;

/** Stops recording; answers what was recorded. */
export const stopRecording = `(() => { window.__bench.recording = false; return { frames: window.__bench.frames, longTaskMs: window.__bench.longTaskMs }; })()`;

/** True once the fleet's counter says all `n` VMs are listed. */
export function fleetShows(n: number): string {
  return `document.querySelector('[data-testid="vm-count"]')?.textContent === ${JSON.stringify(`${n} of ${n} VMs`)}`;
}

/** The declared power a VM's row shows ("declared Off"), or null when the row is not drawn. */
export function declaredPowerOf(key: string): string {
  return `document.querySelector('[data-vm=${JSON.stringify(key)}] [data-field="power"]')?.getAttribute("title") ?? null`;
}
