import { and, desc, eq, gte, lt, or, type SQL } from "drizzle-orm";
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import { type SecurityEventRow, securityEvents } from "./schema";

export type { SecurityEventRow };

/** Insert-or-ignore statements for a batch: replaying a batch that half-landed adds nothing twice. */
export function securityEventInserts(orm: DrizzleD1Database, rows: readonly SecurityEventRow[]) {
  return rows.map((row) => orm.insert(securityEvents).values(row).onConflictDoNothing({ target: securityEvents.id }));
}

export interface EventPage {
  limit: number;
  /** Oldest `created_at` still listed (the retention period). */
  notBefore: number;
  /** Continue after this event (exclusive), newest first. */
  after?: { createdAt: number; id: string } | undefined;
}

export function securityEventsRepository(db: D1Database) {
  const orm = drizzle(db);
  return {
    /** One page of a user's history, newest first; served by security_events_user_created_idx. */
    async listForUser(userId: string, page: EventPage) {
      const conditions: SQL[] = [eq(securityEvents.userId, userId), gte(securityEvents.createdAt, page.notBefore)];
      if (page.after) {
        conditions.push(
          or(
            lt(securityEvents.createdAt, page.after.createdAt),
            and(eq(securityEvents.createdAt, page.after.createdAt), lt(securityEvents.id, page.after.id)),
          )!,
        );
      }
      return orm
        .select()
        .from(securityEvents)
        .where(and(...conditions))
        .orderBy(desc(securityEvents.createdAt), desc(securityEvents.id))
        .limit(page.limit);
    },
  };
}
