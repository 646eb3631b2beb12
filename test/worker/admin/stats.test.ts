import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, PASSWORD, refresh, USER_AGENTS, uniqueEmail } from "../../support/http";

const admin = (path: string) => call(`/v1/admin${path}`, { token: env.ADMIN_TOKEN! });
type Stats = {
  live_sessions: number;
  live_sessions_by_device_type: Record<string, number>;
  live_sessions_by_country: Record<string, number>;
  last_day: { sign_ins: number; refresh_token_reuse_detections: number };
  session_lifetimes: { ended_within_days: number; buckets: Record<string, number> };
};
const stats = async () => (await (await admin("/stats")).json()) as Stats;

function signInFrom(path: "signup" | "login", email: string, device: keyof typeof USER_AGENTS, country: string | null) {
  return call(`/v1/auth/${path}`, {
    method: "POST",
    json: { email, password: PASSWORD, token_transport: "body" },
    headers: { "User-Agent": USER_AGENTS[device] },
    ...(country ? { cf: { country } } : {}),
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe("admin stats", () => {
  it("should count the live sessions, sign-ins, reuse detections and lifetimes the test created", async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ["Date"] });
    const before = await stats();
    const email = uniqueEmail();
    expect((await signInFrom("signup", email, "phone", "IS")).status).toBe(201);
    expect((await signInFrom("login", email, "tablet", "NZ")).status).toBe(200);
    const laptop = (await (await signInFrom("login", email, "laptop", null)).json()) as { refresh_token: string };
    // Rotate, wait out the grace window, present the old token again: reuse, the session ends.
    expect((await refresh(laptop.refresh_token)).status).toBe(200);
    vi.setSystemTime(Date.now() + 11_000);
    expect((await refresh(laptop.refresh_token)).status).toBe(401);

    const after = await stats();
    const delta = (a: Record<string, number>, b: Record<string, number>, key: string) => (a[key] ?? 0) - (b[key] ?? 0);
    expect(after.live_sessions - before.live_sessions).toBe(2);
    expect(delta(after.live_sessions_by_device_type, before.live_sessions_by_device_type, "mobile")).toBe(1);
    expect(delta(after.live_sessions_by_device_type, before.live_sessions_by_device_type, "tablet")).toBe(1);
    expect(delta(after.live_sessions_by_device_type, before.live_sessions_by_device_type, "desktop")).toBe(0);
    expect(delta(after.live_sessions_by_country, before.live_sessions_by_country, "IS")).toBe(1);
    expect(delta(after.live_sessions_by_country, before.live_sessions_by_country, "NZ")).toBe(1);
    expect(after.last_day.sign_ins - before.last_day.sign_ins).toBe(3);
    expect(after.last_day.refresh_token_reuse_detections - before.last_day.refresh_token_reuse_detections).toBe(1);
    expect(delta(after.session_lifetimes.buckets, before.session_lifetimes.buckets, "under_1h")).toBe(1);
    expect(Object.keys(after.session_lifetimes.buckets)).toEqual(["under_1h", "1h_to_1d", "1d_to_7d", "7d_to_30d", "30d_or_more"]);
  });

  it("should leave sign-ins older than a day out of the last day's count", async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ["Date"] });
    expect((await signInFrom("signup", uniqueEmail(), "laptop", null)).status).toBe(201);
    const soon = await stats();
    vi.setSystemTime(Date.now() + 86_400_000 + 1000);
    const later = await stats();
    expect(later.last_day.sign_ins).toBeLessThan(soon.last_day.sign_ins);
  });
});
