import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { history, login, PLACES, signedInFrom } from "../../support/devices";
import { call, expectProblem, PASSWORD, refresh, type SignedIn, signUp } from "../../support/http";

/**
 * The dashboard against data whose every figure this file knows. The clock is moved to a fixed
 * moment years ahead, so whatever else the suite wrote to D1 (at today's time) is outside every
 * window: expired, and older than every series.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2031, 2, 10, 10, 20); // 10:20 UTC: the hourly series' last bucket is 10:00–11:00
const admin = (path: string) => call(`/v1/admin${path}`, { token: env.ADMIN_TOKEN! });
const at = (ms: number) => vi.setSystemTime(ms);
const zeros = (n: number) => new Array<number>(n).fill(0);
const refreshFrom = (refreshToken: string, cf: Record<string, unknown>) =>
  call("/v1/auth/refresh", { method: "POST", json: { refresh_token: refreshToken }, cf });

let busy: SignedIn[]; // A: laptop (no place), laptop from Lagos, phone from Toronto
let quiet: string; // B: its user id; both of its sessions ended
const IDLE_ID = "ses_dashboardidle000000000";

async function json(path: string) {
  const response = await admin(path);
  expect(response.status).toBe(200);
  return (await response.json()) as any;
}

async function insertSession(row: { id: string; created: number; lastActive: number; expires: number; revoked?: [number, string] }) {
  await env.DB.prepare(
    `INSERT INTO sessions (id, user_id, device_name, browser, os, device_type, created_at, last_active_at, expires_at, revoked_at, revoked_reason)
     VALUES (?, 'usr_dashboardseeded0000000', 'Seeded', 'Firefox', 'Linux', 'desktop', ?, ?, ?, ?, ?)`,
  )
    .bind(row.id, row.created, row.lastActive, row.expires, row.revoked?.[0] ?? null, row.revoked?.[1] ?? null)
    .run();
}

beforeAll(async () => {
  vi.useFakeTimers({ now: T0 - 3 * HOUR, toFake: ["Date"] });
  // A, at 07:20: three sign-ins, one wrong password, three findings.
  const a = await signUp("laptop");
  at(T0 - 3 * HOUR + 60_000);
  const lagos = await signedInFrom(await login(a.email, { cf: PLACES.lagos }), a.email);
  at(T0 - 3 * HOUR + 10 * 60_000);
  // A phone (new device) in Toronto ten minutes after Lagos (impossible travel).
  const toronto = await signedInFrom(await login(a.email, { device: "phone", cf: PLACES.toronto }), a.email);
  at(T0 - 3 * HOUR + 11 * 60_000);
  // The Lagos session refreshes from Toronto: a change of country and network (no travel: Toronto was the last place).
  expect((await refreshFrom(lagos.refreshToken, PLACES.toronto)).status).toBe(200);
  expect((await login(a.email, { password: `${PASSWORD} but wrong` })).status).toBe(401);
  // "Yes, it was me" about the phone's findings; the Lagos session's network change stays unanswered.
  const { notices } = (await (await call("/v1/notices", { token: toronto.accessToken })).json()) as any;
  const aboutPhone = notices.find((notice: any) => notice.session_id === toronto.sessionId);
  expect((await call(`/v1/notices/${aboutPhone.id}/confirm`, { method: "POST", token: toronto.accessToken })).status).toBe(200);
  busy = [a, lagos, toronto];
  await history(toronto.accessToken); // the registry pushes its outbox to D1 first

  // B, at 10:20: two sign-ins (the second a new device), then reuse ends one session and B signs the other out.
  at(T0);
  const phone = await signUp("phone");
  quiet = phone.userId;
  const laptop = await signedInFrom(await login(phone.email), phone.email);
  expect((await refresh(laptop.refreshToken)).status).toBe(200);
  at(T0 + 11_000);
  expect((await refresh(laptop.refreshToken)).status).toBe(401);
  at(T0 + 12_000);
  expect((await call("/v1/auth/logout", { method: "POST", token: phone.accessToken })).status).toBe(204);

  // Older history, written straight to D1: two sign-ins five days ago, one failure 40 days ago (outside every window).
  for (const [id, type, when] of [
    ["evt_dashboardold1", "signed_in", T0 - 5 * DAY],
    ["evt_dashboardold2", "signed_in", T0 - 5 * DAY + HOUR],
    ["evt_dashboardold3", "sign_in_failed", T0 - 40 * DAY],
  ] as const) {
    const device = { name: "Seeded", browser: "Firefox", os: "Linux", type: "desktop" };
    const place = { ip: null, country: null, region: null, city: null, latitude: null, longitude: null, colo: null, asn: null };
    const details = type === "signed_in" ? { device, place, method: "password", passkey: null } : { device, place, known_device: false };
    await env.DB.prepare(
      "INSERT INTO security_events (id, user_id, type, session_id, created_at, details) VALUES (?, 'usr_dashboardseeded0000000', ?, NULL, ?, ?)",
    )
      .bind(id, type, when, JSON.stringify(details))
      .run();
  }
  // Ended sessions: one reached its 30-day lifetime in use yesterday, one went idle (14 days unused)
  // six days ago, one was ended by a password change two days ago after two hours.
  await insertSession({ id: "ses_dashboardexpired000000", created: T0 - 31 * DAY, lastActive: T0 - DAY - HOUR, expires: T0 - DAY });
  await insertSession({ id: IDLE_ID, created: T0 - 20 * DAY, lastActive: T0 - 20 * DAY + HOUR, expires: T0 + 10 * DAY });
  await insertSession({
    id: "ses_dashboardpassword00000",
    created: T0 - 2 * DAY,
    lastActive: T0 - 2 * DAY + HOUR,
    expires: T0 + 28 * DAY,
    revoked: [T0 - 2 * DAY + 2 * HOUR, "password_changed"],
  });
  at(T0 + 60_000);
});

afterAll(() => {
  vi.useRealTimers();
});

describe("GET /v1/admin/dashboard", () => {
  it("should put each sign-in, failure, finding, reuse and revocation in its hour and its day", async () => {
    const body = await json("/dashboard");
    expect(body).toMatchObject({ generated_at: new Date(T0 + 60_000).toISOString(), time_zone: "UTC", cache_seconds: 60 });
    expect(body.hourly.start).toBe(new Date(Date.UTC(2031, 2, 9, 11)).toISOString());
    expect(body.hourly.step_seconds).toBe(3600);
    const hour = (at7: number, at10: number) => Object.assign(zeros(24), { 20: at7, 23: at10 });
    expect(body.hourly.series).toEqual({
      sign_ins: hour(3, 2),
      failed_sign_ins: hour(1, 0),
      new_devices: hour(1, 1),
      impossible_travel: hour(1, 0),
      network_change: hour(1, 0),
      refresh_token_reuse: hour(0, 1),
      revocations: hour(0, 2),
    });
    expect(body.daily.start).toBe(new Date(Date.UTC(2031, 1, 9)).toISOString());
    expect(body.daily.step_seconds).toBe(86_400);
    const day = (today: number, fiveDaysAgo = 0) => Object.assign(zeros(30), { 24: fiveDaysAgo, 29: today });
    expect(body.daily.series).toEqual({
      sign_ins: day(5, 2),
      failed_sign_ins: day(1),
      new_devices: day(2),
      impossible_travel: day(1),
      network_change: day(1),
      refresh_token_reuse: day(1),
      revocations: day(2),
    });
  });

  it("should count live sessions by device type, browser, OS and country, leaving ended and idle ones out", async () => {
    const { live } = await json("/dashboard");
    // A's three sessions. D1 keeps the Lagos one in Lagos: a refresh's place reaches the mirror with
    // its hourly activity write, not at once. The idle seeded row is not live.
    expect(live).toEqual({
      total: 3,
      by_device_type: { desktop: 2, mobile: 1 },
      by_browser: { Chrome: 2, "Mobile Safari": 1 },
      by_os: { Windows: 2, iOS: 1 },
      by_country: { CA: 1, NG: 1, unknown: 1 },
    });
  });

  it("should say how the sessions of the last 30 days ended and how long they lived", async () => {
    const { endings, lifetimes } = await json("/dashboard");
    expect(endings.window_days).toBe(30);
    expect(Object.entries(endings.by_reason).filter(([, n]) => n !== 0)).toEqual([
      ["signed_out", 1],
      ["password_changed", 1],
      ["refresh_token_reuse", 1],
      ["expired", 1],
      ["idle", 1],
    ]);
    expect(Object.keys(endings.by_reason)).toContain("session_limit");
    expect(lifetimes).toEqual({
      ended_within_days: 30,
      buckets: [
        { key: "under_1h", up_to_seconds: 3600, count: 2 },
        { key: "1h_to_1d", up_to_seconds: 86_400, count: 1 },
        { key: "1d_to_7d", up_to_seconds: 604_800, count: 0 },
        { key: "7d_to_30d", up_to_seconds: 2_592_000, count: 1 },
        { key: "30d_or_more", up_to_seconds: null, count: 1 },
      ],
    });
  });

  it("should name the day's busiest and riskiest accounts with their counts", async () => {
    const { top_accounts } = await json("/dashboard");
    const [a] = busy;
    expect(top_accounts.busiest).toEqual([
      { user_id: a!.userId, email: a!.email, sign_ins: 3 },
      { user_id: quiet, email: expect.any(String), sign_ins: 2 },
    ]);
    expect(top_accounts.riskiest).toEqual([
      { user_id: a!.userId, email: a!.email, findings: 3 },
      { user_id: quiet, email: expect.any(String), findings: 1 },
    ]);
  });

  it("should serve the same figures for the rest of the minute, and fresh ones after it", async () => {
    const first = await json("/dashboard");
    // An operator signs A's phone out: the figures show it within the minute, not before.
    const [a, , toronto] = busy;
    expect(
      (await call(`/v1/admin/users/${a!.userId}/sessions/${toronto!.sessionId}`, { method: "DELETE", token: env.ADMIN_TOKEN! })).status,
    ).toBe(204);
    expect((await json("/dashboard")).live.total).toBe(first.live.total);
    at(T0 + 2 * 60_000);
    const fresh = await json("/dashboard");
    expect(fresh.live.total).toBe(first.live.total - 1);
    expect(fresh.hourly.series.revocations[23]).toBe(first.hourly.series.revocations[23] + 1);
    expect(fresh.generated_at).toBe(new Date(T0 + 2 * 60_000).toISOString());
  });
});

describe("the rows behind the figures", () => {
  it("should list the hour's sign-ins across users, newest first, page by page", async () => {
    const all = await json(`/events?type=signed_in&from=${new Date(T0 - DAY).toISOString()}`);
    expect(all.events.map((e: any) => e.user_id)).toEqual([quiet, quiet, busy[0]!.userId, busy[0]!.userId, busy[0]!.userId]);
    expect(all.events[4]).toMatchObject({ email: busy[0]!.email, event: { type: "signed_in", session_id: busy[0]!.sessionId } });
    expect(all.next_cursor).toBeNull();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await json(
        `/events?type=signed_in&from=${new Date(T0 - DAY).toISOString()}&limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(page.events.length).toBeLessThanOrEqual(2);
      seen.push(...page.events.map((e: any) => e.event.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(all.events.map((e: any) => e.event.id));
  });

  it("should list a finding's events by its kind alone, and the notice answers about it", async () => {
    const { events } = await json("/events?finding=impossible_travel");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ user_id: busy[0]!.userId, event: { type: "impossible_travel", session_id: busy[2]!.sessionId } });
    // With a notice answer type, only the answers about that finding.
    const answered = await json("/events?type=risk_acknowledged&finding=impossible_travel");
    expect(answered.events).toEqual([
      expect.objectContaining({
        user_id: busy[0]!.userId,
        event: expect.objectContaining({
          type: "risk_acknowledged",
          details: expect.objectContaining({ findings: ["new_device", "impossible_travel"] }),
        }),
      }),
    ]);
    expect((await json("/events?type=risk_acknowledged&finding=session_network_changed")).events).toEqual([]);
    // An empty parameter is an absent one (a form's empty field, a first page's `cursor=`).
    expect((await json("/events?finding=impossible_travel&type=&cursor=&from=")).events).toHaveLength(1);
    const older = await json(`/events?type=signed_in&to=${new Date(T0 - DAY).toISOString()}`);
    expect(older.events.map((e: any) => e.event.id)).toEqual(["evt_dashboardold2", "evt_dashboardold1"]);
  });

  it("should list live sessions by country and device type, and ended ones by how they ended", async () => {
    // Toronto's phone was signed out since, so Canada has no live session left.
    expect((await json("/sessions?state=live&country=CA")).sessions).toEqual([]);
    const nigeria = await json("/sessions?state=live&country=NG");
    expect(nigeria.sessions.map((s: any) => s.id)).toEqual([busy[1]!.sessionId]);
    expect(nigeria.sessions[0]).toMatchObject({ user_id: busy[0]!.userId, email: busy[0]!.email, ended_at: null, ending: null });
    expect((await json("/sessions?state=live&device_type=desktop")).sessions).toHaveLength(2);
    const idle = await json("/sessions?state=ended&reason=idle");
    expect(idle.sessions).toEqual([
      expect.objectContaining({ id: IDLE_ID, ending: "idle", ended_at: new Date(T0 - 6 * DAY + HOUR).toISOString() }),
    ]);
    const ended = await json("/sessions?state=ended");
    expect(ended.sessions.map((s: any) => s.ending)).toEqual([
      "admin",
      "signed_out",
      "refresh_token_reuse",
      "expired",
      "password_changed",
      "idle",
    ]);
    const firstPage = await json("/sessions?state=ended&limit=4");
    const rest = await json(`/sessions?state=ended&limit=4&cursor=${firstPage.next_cursor}`);
    expect([...firstPage.sessions, ...rest.sessions].map((s: any) => s.id)).toEqual(ended.sessions.map((s: any) => s.id));
    expect(rest.next_cursor).toBeNull();
  });

  it("should refuse a filter it cannot apply with 400 validation_failed naming the field", async () => {
    for (const [query, field] of [
      ["/events", "type"],
      ["/events?type=signed_in&finding=new_device", "finding"],
      ["/events?type=no_such_event", "type"],
      ["/events?type=signed_in&limit=1000", "limit"],
      ["/events?type=signed_in&cursor=bm90IGEgY3Vyc29y", "cursor"],
      [`/events?type=signed_in&from=${new Date(T0).toISOString()}&to=${new Date(T0 - DAY).toISOString()}`, "from"],
      ["/sessions", "state"],
      ["/sessions?state=live&reason=admin", "reason"],
      ["/sessions?state=ended&reason=vanished", "reason"],
      ["/sessions?state=live&from=yesterday", "from"],
    ] as const) {
      const body = (await expectProblem(await admin(query), 400, "validation_failed")) as any;
      expect(body.errors.map((e: any) => e.field)).toContain(field);
    }
  });
});
