/**
 * What the cleanup job deletes from D1, one target per table and rule. Each batch is one bounded
 * `DELETE … WHERE rowid IN (SELECT rowid … LIMIT n)`, walking an index, so a batch costs the same
 * however large the backlog is.
 */
export interface CleanupTarget {
  name: string;
  table: string;
  /** A condition with `?` placeholders, answered by an index on the table. */
  where: string;
  params: unknown[];
  /** A column the target needs: if the table or the column is missing (not migrated yet), it is skipped. */
  requiredColumn: string;
}

export function cleanupTargets(now: number, options: { sessionHistoryMs: number; securityEventRetentionMs: number }): CleanupTarget[] {
  const sessionCutoff = now - options.sessionHistoryMs;
  return [
    // Ended sessions stay for history and stats, then go. The registry never asks D1 about
    // liveness, so deleting a mirror row cannot revive or end anything.
    { name: "expired_sessions", table: "sessions", where: "expires_at <= ?", params: [sessionCutoff], requiredColumn: "expires_at" },
    { name: "revoked_sessions", table: "sessions", where: "revoked_at <= ?", params: [sessionCutoff], requiredColumn: "revoked_at" },
    // Added by another feature; cleaned here only once that table exists.
    {
      name: "security_events",
      table: "security_events",
      where: "created_at <= ?",
      params: [now - options.securityEventRetentionMs],
      requiredColumn: "created_at",
    },
  ];
}

/** True when the table exists with the column the target filters on. */
export async function targetReady(db: D1Database, target: CleanupTarget): Promise<boolean> {
  const table = await db.prepare("SELECT 1 AS ok FROM sqlite_master WHERE type = 'table' AND name = ?").bind(target.table).first();
  if (!table) return false;
  const column = await db
    .prepare("SELECT 1 AS ok FROM pragma_table_info(?) WHERE name = ?")
    .bind(target.table, target.requiredColumn)
    .first();
  return column !== null;
}

/** Deletes at most `limit` matching rows; returns how many went. */
export async function deleteBatch(db: D1Database, target: CleanupTarget, limit: number): Promise<number> {
  // Table names come from the fixed list above, never from input.
  const result = await db
    .prepare(`DELETE FROM ${target.table} WHERE rowid IN (SELECT rowid FROM ${target.table} WHERE ${target.where} LIMIT ?)`)
    .bind(...target.params, limit)
    .run();
  return result.meta.changes;
}
