import type { BrowserContext, Page } from "playwright-core";

/**
 * A new page that counts the calls of the manager's API it sends, by method
 * ("Apply", "List"): its fetch, wrapped before the console starts, so the
 * count is what the page's own code asked for.
 */
export async function newCountingPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.addInitScript(() => {
    const calls: Record<string, number> = {};
    Object.assign(window, { managerCalls: calls });
    const send = window.fetch.bind(window);
    window.fetch = (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      const method = /\/virtrigaud\.manager\.v1\.ManagerService\/(\w+)$/.exec(url)?.[1];
      if (method) calls[method] = (calls[method] ?? 0) + 1;
      return send(input, init);
    };
  });
  return page;
}

/** How many calls of `method` the page made since it was opened. */
export function managerCalls(page: Page, method: string): Promise<number> {
  return page.evaluate(
    (name) =>
      (window as unknown as { managerCalls: Record<string, number> }).managerCalls[name] ?? 0,
    method,
  );
}
