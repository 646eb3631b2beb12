import { sql } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import { sessions, type SessionMirrorRow } from "./schema";

/**
 * Writes the Durable Object's view of some sessions into D1, in one batch.
 * State-based and idempotent: replaying an older copy cannot un-revoke a session, because
 * `revoked_at` is never cleared once set and `last_active_at` only moves forward.
 */
export async function mirrorSessions(db: D1Database, rows: SessionMirrorRow[]): Promise<void> {
  if (rows.length === 0) return;
  const orm = drizzle(db);
  const [first, ...rest] = rows.map((row) => upsertMirrorRow(orm, row));
  await orm.batch([first!, ...rest]);
}

/** The one statement the mirror runs per session (exported so the benchmarks can explain its plan). */
export function upsertMirrorRow(orm: DrizzleD1Database, row: SessionMirrorRow) {
  return orm
    .insert(sessions)
    .values(row)
    .onConflictDoUpdate({
      target: sessions.id,
      set: {
        deviceName: sql`excluded.device_name`,
        lastActiveAt: sql`max(${sessions.lastActiveAt}, excluded.last_active_at)`,
        expiresAt: sql`excluded.expires_at`,
        revokedAt: sql`coalesce(${sessions.revokedAt}, excluded.revoked_at)`,
        revokedReason: sql`coalesce(${sessions.revokedReason}, excluded.revoked_reason)`,
        revokedBy: sql`coalesce(${sessions.revokedBy}, excluded.revoked_by)`,
      },
    });
}
