import type { LegacyWorkerOptions } from "miniflare";
export function exampleConsumerWorker(sessionServiceWorkerName: string): Promise<LegacyWorkerOptions>;
