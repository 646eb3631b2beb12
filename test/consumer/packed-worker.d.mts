import type { LegacyWorkerOptions } from "miniflare";

/** What the test asserts about the packed package besides running it (a type, so it is a JSON binding). */
export type PackedConsumerFacts = {
  /** The tarball's file list, sorted. */
  files: string[];
  /** tsc's diagnostics for the scratch project per moduleResolution, "" when it type-checked. */
  typecheck: { bundler: string; nodenext: string };
};

export function packedConsumerWorker(
  sessionServiceWorkerName: string,
): Promise<{ worker: LegacyWorkerOptions; facts: PackedConsumerFacts }>;
