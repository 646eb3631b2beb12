import { and, eq, isNull, lte, or } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import { type UserRow, users } from "./schema";

export type { UserRow };

/** What a user's registry still has to write to the user's row (its outbox carries it). */
export interface AccountWrite {
  /** A password change's new hash and its time, until D1 has them. */
  password: { hash: string; at: number } | null;
  /** The disable flag as the registry holds it, while D1's copy lags. */
  disabled: { at: number | null } | null;
}

/**
 * The registry's account writes, for its outbox batch. Idempotent, and a password never goes back:
 * a retried older change cannot overwrite a newer one (`password_changed_at` only grows).
 */
export function accountMirrorStatements(orm: DrizzleD1Database, userId: string, write: AccountWrite): BatchItem<"sqlite">[] {
  const statements: BatchItem<"sqlite">[] = [];
  const { password, disabled } = write;
  if (password)
    statements.push(
      orm
        .update(users)
        .set({ passwordHash: password.hash, passwordChangedAt: password.at })
        .where(and(eq(users.id, userId), or(isNull(users.passwordChangedAt), lte(users.passwordChangedAt, password.at)))),
    );
  if (disabled) statements.push(orm.update(users).set({ disabledAt: disabled.at }).where(eq(users.id, userId)));
  return statements;
}

export function usersRepository(db: D1Database) {
  const orm = drizzle(db);
  return {
    async findByEmail(email: string): Promise<UserRow | undefined> {
      return orm.select().from(users).where(eq(users.email, email)).get();
    },
    async findById(id: string): Promise<UserRow | undefined> {
      return orm.select().from(users).where(eq(users.id, id)).get();
    },
    /** Returns false when the email is already taken (the unique index decides, so two signups cannot race past it). */
    async insert(user: UserRow): Promise<boolean> {
      const inserted = await orm.insert(users).values(user).onConflictDoNothing({ target: users.email }).returning({ id: users.id });
      return inserted.length === 1;
    },
    async remove(id: string): Promise<void> {
      await orm.delete(users).where(eq(users.id, id));
    },
  };
}
