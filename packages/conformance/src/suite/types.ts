import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  Capabilities,
  CreateRequest,
  CreateRequestSchema,
  ImageSource,
  Task,
  TaskRef,
  VirtualMachine,
} from "@virtrigaud/contracts";
import type { ProviderClient } from "@virtrigaud/contracts/client";

/** The profiles of the suite, in the order they run. */
export const profileNames = [
  "core",
  "power",
  "reconfigure",
  "agreement",
  "snapshot",
  "clone",
  "image",
  "disk",
  "disk-sync",
  "bad-input",
  "concurrency",
  "deadline",
] as const;

/** A group of cases about one area of the contract. */
export type ProfileName = (typeof profileNames)[number];

/** A profile and what it checks, for `vcts list` and the report. */
export interface Profile {
  name: ProfileName;
  description: string;
  /**
   * Whether the provider declares the optional feature this profile is about
   * (always true for the core profiles). An undeclared feature is checked to
   * answer UNSUPPORTED rather than skipped.
   */
  declared(capabilities: Capabilities): boolean;
}

/** What a case can use while it runs. */
export interface CaseContext {
  /** A client of the provider under test. */
  readonly client: ProviderClient;
  /** The capabilities the provider declared. */
  readonly capabilities: Capabilities;
  /** Aborted when the case's time is up. */
  readonly signal: AbortSignal;
  /** The image to create VMs from (`--image`), if one was given. */
  readonly image: ImageSource | undefined;
  /** The network to attach VMs to (`--network`), if one was given. */
  readonly network: string | undefined;
  /** How long a provider may take to report a change once its task is done (`settleMs`). */
  readonly settleMs: number;
  /** The run's options, for cases that prepare images or export a given disk. */
  readonly options: Pick<ConformanceOptions, "imagePath" | "imageUrl" | "exportDisk">;
  /**
   * A VM name unique to this run and case: the run's prefix, then `hint`.
   * Every name a case uses carries the prefix, so the final sweep finds what
   * cleanup missed.
   */
  name(hint: string): string;
  /** The request for a small VM named `name`, with the run's image and network, and `overrides`. */
  vmRequest(name: string, overrides?: MessageInitShape<typeof CreateRequestSchema>): CreateRequest;
  /** Creates a VM, records it for cleanup, waits for its task, and returns its id. */
  createVm(hint: string, overrides?: MessageInitShape<typeof CreateRequestSchema>): Promise<string>;
  /** Records a VM made another way (a clone, say) for cleanup. */
  track(vmId: string): void;
  /** Waits for a task (if any) to finish; a failed task throws its typed error. */
  wait(task: TaskRef | undefined): Promise<Task | undefined>;
  /**
   * Runs a call that must succeed and waits for the task it returns.
   *
   * @throws CaseFailure naming `what` when the call fails; the task's typed error when it fails.
   */
  runTask(call: Promise<{ task?: TaskRef | undefined }>, what: string): Promise<Task | undefined>;
  /** Describes a VM that must exist. */
  describe(vmId: string): Promise<VirtualMachine>;
  /**
   * Describes the VM until `predicate` holds: providers may report a change
   * a moment after its task is done.
   *
   * @throws CaseFailure naming `what` when it does not hold in time.
   */
  eventually(
    vmId: string,
    what: string,
    predicate: (vm: VirtualMachine) => boolean,
  ): Promise<VirtualMachine>;
  /** A line for the case's log in the report. */
  log(message: string): void;
}

/** One check of the suite. */
export interface ConformanceCase {
  /** Stable id, "profile/slug", used in reports and to select cases. */
  id: string;
  profile: ProfileName;
  /** What the case checks, for people. */
  title: string;
  /**
   * Whether the capability the case is about is declared; undefined for
   * cases every provider must pass. When it is not declared the case runs
   * `unsupported` instead of `run`.
   */
  declared?: (capabilities: Capabilities) => boolean;
  /** The check. Throws to fail. */
  run(t: CaseContext): Promise<void>;
  /** The check when the capability is not declared: usually that it answers UNSUPPORTED. */
  unsupported?(t: CaseContext): Promise<void>;
}

/** How a case ended. */
export type CaseStatus = "passed" | "failed";

/** A case's outcome, as reported. */
export interface CaseResult {
  id: string;
  profile: ProfileName;
  title: string;
  /** "declared" ran the case itself; "undeclared" checked that the feature answers UNSUPPORTED. */
  mode: "core" | "declared" | "undeclared";
  status: CaseStatus;
  durationMs: number;
  /** Why it failed. */
  error?: string;
  /** What the case logged. */
  log: string[];
}

/** Options of a conformance run. */
export interface ConformanceOptions {
  /** The provider's base URL: "http://host:port" (with `insecure`) or "https://host:port". */
  endpoint: string;
  /** Allow plaintext http endpoints, and https without verifying the server's certificate. */
  insecure?: boolean;
  /** TLS files: the CA to trust, and a client certificate and key for mutual TLS. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** Profiles to run. Default: all. */
  profiles?: readonly ProfileName[];
  /** The image VMs are created from: "template:NAME", "path:PATH" or "url:URL#sha256=HEX". Default: none. */
  image?: string;
  /** The network VMs attach to. Default: none (no NIC). */
  network?: string;
  /** A path on the provider's host to prepare an image from, for providers that declare PATH sources. */
  imagePath?: string;
  /** A URL with its checksum ("URL#sha256=HEX") to prepare an image from, for providers that declare URL sources. */
  imageUrl?: string;
  /**
   * A disk that holds bytes for the disk profile to export (`--export-disk VM_ID/DISK`),
   * for providers whose new VMs' disks hold none (vcsim's). The VM must be off, with no
   * snapshots; the cases only read it. Default: a data disk of a VM each case creates.
   */
  exportDisk?: { vmId: string; diskName: string };
  /** Time each case may take. Default: 5 minutes. */
  caseTimeoutMs?: number;
  /**
   * How long a provider may take to report a change (a power state, new
   * resources) in Describe once its task is done. Default: 60 s.
   */
  settleMs?: number;
  /** Cases run at once. Default: 1. */
  parallel?: number;
}

/** A whole run's outcome. */
export interface ConformanceReport {
  endpoint: string;
  /** The name prefix of every VM the run made. */
  prefix: string;
  startedAt: string;
  durationMs: number;
  provider: { type: string; version: string; capabilities: Record<string, unknown> };
  profiles: Array<{ name: ProfileName; description: string; declared: boolean; selected: boolean }>;
  cases: CaseResult[];
  /** VMs with the run's prefix left after every case cleaned up; deleted by the sweep. */
  leftovers: string[];
  summary: { passed: number; failed: number; total: number };
  /** True when every selected case passed and nothing was left behind. */
  ok: boolean;
}

/** A check that did not hold. */
export class CaseFailure extends Error {
  override name = "CaseFailure";
}
