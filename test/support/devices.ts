import { expect } from "vitest";
import { call, type Device, PASSWORD, type SignedIn, USER_AGENTS } from "./http";

/** Where requests come from, as `request.cf` describes them. */
export const PLACES = {
  lagos: { country: "NG", region: "Lagos", city: "Lagos", latitude: "6.5244", longitude: "3.3792", colo: "LOS", asn: 29465 },
  abuja: {
    country: "NG",
    region: "Federal Capital Territory",
    city: "Abuja",
    latitude: "9.0765",
    longitude: "7.3986",
    colo: "LOS",
    asn: 29465,
  },
  toronto: { country: "CA", region: "Ontario", city: "Toronto", latitude: "43.6532", longitude: "-79.3832", colo: "YYZ", asn: 812 },
} as const;

export function login(
  email: string,
  options: { device?: Device; cf?: Record<string, unknown>; headers?: Record<string, string>; ip?: string; password?: string } = {},
) {
  return call("/v1/auth/login", {
    method: "POST",
    json: { email, password: options.password ?? PASSWORD, token_transport: "body" },
    headers: {
      "User-Agent": USER_AGENTS[options.device ?? "laptop"],
      ...(options.ip ? { "CF-Connecting-IP": options.ip } : {}),
      ...options.headers,
    },
    ...(options.cf ? { cf: options.cf } : {}),
  });
}

export async function signedInFrom(response: Response, email: string): Promise<SignedIn> {
  expect(response.status).toBe(200);
  const body = (await response.json()) as any;
  return { userId: body.user.id, sessionId: body.session.id, accessToken: body.access_token, refreshToken: body.refresh_token, email };
}

export interface EventJson {
  id: string;
  type: string;
  created_at: string;
  session_id: string | null;
  details: any;
}

/** The caller's whole security history, newest first, following every cursor. */
export async function history(accessToken: string): Promise<EventJson[]> {
  const events: EventJson[] = [];
  let cursor: string | null = null;
  do {
    const response = await call(`/v1/security-events?limit=100${cursor ? `&cursor=${cursor}` : ""}`, { token: accessToken });
    expect(response.status).toBe(200);
    const page = (await response.json()) as { events: EventJson[]; next_cursor: string | null };
    events.push(...page.events);
    cursor = page.next_cursor;
  } while (cursor);
  return events;
}

export async function liveSessionIds(accessToken: string): Promise<string[]> {
  const response = await call("/v1/sessions", { token: accessToken });
  expect(response.status).toBe(200);
  return ((await response.json()) as { sessions: { id: string }[] }).sessions.map((s) => s.id);
}
