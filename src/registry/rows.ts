import { AUTH_METHODS, type AuthContext, type AuthMethod } from "../contract/auth";
import { type DeviceInfo, deviceDetails, PLACE_FIELDS, type Place } from "../contract/place";
import type { RevokeReason, SessionView } from "../contract/session";
import type { DeviceJson, SessionBinding } from "../contract/wire";
import type { RegistryRow } from "./schema";

const PLACE_COLUMNS = PLACE_FIELDS.join(", ");
const placeValues = (place: Place) => PLACE_FIELDS.map((field) => place[field]);

/**
 * The registry's `sessions` table. Every change bumps `version`, which queues the row for the D1
 * mirror (outbox.ts), except activity, whose mirroring is paced (liveness.ts).
 * Callers run these inside the registry's transaction for the change they belong to.
 */
export class SessionRows {
  constructor(private readonly sql: SqlStorage) {}

  get(sessionId: string): RegistryRow | undefined {
    return this.sql.exec<RegistryRow>("SELECT * FROM sessions WHERE id = ?", sessionId).toArray()[0];
  }

  /** Neither revoked nor expired; idle ones included (liveness is the caller's to judge). */
  unrevoked(now: number): RegistryRow[] {
    return this.sql.exec<RegistryRow>("SELECT * FROM sessions WHERE revoked_at IS NULL AND expires_at > ?", now).toArray();
  }

  /** A new session and the hash of its first refresh token (generation 0). */
  insert(session: {
    id: string;
    now: number;
    expiresAt: number;
    refreshHash: Uint8Array<ArrayBuffer>;
    device: DeviceInfo;
    place: Place;
    /** The DPoP key (RFC 7638 thumbprint) the session is bound to for its whole life, or null. */
    dpopJkt: string | null;
    auth: AuthContext;
  }): void {
    const { id, now, expiresAt, refreshHash, device, place, dpopJkt, auth } = session;
    this.sql.exec(
      `INSERT INTO sessions (id, created_at, expires_at, last_active_at, refresh_generation, refresh_hash, auth_time, amr,
         sign_in_method, device_name, browser, os, device_type, user_agent, binding, dpop_jkt, ${PLACE_COLUMNS})
       VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${PLACE_FIELDS.map(() => "?").join(", ")})`,
      id,
      now,
      expiresAt,
      now,
      refreshHash,
      auth.authTime,
      JSON.stringify(auth.amr),
      auth.signInMethod,
      device.name,
      device.browser,
      device.os,
      device.type,
      device.userAgent,
      dpopJkt === null ? "none" : "dpop",
      dpopJkt,
      ...placeValues(place),
    );
  }

  /** The presented (current) token is now the previous one, and its successor the current one; activity is written with it. */
  rotate(
    sessionId: string,
    generation: number,
    refreshHash: Uint8Array<ArrayBuffer>,
    previousHash: Uint8Array<ArrayBuffer>,
    now: number,
  ): void {
    this.sql.exec(
      `UPDATE sessions SET refresh_generation = ?, refresh_hash = ?, previous_refresh_hash = ?, rotated_at = ?, last_active_at = ?
       WHERE id = ?`,
      generation,
      refreshHash,
      previousHash,
      now,
      now,
      sessionId,
    );
  }

  /** Where the session was last used from (a refresh). */
  movedTo(sessionId: string, place: Place): void {
    this.sql.exec(
      `UPDATE sessions SET ${PLACE_FIELDS.map((field) => `${field} = ?`).join(", ")} WHERE id = ?`,
      ...placeValues(place),
      sessionId,
    );
  }

  /** A step-up: the session's latest proof, which every later access token of the session carries. Not mirrored. */
  reauthenticated(sessionId: string, authTime: number, amr: AuthMethod[]): void {
    this.sql.exec("UPDATE sessions SET auth_time = ?, amr = ? WHERE id = ?", authTime, JSON.stringify(amr), sessionId);
  }

  rename(sessionId: string, name: string): void {
    this.sql.exec("UPDATE sessions SET device_name = ?, version = version + 1 WHERE id = ?", name, sessionId);
  }

  /** Marks a session revoked; answers its device for the history, or null if it already was revoked. */
  revoke(sessionId: string, reason: RevokeReason, by: string | null, now: number): DeviceJson | null {
    const ended = this.sql
      .exec<Pick<RegistryRow, "device_name" | "browser" | "os" | "device_type">>(
        `UPDATE sessions SET revoked_at = ?, revoked_reason = ?, revoked_by = ?, version = version + 1
         WHERE id = ? AND revoked_at IS NULL RETURNING device_name, browser, os, device_type`,
        now,
        reason,
        by,
        sessionId,
      )
      .toArray()[0];
    return ended ? rowDevice(ended) : null;
  }

  /** Drops expired rows, but only those already mirrored, so D1 learns every final state first. */
  deleteExpired(now: number): void {
    this.sql.exec("DELETE FROM sessions WHERE expires_at <= ? AND version = mirrored_version", now);
  }

  nextExpiry(): number | null {
    return this.sql.exec<{ at: number | null }>("SELECT min(expires_at) AS at FROM sessions").one().at;
  }

  /** Queues every row for D1 again (consistency repair). */
  requeueAll(): void {
    this.sql.exec("UPDATE sessions SET mirrored_version = 0");
  }
}

/** A row's device, as history events describe it. */
export function rowDevice(row: Pick<RegistryRow, "device_name" | "browser" | "os" | "device_type">): DeviceJson {
  return deviceDetails({ name: row.device_name, browser: row.browser, os: row.os, type: row.device_type });
}

/** The session's latest proof, as its access tokens carry it. Unknown stored values are dropped, never passed on. */
export function rowAuth(row: Pick<RegistryRow, "auth_time" | "amr" | "sign_in_method">): AuthContext {
  let amr: AuthMethod[] = [];
  try {
    const stored: unknown = JSON.parse(row.amr);
    if (Array.isArray(stored)) amr = stored.filter((value): value is AuthMethod => AUTH_METHODS.includes(value as AuthMethod));
  } catch {}
  return { authTime: row.auth_time, amr, signInMethod: row.sign_in_method === "passkey" ? "passkey" : "password" };
}

/**
 * A stored row as the registry answers for it. `liveActiveAt` is the activity held in memory,
 * which may be ahead of storage (activity is persisted at most once a minute).
 */
export function sessionView(row: RegistryRow, liveActiveAt: number | undefined): SessionView {
  return {
    id: row.id,
    device: rowDevice(row),
    ip: row.ip,
    location: { country: row.country, region: row.region, city: row.city },
    createdAt: row.created_at,
    lastActiveAt: Math.max(row.last_active_at, liveActiveAt ?? 0),
    expiresAt: row.expires_at,
    binding: sessionBinding(row.binding),
    signInMethod: row.sign_in_method === "passkey" ? "passkey" : "password",
    confirmed: row.confirmed_at !== null,
  };
}

/** The stored binding, as a known value: anything else would be a row from a newer schema, shown as bound to nothing it can prove. */
function sessionBinding(value: string): SessionBinding {
  return value === "dpop" || value === "dbsc" ? value : "none";
}
