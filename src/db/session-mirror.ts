import { sql } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import { securityEventInserts } from "./security-events";
import { sessions, type SecurityEventRow, type SessionMirrorRow } from "./schema";

/**
 * Writes the Durable Object's view of some sessions, and its new security events, into D1 in one
 * batch. State-based and idempotent: replaying an older copy cannot un-revoke a session, because
 * `revoked_at` is never cleared once set and `last_active_at` only moves forward; events are
 * insert-or-ignore. The place columns follow the session's latest refresh.
 */
export async function mirrorSessions(db: D1Database, rows: SessionMirrorRow[], events: SecurityEventRow[] = []): Promise<void> {
  if (rows.length === 0 && events.length === 0) return;
  const orm = drizzle(db);
  const statements = rows.map((row) => upsertMirrorRow(orm, row));
  const [first, ...rest] = [...statements, ...securityEventInserts(orm, events)];
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
      },
    });
}
