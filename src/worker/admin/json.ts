import { z } from "zod";
import { iso } from "../../contract/session";
import { Session } from "../../contract/wire-schema";
import type { UserRow } from "../../db/users";

/** The admin API's answers: what an operator sees of an account. */

const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));
const time = z.iso.datetime().nullable();
const text = z.string().nullable();

export const AdminUser = z
  .object({
    id: z.string(),
    email: z.string(),
    created_at: time,
    password_changed_at: time.meta({ description: "Null until the first change" }),
    disabled_at: time.meta({ description: "Null while the account may sign in" }),
  })
  .strict()
  .meta({ id: "AdminUser" });

export function adminUserJson(user: UserRow): z.output<typeof AdminUser> {
  return {
    id: user.id,
    email: user.email,
    created_at: isoOrNull(user.createdAt),
    password_changed_at: isoOrNull(user.passwordChangedAt),
    disabled_at: isoOrNull(user.disabledAt),
  };
}

/** An ended session as D1 remembers it. */
const EndedSession = z
  .object({
    id: z.string(),
    device: z.object({ name: text, browser: text, os: text, type: text }).strict(),
    ip: text,
    country: text,
    created_at: time,
    last_active_at: time,
    expires_at: time,
    revoked_at: time.meta({ description: "Null for a session that expired" }),
    revoked_reason: text,
  })
  .strict()
  .meta({ id: "EndedSession" });

export function endedSessionJson(row: {
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
}): z.output<typeof EndedSession> {
  return {
    id: row.id,
    device: { name: row.device_name, browser: row.browser, os: row.os, type: row.device_type },
    ip: row.ip,
    country: row.country,
    created_at: isoOrNull(row.created_at),
    last_active_at: isoOrNull(row.last_active_at),
    expires_at: isoOrNull(row.expires_at),
    revoked_at: isoOrNull(row.revoked_at),
    revoked_reason: row.revoked_reason,
  };
}

export const UserAnswer = z.object({ user: AdminUser }).strict();
export const UserSessions = z
  .object({
    sessions: z.array(Session).meta({ description: "Live sessions, from the registry (the authority); `current` is always false" }),
    history: z.array(EndedSession).optional().meta({ description: "With `?history=true`: ended sessions, from D1" }),
  })
  .strict();
export const Disabled = z.object({ user: AdminUser, revoked: z.number().int().nonnegative() }).strict();
export const Reconciled = z
  .object({
    mirrored: z.boolean().meta({ description: "Whether the registry's outbox reached D1" }),
    live_sessions: z.number().int(),
    stale_rows_closed: z.number().int(),
  })
  .strict();

const counts = z.record(z.string(), z.number().int());
export const Stats = z
  .object({
    generated_at: z.iso.datetime(),
    live_sessions: z.number().int(),
    live_sessions_by_device_type: counts,
    live_sessions_by_country: counts,
    last_day: z.object({ sign_ins: z.number().int(), refresh_token_reuse_detections: z.number().int() }).strict(),
    session_lifetimes: z.object({ ended_within_days: z.number(), buckets: counts }).strict(),
  })
  .strict()
  .meta({ id: "AdminStats" });

export const AdminPasskey = z
  .object({
    id: z.string(),
    name: z.string(),
    created_at: z.iso.datetime(),
    last_used_at: z.iso.datetime().nullable(),
    backup_eligible: z.boolean(),
    backed_up: z.boolean(),
    transports: z.array(z.string()),
    aaguid: z.string().meta({ description: "The authenticator model's AAGUID, as it reported it (attestation is not verified)" }),
  })
  .strict()
  .meta({ id: "AdminPasskey" });
