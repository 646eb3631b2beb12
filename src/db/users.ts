import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { type UserRow, users } from "./schema";

export type { UserRow };

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
    /** Admin disable (a time) or enable (null); returns false when there is no such user. */
    async setDisabled(id: string, disabledAt: number | null): Promise<boolean> {
      const updated = await orm.update(users).set({ disabledAt }).where(eq(users.id, id)).returning({ id: users.id });
      return updated.length === 1;
    },
    async updatePassword(id: string, passwordHash: string, at: number): Promise<void> {
      await orm.update(users).set({ passwordHash, passwordChangedAt: at }).where(eq(users.id, id));
    },
  };
}
