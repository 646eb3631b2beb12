import type { DeviceJson, PlaceJson } from "./wire";

/**
 * Where a request came from and what made it: described by the Worker from the request, stored by
 * the registry on the session, and repeated in security events as evidence.
 */
export type Place = PlaceJson;

/** A device as the Worker describes it; the user agent is kept on the session, not repeated in events. */
export interface DeviceInfo extends DeviceJson {
  userAgent: string | null;
}

/** The place fields in storage order: the registry's and D1's columns have the same names. */
export const PLACE_FIELDS = [
  "ip",
  "country",
  "region",
  "city",
  "latitude",
  "longitude",
  "colo",
  "asn",
] as const satisfies readonly (keyof Place)[];

/** A place that says nothing: callers without a request (RPC, admin) pass it. */
export const UNKNOWN_PLACE: Place = {
  ip: null,
  country: null,
  region: null,
  city: null,
  latitude: null,
  longitude: null,
  colo: null,
  asn: null,
};

/** The device of a session or a stored row, as events and the live channel describe it. */
export function deviceDetails(device: DeviceJson): DeviceJson {
  return { name: device.name, browser: device.browser, os: device.os, type: device.type };
}

/** The place of a request or a stored row (same field names), copied so no extra member leaks into an event. */
export function placeDetails(place: Place): Place {
  const copy = { ...UNKNOWN_PLACE };
  for (const field of PLACE_FIELDS) (copy[field] as Place[typeof field]) = place[field];
  return copy;
}
