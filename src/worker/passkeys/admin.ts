import { iso } from "../../contract/session";
import { listPasskeys } from "../../db/passkeys";

/** A user's passkeys for the admin API, from the D1 mirror: what they are and when used, never a key. */
export async function adminPasskeyList(db: D1Database, userId: string) {
  const rows = await listPasskeys(db, userId);
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    created_at: iso(row.createdAt),
    last_used_at: row.lastUsedAt === null ? null : iso(row.lastUsedAt),
    backup_eligible: row.backupEligible,
    backed_up: row.backedUp,
    transports: JSON.parse(row.transports) as string[],
    aaguid: row.aaguid,
  }));
}
