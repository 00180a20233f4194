import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ConsoleKind, type ConsoleRequestSchema } from "@virtrigaud/proto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ErrorReason, ProviderError, type ProviderConsole } from "../src/index.js";
import { type TestServer, startTestServer } from "../src/testing/index.js";
import { stubProvider } from "./stub-provider.js";

// The Console RPC through the harness and the client on a real socket: a
// stream both ways that outlives the request timeout, its first message
// checked, and the provider's console released when the caller goes.

type Request = MessageInitShape<typeof ConsoleRequestSchema>;

/** Requests a test pushes one at a time; `end` ends the stream. */
function requestQueue() {
  const queued: Request[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  return {
    push(request: Request) {
      queued.push(request);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const next = queued.shift();
        if (next) yield next;
        else if (ended) return;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString();
const open = (vmId: string, kind = ConsoleKind.SERIAL): Request => ({
  frame: { case: "open", value: { vmId, kind } },
});
const input = (s: string): Request => ({ frame: { case: "input", value: Buffer.from(s) } });
const resize = (cols: number, rows: number): Request => ({
  frame: { case: "resize", value: { cols, rows } },
});

/** The text of the next output of a console. */
async function nextText(outputs: AsyncIterator<{ output: Uint8Array }>): Promise<string> {
  const next = await outputs.next();
  return next.done ? "" : text(next.value.output);
}

async function failureOf(stream: AsyncIterable<unknown>): Promise<ProviderError> {
  try {
    for await (const _ of stream) void _;
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw err;
  }
  throw new Error("the stream ended without an error");
}

let released = 0;
// Echoes each input back, upper-cased, after naming the VM it opened, and
// after the terminal sizes sent since the last input. The VM "quiet" says
// nothing at first, as a serial line may: it says it is open with no bytes.
const echo: ProviderConsole = async function* (request, inputs) {
  const sizes: string[] = [];
  inputs.onResize(({ cols, rows }) => sizes.push(`[${cols}x${rows}]`));
  try {
    if (request.vmId === "quiet") yield new Uint8Array(0);
    else yield Buffer.from(`console of ${request.vmId}\n`);
    for await (const bytes of inputs)
      yield Buffer.from(sizes.splice(0).join("") + text(bytes).toUpperCase());
  } finally {
    released++;
  }
};

describe("a provider with a serial console", () => {
  let test: TestServer;
  beforeAll(async () => {
    test = await startTestServer(
      stubProvider({
        getCapabilities: () =>
          Promise.resolve({ capabilities: { consoleKinds: [ConsoleKind.SERIAL] } }),
        console: echo,
      }),
      { serve: { headersTimeoutMs: 300, requestTimeoutMs: 300 } },
    );
  });
  afterAll(() => test.close());

  it("relays bytes both ways for longer than the request timeout", async () => {
    const requests = requestQueue();
    requests.push(open("vm-1"));
    const outputs = test.client.console(requests)[Symbol.asyncIterator]();
    expect(await nextText(outputs)).toBe("console of vm-1\n");
    requests.push(input("hello"));
    expect(await nextText(outputs)).toBe("HELLO");
    await new Promise((resolve) => setTimeout(resolve, 700));
    requests.push(input("still here"));
    expect(await nextText(outputs)).toBe("STILL HERE");
    requests.end();
    expect((await outputs.next()).done).toBe(true);
  });

  it("tells the caller a quiet console is open with a response of no bytes", async () => {
    const requests = requestQueue();
    requests.push(open("quiet"));
    const outputs = test.client.console(requests)[Symbol.asyncIterator]();
    const first = await outputs.next();
    if (first.done) throw new Error("the console ended before it said it was open");
    expect(first.value.output).toHaveLength(0);
    requests.push(input("hello"));
    expect(await nextText(outputs)).toBe("HELLO");
    requests.end();
    expect((await outputs.next()).done).toBe(true);
  });

  it("hands the provider each terminal size the caller sends, between its bytes", async () => {
    const requests = requestQueue();
    requests.push(open("vm-1"));
    requests.push(resize(120, 40));
    requests.push(input("a"));
    const outputs = test.client.console(requests)[Symbol.asyncIterator]();
    expect(await nextText(outputs)).toBe("console of vm-1\n");
    expect(await nextText(outputs)).toBe("[120x40]A");
    requests.push(resize(80, 24));
    requests.push(resize(100, 30));
    requests.push(input("b"));
    expect(await nextText(outputs)).toBe("[80x24][100x30]B");
    requests.end();
    expect((await outputs.next()).done).toBe(true);
  });

  it("refuses a terminal size that breaks the contract's rules, naming the field", async () => {
    const requests = requestQueue();
    requests.push(open("vm-1"));
    requests.push(resize(80, 5000));
    requests.push(input("a"));
    const err = await failureOf(test.client.console(requests));
    expect(err.reason).toBe(ErrorReason.INVALID_SPEC);
    expect(err.field).toBe("resize.rows");
  });

  it("releases the provider's console when the caller stops reading", async () => {
    const before = released;
    const requests = requestQueue();
    requests.push(open("vm-2"));
    for await (const _ of test.client.console(requests)) {
      void _;
      break;
    }
    for (let i = 0; i < 50 && released === before; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(released).toBe(before + 1);
  });

  it("refuses a stream that does not begin with open", async () => {
    const requests = requestQueue();
    requests.push(input("ls\n"));
    const err = await failureOf(test.client.console(requests));
    expect(err.reason).toBe(ErrorReason.INVALID_SPEC);
    expect(err.field).toBe("open");
  });

  it("refuses an open that breaks the contract's rules, naming the field", async () => {
    const requests = requestQueue();
    requests.push(open(""));
    const err = await failureOf(test.client.console(requests));
    expect(err.reason).toBe(ErrorReason.INVALID_SPEC);
    expect(err.field).toBe("vm_id");
  });

  it("refuses a kind of console the provider did not declare", async () => {
    const requests = requestQueue();
    requests.push(open("vm-1", ConsoleKind.VNC));
    const err = await failureOf(test.client.console(requests));
    expect(err.reason).toBe(ErrorReason.UNSUPPORTED);
    expect(err.message).toMatch(/CONSOLE_KIND_VNC is not supported/);
  });
});

describe("a provider without consoles", () => {
  let test: TestServer;
  beforeAll(async () => {
    test = await startTestServer(stubProvider());
  });
  afterAll(() => test.close());

  it("answers UNSUPPORTED", async () => {
    const requests = requestQueue();
    requests.push(open("vm-1"));
    const err = await failureOf(test.client.console(requests));
    expect(err.reason).toBe(ErrorReason.UNSUPPORTED);
  });
});
