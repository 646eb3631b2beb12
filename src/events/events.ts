import type { DeviceInfo, Place } from "../devices/device";
import type { Position } from "../devices/risk";
import { base64url, randomBytes } from "../encoding";
import type { RevokeReason } from "../sessions/registry";

/** Every kind of entry in a user's security history. Stable strings: clients and webhooks branch on them. */
export type SecurityEventType =
  | "signed_in" // a new session (device and place in details)
  | "sign_in_refused" // a correct password refused by the session-limit policy
  | "new_device" // a sign-in from a kind of device this user has not used before
  | "impossible_travel" // consecutive activity faster than IMPOSSIBLE_TRAVEL_KMH
  | "session_network_changed" // a session refreshed from another country or ASN
  | "refresh_token_reuse" // a rotated-out refresh token came back; the session was ended
  | "session_revoked" // a session ended before its time, with who ended it
  | "password_changed";

/** Who ended a session, as the history shows it. */
export type RevokedBy = "user" | "other_device" | "password_change" | "policy" | "reuse_detection" | "admin" | "service";

const REVOKED_BY: Record<RevokeReason, RevokedBy> = {
  signed_out: "user",
  signed_out_everywhere: "user",
  revoked_by_other_device: "other_device",
  password_changed: "password_change",
  session_limit: "policy",
  refresh_token_reuse: "reuse_detection",
  admin: "admin",
  service: "service",
};

export function revokedBy(reason: RevokeReason): RevokedBy {
  return REVOKED_BY[reason];
}

export type EventDetails = Record<string, unknown>;

export interface NewEvent {
  type: SecurityEventType;
  sessionId: string | null;
  details: EventDetails;
}

/** The public shape of an event, in the API and in webhook bodies. */
export interface SecurityEventJson {
  id: string;
  type: SecurityEventType;
  created_at: string;
  session_id: string | null;
  details: EventDetails;
}

let sequence = 0;

/**
 * Event ids sort by time within a user: a base-36 timestamp, a per-isolate counter (several events
 * share a millisecond in one transaction), then 80 random bits so ids never collide across users.
 */
export function newEventId(at: number): string {
  sequence = (sequence + 1) % 36 ** 4;
  return `evt_${at.toString(36).padStart(9, "0")}${sequence.toString(36).padStart(4, "0")}${base64url(randomBytes(10))}`;
}

export const iso = (ms: number) => new Date(ms).toISOString();

export function deviceDetails(device: Pick<DeviceInfo, "name" | "browser" | "os" | "type">) {
  return { name: device.name, browser: device.browser, os: device.os, type: device.type };
}

export function placeDetails(place: Place) {
  return {
    ip: place.ip,
    country: place.country,
    region: place.region,
    city: place.city,
    latitude: place.latitude,
    longitude: place.longitude,
    colo: place.colo,
    asn: place.asn,
  };
}

export function positionDetails(position: Position) {
  return {
    at: iso(position.at),
    country: position.country,
    region: position.region,
    city: position.city,
    latitude: position.latitude,
    longitude: position.longitude,
    asn: position.asn,
  };
}
