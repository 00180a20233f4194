export { ProviderError, type ProviderErrorOptions } from "./provider-error.js";
export { codeOfReason, reasonOfCode, reasonName, isRetryableReason } from "./reason-codes.js";
export { toErrorDetail, toConnectError } from "./wire.js";
