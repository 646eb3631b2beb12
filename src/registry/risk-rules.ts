import type { DeviceInfo, Place } from "../contract/place";

/**
 * Suspicious-activity checks. Pure functions: the registry supplies what it remembers (the user's
 * last known position, the session's last network) and records whatever is found, with evidence.
 */

/**
 * A device, for "have we seen this before": browser, OS and form factor, without versions (every
 * browser update would otherwise look like a new device) and without the user-chosen name.
 * Deliberately coarse: it flags a first sign-in from a new kind of device, not a stolen cookie.
 */
export function deviceFingerprint(device: Pick<DeviceInfo, "browser" | "os" | "type">): string {
  return `${device.browser ?? "unknown"}|${device.os ?? "unknown"}|${device.type ?? "unknown"}`;
}

/** Where and when the user was last seen with coordinates. */
export interface Position {
  latitude: number;
  longitude: number;
  at: number;
  country: string | null;
  region: string | null;
  city: string | null;
  asn: number | null;
}

export interface TravelFinding {
  from: Position;
  to: Position;
  distanceKm: number;
  elapsedSeconds: number;
  speedKmh: number;
  limitKmh: number;
}

export interface NetworkFinding {
  changed: ("country" | "asn")[];
  from: { country: string | null; asn: number | null };
  to: { country: string | null; asn: number | null };
}

const EARTH_RADIUS_KM = 6371.0088; // IUGG mean radius
/** IP geolocation is city-level at best; jumps shorter than this are noise, not travel. */
const MIN_TRAVEL_KM = 100;
/** Two requests in the same second still get a finite speed. */
const MIN_ELAPSED_MS = 1000;

export function positionOf(place: Place, at: number): Position | null {
  if (place.latitude === null || place.longitude === null) return null;
  return {
    latitude: place.latitude,
    longitude: place.longitude,
    at,
    country: place.country,
    region: place.region,
    city: place.city,
    asn: place.asn,
  };
}

/** Great-circle distance (haversine formula). */
export function haversineKm(a: { latitude: number; longitude: number }, b: { latitude: number; longitude: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Flags consecutive activity that would need a ground speed above `limitKmh`. */
export function assessTravel(previous: Position | null, current: Position | null, limitKmh: number): TravelFinding | null {
  if (!previous || !current) return null;
  const distanceKm = haversineKm(previous, current);
  if (distanceKm < MIN_TRAVEL_KM) return null;
  const elapsedMs = Math.max(current.at - previous.at, MIN_ELAPSED_MS);
  const speedKmh = distanceKm / (elapsedMs / 3_600_000);
  if (speedKmh <= limitKmh) return null;
  return { from: previous, to: current, distanceKm, elapsedSeconds: Math.round(elapsedMs / 1000), speedKmh, limitKmh };
}

/** A session that moves country or network (ASN) between refreshes; unknown values never count. */
export function assessNetworkChange(before: { country: string | null; asn: number | null }, after: Place): NetworkFinding | null {
  const changed: NetworkFinding["changed"] = [];
  if (before.country !== null && after.country !== null && before.country !== after.country) changed.push("country");
  if (before.asn !== null && after.asn !== null && before.asn !== after.asn) changed.push("asn");
  if (changed.length === 0) return null;
  return { changed, from: { country: before.country, asn: before.asn }, to: { country: after.country, asn: after.asn } };
}
