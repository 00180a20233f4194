import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import { ConsoleKind as ProviderConsoleKind, ProviderError } from "@virtrigaud/contracts";
import {
  ConsoleKind,
  type CreateConsoleTicketRequest,
  type CreateConsoleTicketResponseSchema,
  Kind,
  type Provider as ProviderResource,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { identityOf } from "../auth/identity.js";
import { providerKeyOf } from "../controllers/references.js";
import type { ResourceStore } from "../store/resource-store.js";
import { consoleRelayPath } from "./console-relay.js";
import type { ConsoleTickets } from "./console-tickets.js";
import { providerKindOf } from "./relay-input.js";

/**
 * CreateConsoleTicket, once the access rules allowed it: a ticket for an
 * existing VM whose Provider (once its status holds what GetCapabilities
 * declared) has a console of the kind.
 *
 * @throws ProviderError NOT_FOUND for a VM that does not exist; UNSUPPORTED
 * when its provider has no console of the kind, or this manager serves no relay.
 */
export function createConsoleTicket(
  store: ResourceStore,
  tickets: ConsoleTickets | undefined,
  request: CreateConsoleTicketRequest,
  context: HandlerContext,
): MessageInitShape<typeof CreateConsoleTicketResponseSchema> {
  if (!tickets) throw ProviderError.unsupported("this manager serves no console relay");
  const namespace = request.namespace || "default";
  const vm = store.get(Kind.VIRTUAL_MACHINE, namespace, request.name) as VirtualMachine | undefined;
  if (!vm)
    throw ProviderError.notFound(`VirtualMachine ${namespace}/${request.name} does not exist`);
  const key = providerKeyOf(vm);
  const [providerNamespace = "", providerName = ""] = key.split("/");
  const provider = store.get(Kind.PROVIDER, providerNamespace, providerName) as
    ProviderResource | undefined;
  const declared = provider?.status?.details?.consoleKinds;
  const wanted = providerKindOf(request.kind);
  if (declared && !declared.includes(wanted)) {
    throw ProviderError.unsupported(
      `provider ${providerName} has no ${ConsoleKind[request.kind].toLowerCase()} console (${ProviderConsoleKind[wanted]})`,
    );
  }
  const { ticket, expiresAt } = tickets.issue({
    namespace,
    name: request.name,
    kind: request.kind,
    user: identityOf(context.values)?.name ?? "anonymous",
  });
  return {
    ticket,
    path: consoleRelayPath(namespace, request.name),
    expireTime: timestampFromDate(new Date(expiresAt)),
  };
}
