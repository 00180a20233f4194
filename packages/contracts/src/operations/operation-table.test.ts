import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import { DescribeRequestSchema } from "@virtrigaud/proto";
import { ProviderError } from "../errors/provider-error.js";
import type { ProviderContext } from "../provider.js";
import { type ProviderOperation, operationBinder } from "./operation-table.js";

const callContext = (signal: AbortSignal): ProviderContext =>
  ({ signal, deadline: undefined, requestId: "r-1", method: "describe" }) as ProviderContext;

describe("operationBinder", () => {
  it("runs the operation with the provider's context, the request and the call's signal", async () => {
    const seen: unknown[] = [];
    const describeVm: ProviderOperation<{ site: string }, "describe"> = (ctx, request, signal) => {
      seen.push(ctx.site, request.vmId, signal);
      return Promise.resolve({ exists: true });
    };
    const method = operationBinder({ site: "lab" })(describeVm);
    const signal = new AbortController().signal;
    const answer = await method(
      create(DescribeRequestSchema, { vmId: "vm-1" }),
      callContext(signal),
    );
    expect(answer).toEqual({ exists: true });
    expect(seen).toEqual(["lab", "vm-1", signal]);
  });

  it("turns a refusal thrown before any promise into the call's rejection", async () => {
    const refuse: ProviderOperation<object, "describe"> = () => {
      throw ProviderError.notFound("vm vm-1 does not exist");
    };
    const method = operationBinder({})(refuse);
    let result: Promise<unknown> | undefined;
    expect(() => {
      result = method(
        create(DescribeRequestSchema, { vmId: "vm-1" }),
        callContext(new AbortController().signal),
      );
    }).not.toThrow();
    await expect(result).rejects.toThrow("vm vm-1 does not exist");
  });
});
