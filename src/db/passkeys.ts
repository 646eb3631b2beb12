import { and, asc, eq, sql } from "drizzle-orm";
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import { passkeys } from "./schema";

/** A passkey as the registry's outbox hands it to D1; `removed` rows are deleted there. */
export type PasskeyMirrorRow = typeof passkeys.$inferInsert & { removed: boolean };
export type PasskeyListing = typeof passkeys.$inferSelect;

/**
 * The statements that bring D1's copy of some passkeys up to the registry's state: an upsert for a
 * live one, a delete for a removed one. State-based, so a retried batch changes nothing twice;
 * `last_used_at` only moves forward.
 */
export function passkeyMirrorStatements(orm: DrizzleD1Database, rows: readonly PasskeyMirrorRow[]) {
  return rows.map(({ removed, ...row }) =>
    removed
      ? orm.delete(passkeys).where(and(eq(passkeys.userId, row.userId), eq(passkeys.id, row.id)))
      : orm
          .insert(passkeys)
          .values(row)
          .onConflictDoUpdate({
            target: [passkeys.userId, passkeys.id],
            set: {
              name: sql`excluded.name`,
              backupEligible: sql`excluded.backup_eligible`,
              backedUp: sql`excluded.backed_up`,
              transports: sql`excluded.transports`,
              aaguid: sql`excluded.aaguid`,
              createdAt: sql`excluded.created_at`,
              lastUsedAt: sql`nullif(max(coalesce(${passkeys.lastUsedAt}, 0), coalesce(excluded.last_used_at, 0)), 0)`,
            },
          }),
  );
}

/** A user's passkeys as D1 mirrors them (admin listing), oldest first. */
export async function listPasskeys(db: D1Database, userId: string): Promise<PasskeyListing[]> {
  return drizzle(db).select().from(passkeys).where(eq(passkeys.userId, userId)).orderBy(asc(passkeys.createdAt), asc(passkeys.id));
}
