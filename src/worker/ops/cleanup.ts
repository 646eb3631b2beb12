import { iso } from "../../contract/session";
import { cleanupTargets, deleteBatch, targetReady } from "../../db/cleanup";
import { configFrom } from "../../shared/config";
import { log } from "../../shared/log";

export interface CleanupReport {
  target: string;
  deleted: number;
  batches: number;
  /** False when the batch cap stopped the run: the next run carries on where this one stopped. */
  complete: boolean;
  skipped?: "table_missing";
}

/**
 * The Cron Trigger's job: deletes expired and long-ended sessions, and old security events, from D1.
 * Each target gets at most CLEANUP_MAX_BATCHES batches of CLEANUP_BATCH_SIZE rows per run, so one
 * run stays well inside the CPU and duration limits however large the backlog is; what is left is
 * still matched by the same conditions at the next run (hourly), so a backlog drains over runs.
 * Idempotent: running it twice deletes nothing more than running it once.
 *
 * The registries clean themselves (their alarm drops expired sessions once D1 has their final state).
 */
export async function runCleanup(env: Env, now: number): Promise<CleanupReport[]> {
  const config = configFrom(env);
  const reports: CleanupReport[] = [];
  for (const target of cleanupTargets(now, config)) {
    if (!(await targetReady(env.DB, target))) {
      reports.push({ target: target.name, deleted: 0, batches: 0, complete: true, skipped: "table_missing" });
      continue;
    }
    const report: CleanupReport = { target: target.name, deleted: 0, batches: 0, complete: false };
    while (report.batches < config.cleanupMaxBatches) {
      const deleted = await deleteBatch(env.DB, target, config.cleanupBatchSize);
      report.batches++;
      report.deleted += deleted;
      if (deleted < config.cleanupBatchSize) {
        report.complete = true;
        break;
      }
    }
    reports.push(report);
  }
  log("info", "cleanup finished", { at: iso(now), reports });
  return reports;
}
