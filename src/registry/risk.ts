import { type DeviceInfo, deviceDetails, type Place, placeDetails } from "../contract/place";
import type { NewEvent } from "../contract/security-events";
import { iso } from "../contract/session";
import type { PositionJson } from "../contract/wire";
import { assessNetworkChange, assessTravel, deviceFingerprint, type Position, positionOf } from "./risk-rules";
import type { SessionRows } from "./rows";
import type { RegistryRow } from "./schema";

/**
 * The registry's memory for suspicious-activity checks (devices seen, the user's last located
 * activity) and the checks themselves, run inside the registry's transaction for the sign-in or
 * refresh they judge, so a finding is recorded with the change or not at all.
 */
export class RiskWatch {
  constructor(
    private readonly sql: SqlStorage,
    private readonly deps: {
      record: (event: NewEvent, now: number) => void;
      impossibleTravelKmh: () => number;
      rows: Pick<SessionRows, "movedTo">;
    },
  ) {}

  /** A new session: is it a new kind of device for this user, and could the user have travelled here? */
  signIn(sessionId: string, device: DeviceInfo, place: Place, now: number): void {
    this.#noteDevice(sessionId, device, place, now);
    this.#noteTravel(sessionId, place, now);
  }

  /** A sign-in from a kind of device this user has not used before (the first ever is not news). */
  #noteDevice(sessionId: string, device: DeviceInfo, place: Place, now: number): void {
    const fingerprint = deviceFingerprint(device);
    const seen = this.sql
      .exec<{ known: number; total: number }>(
        "SELECT count(*) FILTER (WHERE fingerprint = ?) AS known, count(*) AS total FROM known_devices",
        fingerprint,
      )
      .one();
    if (seen.known === 0 && seen.total > 0) {
      this.deps.record(
        { type: "new_device", sessionId, details: { fingerprint, device: deviceDetails(device), place: placeDetails(place) } },
        now,
      );
    }
    this.sql.exec(
      `INSERT INTO known_devices (fingerprint, first_seen_at, last_seen_at) VALUES (?, ?, ?)
       ON CONFLICT (fingerprint) DO UPDATE SET last_seen_at = excluded.last_seen_at`,
      fingerprint,
      now,
      now,
    );
  }

  /** Compares this activity with the user's previous located activity, and remembers this one. */
  #noteTravel(sessionId: string, place: Place, now: number): number {
    const current = positionOf(place, now);
    if (!current) return 0;
    const stored = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'last_position'").toArray()[0];
    const previous = stored ? (JSON.parse(stored.value) as Position) : null;
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_position', ?)", JSON.stringify(current));
    const finding = assessTravel(previous, current, this.deps.impossibleTravelKmh());
    if (!finding) return 0;
    const details = {
      from: positionDetails(finding.from),
      to: positionDetails(finding.to),
      distance_km: Math.round(finding.distanceKm),
      elapsed_seconds: finding.elapsedSeconds,
      speed_kmh: Math.round(finding.speedKmh),
      limit_kmh: finding.limitKmh,
    };
    this.deps.record({ type: "impossible_travel", sessionId, details }, now);
    return 1;
  }

  /** A refresh: travel since the user's last activity, and whether this session changed country or network. */
  refresh(row: RegistryRow, place: Place, now: number): number {
    let findings = this.#noteTravel(row.id, place, now);
    const network = assessNetworkChange({ country: row.country, asn: row.asn }, place);
    if (network) {
      this.deps.record({ type: "session_network_changed", sessionId: row.id, details: { ...network, place: placeDetails(place) } }, now);
      findings++;
    }
    // The session shows where it was last used from; a request without geolocation changes nothing.
    if (place.country !== null || place.asn !== null || place.latitude !== null) this.deps.rows.movedTo(row.id, place);
    return findings;
  }
}

function positionDetails(position: Position): PositionJson {
  const { latitude, longitude, country, region, city, asn } = position;
  return { at: iso(position.at), country, region, city, latitude, longitude, asn };
}
