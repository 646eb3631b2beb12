import { sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import { type SecurityEventRow, type SessionMirrorRow, sessions } from "./schema";
import { securityEventInserts } from "./security-events";

/**
 * Writes the Durable Object's view of some sessions, and its new security events, into D1 in one
 * batch. State-based and idempotent: replaying an older copy cannot un-revoke a session, because
 * `revoked_at` is never cleared once set and `last_active_at` only moves forward; events are
 * insert-or-ignore. The place columns follow the session's latest refresh. `more` adds the
 * statements of other mirrored rows (the account's passkeys) to the same batch.
 */
export async function mirrorSessions(
  db: D1Database,
  rows: SessionMirrorRow[],
  events: SecurityEventRow[] = [],
  more: (orm: DrizzleD1Database) => BatchItem<"sqlite">[] = () => [],
): Promise<void> {
  const orm = drizzle(db);
  const statements = [...rows.map((row) => upsertMirrorRow(orm, row)), ...securityEventInserts(orm, events), ...more(orm)];
  if (statements.length === 0) return;
  const [first, ...rest] = statements;
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
        ip: sql`excluded.ip`,
        country: sql`excluded.country`,
        region: sql`excluded.region`,
        city: sql`excluded.city`,
        latitude: sql`excluded.latitude`,
        longitude: sql`excluded.longitude`,
        colo: sql`excluded.colo`,
        asn: sql`excluded.asn`,
        lastActiveAt: sql`max(${sessions.lastActiveAt}, excluded.last_active_at)`,
        expiresAt: sql`excluded.expires_at`,
        revokedAt: sql`coalesce(${sessions.revokedAt}, excluded.revoked_at)`,
        revokedReason: sql`coalesce(${sessions.revokedReason}, excluded.revoked_reason)`,
        revokedBy: sql`coalesce(${sessions.revokedBy}, excluded.revoked_by)`,
        binding: sql`excluded.binding`,
        // Once confirmed, always: an older copy replayed cannot unconfirm it.
        confirmedAt: sql`coalesce(${sessions.confirmedAt}, excluded.confirmed_at)`,
      },
    });
}

/**
 * Consistency repair, second half: rows D1 shows live for a user whose registry does not hold them
 * live (the registry may already have dropped the row, so re-mirroring alone cannot fix them).
 * The registry wins. Rows created after `before` are left alone: they may be sessions that
 * started while the repair ran.
 */
export async function closeStaleLiveRows(db: D1Database, userId: string, liveSessionIds: string[], before: number): Promise<number> {
  const result = await db
    .prepare(
      `UPDATE sessions SET revoked_at = ?1, revoked_reason = 'reconciled'
       WHERE user_id = ?2 AND revoked_at IS NULL AND expires_at > ?1 AND created_at < ?3
         AND id NOT IN (SELECT value FROM json_each(?4))`,
    )
    .bind(before, userId, before, JSON.stringify(liveSessionIds))
    .run();
  return result.meta.changes;
}

export interface SessionHistoryRow {
  id: string;
  device_name: string | null;
  browser: string | null;
  os: string | null;
  device_type: string | null;
  ip: string | null;
  country: string | null;
  created_at: number;
  last_active_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
}

/** A user's ended sessions as D1 remembers them (SESSION_HISTORY_DAYS), most recent first. */
export async function sessionHistory(db: D1Database, userId: string, now: number, limit = 100): Promise<SessionHistoryRow[]> {
  const { results } = await db
    .prepare(
      `SELECT id, device_name, browser, os, device_type, ip, country, created_at, last_active_at, expires_at, revoked_at, revoked_reason
       FROM sessions WHERE user_id = ? AND (revoked_at IS NOT NULL OR expires_at <= ?)
       ORDER BY last_active_at DESC LIMIT ?`,
    )
    .bind(userId, now, limit)
    .all<SessionHistoryRow>();
  return results;
}
