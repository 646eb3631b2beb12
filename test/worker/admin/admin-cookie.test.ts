import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN_COOKIE_NAME, adminCookieValue } from "../../../src/worker/admin/cookie";
import { app } from "../../../src/worker/app";
import { call, expectProblem, freshIp, ORIGIN, refresh, signUp } from "../../support/http";
import { breakLimiter } from "../../support/limiter";
import { held } from "../../support/openapi";

const TOKEN = env.ADMIN_TOKEN!;
const now = () => Math.floor(Date.now() / 1000);

function signIn(token: string, init: { ip?: string; origin?: string | null } = {}) {
  const headers: Record<string, string> = { "CF-Connecting-IP": init.ip ?? freshIp() };
  if (init.origin !== null) headers.Origin = init.origin ?? ORIGIN;
  return call("/admin/session", { method: "POST", json: { token }, headers });
}

/** The admin cookie a sign-in set, as `name=value`, and its attributes. */
function adminCookieOf(response: Response): { pair: string; value: string; attributes: string } {
  const line = response.headers.getSetCookie().find((cookie) => cookie.startsWith(`${ADMIN_COOKIE_NAME}=`));
  expect(line, "an admin cookie was set").toBeDefined();
  const [pair, ...attributes] = line!.split(/;\s*/);
  return { pair: pair!, value: pair!.slice(ADMIN_COOKIE_NAME.length + 1), attributes: attributes.join("; ") };
}

async function signedInCookie(): Promise<string> {
  const response = await signIn(TOKEN);
  expect(response.status).toBe(204);
  return adminCookieOf(response).pair;
}

const api = (path: string, cookie: string | undefined, init: RequestInit = {}) =>
  call(`/admin/api${path}`, { ...init, ...(cookie === undefined ? {} : { cookie }) });

afterEach(() => vi.restoreAllMocks());

describe("the admin dashboard's cookie", () => {
  it("should be set for ADMIN_TOKEN only: a signed value, scoped to /admin, HttpOnly, SameSite=Strict, Secure, 30 minutes", async () => {
    const response = await signIn(TOKEN);
    expect(response.status).toBe(204);
    const cookie = adminCookieOf(response);
    expect(cookie.attributes.split("; ").sort()).toEqual(["HttpOnly", "Max-Age=1800", "Path=/admin", "SameSite=Strict", "Secure"]);
    expect(cookie.value).toMatch(/^v1\.\d+\.[A-Za-z0-9_-]{43}$/);
    expect(cookie.value).not.toContain(TOKEN);
    const expiresAt = Number(cookie.value.split(".")[1]);
    expect(expiresAt - now()).toBeGreaterThan(1790);
    expect(expiresAt - now()).toBeLessThanOrEqual(1800);
  });

  it("should refuse a wrong token with 401 and set no cookie", async () => {
    const wrong = `${TOKEN.slice(0, -1)}${TOKEN.endsWith("A") ? "B" : "A"}`;
    const response = await signIn(wrong);
    await expectProblem(response, 401, "admin_unauthorized");
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  it("should open the admin API under /admin/api with the cookie, and nothing without it", async () => {
    const cookie = await signedInCookie();
    const stats = await api("/stats", cookie);
    expect(stats.status).toBe(200);
    expect(await stats.json()).toMatchObject({ live_sessions: expect.any(Number) });
    expect(stats.headers.get("Cache-Control")).toBe("no-store");
    await expectProblem(await api("/stats", undefined), 401, "admin_unauthorized");
    // The page knows whether to show the sign-in form without asking.
    expect(await (await call("/admin", { cookie })).text()).toContain('data-signed-in="true"');
    expect(await (await call("/admin")).text()).toContain('data-signed-in="false"');
  });

  it("should refuse an expired cookie, a tampered one and one signed under another ADMIN_TOKEN", async () => {
    const cookie = (value: string) => `${ADMIN_COOKIE_NAME}=${value}`;
    expect((await api("/stats", cookie(await adminCookieValue(TOKEN, now() + 60)))).status).toBe(200);
    await expectProblem(await api("/stats", cookie(await adminCookieValue(TOKEN, now() - 1))), 401, "admin_unauthorized");
    // Tampered: a later expiry under the old MAC, and one MAC character changed.
    const valid = await adminCookieValue(TOKEN, now() - 1);
    const [, , mac] = valid.split(".");
    await expectProblem(await api("/stats", cookie(`v1.${now() + 3600}.${mac}`)), 401, "admin_unauthorized");
    const live = await adminCookieValue(TOKEN, now() + 60);
    const flipped = `${live.slice(0, -2)}${live.at(-2) === "A" ? "B" : "A"}${live.at(-1)}`;
    await expectProblem(await api("/stats", cookie(flipped)), 401, "admin_unauthorized");
    // Rotating ADMIN_TOKEN ends every admin cookie.
    await expectProblem(await api("/stats", cookie(await adminCookieValue(`${TOKEN}-rotated`, now() + 60))), 401, "admin_unauthorized");
    // The ADMIN_TOKEN itself is no admin cookie.
    await expectProblem(await api("/stats", cookie(TOKEN)), 401, "admin_unauthorized");
  });

  it("should refuse every unsafe request without exactly this Origin (CSRF), with the cookie or not", async () => {
    const cookie = await signedInCookie();
    const reconcile = "/users/usr_AAAAAAAAAAAAAAAAAAAAAA/reconcile";
    const refused: Record<string, string>[] = [
      {},
      { Origin: "https://evil.test" },
      { Origin: "null" },
      { "Sec-Fetch-Site": "same-origin" },
    ];
    for (const headers of refused) {
      await expectProblem(await api(reconcile, cookie, { method: "POST", headers }), 403, "csrf_rejected");
      await expectProblem(await call("/admin/session", { method: "DELETE", cookie, headers }), 403, "csrf_rejected");
    }
    await expectProblem(await signIn(TOKEN, { origin: null }), 403, "csrf_rejected");
    await expectProblem(await signIn(TOKEN, { origin: "https://evil.test" }), 403, "csrf_rejected");
    // With it, the request reaches the admin route (which knows no such user).
    await expectProblem(await api(reconcile, cookie, { method: "POST", headers: { Origin: ORIGIN } }), 404, "not_found");
  });

  it("should sign out by clearing the cookie at its path", async () => {
    const cookie = await signedInCookie();
    const response = await call("/admin/session", { method: "DELETE", cookie, headers: { Origin: ORIGIN } });
    expect(response.status).toBe(204);
    const cleared = adminCookieOf(response);
    expect(cleared.value).toBe("");
    expect(cleared.attributes).toContain("Max-Age=0");
    expect(cleared.attributes).toContain("Path=/admin");
  });

  it("should act through the registry like the API: a session signed out from the dashboard cannot refresh", async () => {
    const cookie = await signedInCookie();
    const user = await signUp();
    const listed = await api(`/users/${user.userId}/sessions`, cookie);
    expect(((await listed.json()) as { sessions: { id: string }[] }).sessions.map((s) => s.id)).toEqual([user.sessionId]);
    const revoked = await api(`/users/${user.userId}/sessions/${user.sessionId}`, cookie, {
      method: "DELETE",
      headers: { Origin: ORIGIN },
    });
    expect(revoked.status).toBe(204);
    await expectProblem(await refresh(user.refreshToken), 401, "invalid_refresh_token");
    // ...and the user's history, read through the admin history route, says so.
    const history = await api(`/users/${user.userId}/security-events`, cookie);
    expect(history.status).toBe(200);
    const types = ((await history.json()) as { events: { type: string }[] }).events.map((event) => event.type);
    expect(types).toContain("signed_in");
  });
});

describe("the admin dashboard's sign-in limit", () => {
  it("should allow five wrong tokens per address in 15 minutes, then refuse even the right one there with 429, and not elsewhere", async () => {
    const ip = freshIp();
    for (let i = 0; i < 5; i++) await expectProblem(await signIn("wrong-admin-token-of-enough-length", { ip }), 401, "admin_unauthorized");
    const refused = await signIn(TOKEN, { ip });
    await expectProblem(refused, 429, "rate_limited");
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect((await signIn(TOKEN)).status).toBe(204);
  });

  it("should not count a right token against the address", async () => {
    const ip = freshIp();
    for (let i = 0; i < 6; i++) expect((await signIn(TOKEN, { ip })).status).toBe(204);
  });

  it("should fail closed (503) when the limiter cannot be reached, and set no cookie", async () => {
    breakLimiter();
    const response = await signIn(TOKEN);
    await expectProblem(response, 503, "service_unavailable");
    expect(response.headers.getSetCookie()).toEqual([]);
  });
});

describe("the admin dashboard without ADMIN_TOKEN", () => {
  it("should answer 404 for the page, the sign-in and the data, as the admin API does", async () => {
    const cookie = `${ADMIN_COOKIE_NAME}=${await adminCookieValue(TOKEN, now() + 60)}`;
    for (const ADMIN_TOKEN of [undefined, ""]) {
      for (const [method, path, body] of [
        ["GET", "/admin", undefined],
        ["POST", "/admin/session", JSON.stringify({ token: TOKEN })],
        ["DELETE", "/admin/session", undefined],
        ["GET", "/admin/api/stats", undefined],
      ] as const) {
        const request = new Request(`${ORIGIN}${path}`, {
          method,
          body,
          headers: { Origin: ORIGIN, Cookie: cookie, "Content-Type": "application/json", "CF-Connecting-IP": freshIp() },
        });
        const response = await held(request, await app.fetch(request, { ...env, ADMIN_TOKEN }, createExecutionContext()));
        await expectProblem(response, 404, "not_found");
      }
    }
  });
});
