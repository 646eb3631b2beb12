import { afterEach, describe, expect, it, vi } from "vitest";
import { call, expectProblem, me, ORIGIN, PASSWORD, refresh, refreshCookieOf, signUp, USER_AGENTS, uniqueEmail } from "../../support/http";

afterEach(() => {
  vi.useRealTimers();
});

describe("refresh-token rotation", () => {
  it("should rotate the refresh token on every use and issue a working access token", async () => {
    const device = await signUp();
    const first = await refresh(device.refreshToken);
    expect(first.status).toBe(200);
    expect(first.headers.get("Cache-Control")).toBe("no-store");
    const body = (await first.json()) as any;
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 600 });
    expect(body.refresh_token).not.toBe(device.refreshToken);
    expect((await me(body.access_token)).status).toBe(200);
    const second = (await (await refresh(body.refresh_token)).json()) as any;
    expect(second.refresh_token).not.toBe(body.refresh_token);
  });

  it("should return the same successor when the previous token is presented again inside the grace window", async () => {
    const device = await signUp();
    const a = (await (await refresh(device.refreshToken)).json()) as any;
    const b = (await (await refresh(device.refreshToken)).json()) as any;
    expect(b.refresh_token).toBe(a.refresh_token);
    // The chain did not fork: the shared successor keeps working, and the session is alive.
    const next = await refresh(a.refresh_token);
    expect(next.status).toBe(200);
    expect((await me(((await next.json()) as any).access_token)).status).toBe(200);
  });

  it("should treat a rotated-out token presented after the grace window as reuse and revoke the whole session", async () => {
    const device = await signUp();
    const rotated = (await (await refresh(device.refreshToken)).json()) as any;
    vi.useFakeTimers({ now: Date.now() + 11_000, toFake: ["Date"] });
    await expectProblem(await refresh(device.refreshToken), 401, "invalid_refresh_token");
    // The session is gone: its access tokens and its current refresh token stop working.
    await expectProblem(await me(device.accessToken), 401, "invalid_token");
    await expectProblem(await me(rotated.access_token), 401, "invalid_token");
    await expectProblem(await refresh(rotated.refresh_token), 401, "invalid_refresh_token");
  });

  it("should treat an older generation as reuse even inside the grace window of a later rotation", async () => {
    const device = await signUp();
    const g1 = (await (await refresh(device.refreshToken)).json()) as any;
    const g2 = (await (await refresh(g1.refresh_token)).json()) as any;
    await expectProblem(await refresh(device.refreshToken), 401, "invalid_refresh_token");
    await expectProblem(await refresh(g2.refresh_token), 401, "invalid_refresh_token");
  });

  it("should not revoke the session for a forged token that only copies its ids", async () => {
    const device = await signUp();
    const [user, session] = device.refreshToken.split(".");
    const forged = `${user}.${session}.0.${"A".repeat(43)}.${"B".repeat(43)}`;
    await expectProblem(await refresh(forged), 401, "invalid_refresh_token");
    expect((await refresh(device.refreshToken)).status).toBe(200);
  });

  it("should refuse garbage, empty and over-long tokens with 401", async () => {
    for (const token of ["", "x", "a.b.c.d.e", "A".repeat(400)]) {
      await expectProblem(await refresh(token), 401, "invalid_refresh_token");
    }
    await expectProblem(await call("/v1/auth/refresh", { method: "POST" }), 401, "invalid_refresh_token");
  });

  it("should refuse a refresh token after its absolute lifetime", async () => {
    const device = await signUp();
    vi.useFakeTimers({ now: Date.now() + 30 * 86400_000 + 1000, toFake: ["Date"] });
    await expectProblem(await refresh(device.refreshToken), 401, "invalid_refresh_token");
  });

  it("should survive twenty concurrent refreshes of one token: no 500, one successor, session usable", async () => {
    const device = await signUp();
    const responses = await Promise.all(Array.from({ length: 20 }, () => refresh(device.refreshToken)));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as any[];
    const successors = new Set(bodies.map((b) => b.refresh_token));
    expect(successors.size).toBe(1);
    const [successor] = successors;
    expect((await me(bodies[19].access_token)).status).toBe(200);
    expect((await refresh(successor as string)).status).toBe(200);
  });
});

describe("refresh through the cookie", () => {
  async function signUpWithCookie() {
    const response = await call("/v1/auth/signup", {
      method: "POST",
      json: { email: uniqueEmail(), password: PASSWORD },
      headers: { "User-Agent": USER_AGENTS.laptop },
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as any;
    expect(body.refresh_token).toBeUndefined();
    return { body, cookie: refreshCookieOf(response)! };
  }

  it("should set, beside it, a script-readable __Host-signed_in=1 marker for as long, and clear both at logout", async () => {
    const signup = await call("/v1/auth/signup", {
      method: "POST",
      json: { email: uniqueEmail(), password: PASSWORD },
      headers: { "User-Agent": USER_AGENTS.laptop },
    });
    // The devices page reads it to know a refresh is worth trying; it holds no secret, so not HttpOnly.
    const marker = (response: Response) => response.headers.getSetCookie().find((line) => line.startsWith("__Host-signed_in="));
    const set = marker(signup)!;
    expect(set).toMatch(/^__Host-signed_in=1;/);
    expect(set).toMatch(/; Path=\//);
    expect(set).toMatch(/; Secure/);
    expect(set).toMatch(/; SameSite=Strict/);
    expect(set).not.toMatch(/HttpOnly/);
    expect(/; Max-Age=(\d+)/.exec(set)?.[1]).toBe(/; Max-Age=(\d+)/.exec(refreshCookieOf(signup)!.attributes)?.[1]);
    const logout = await call("/v1/auth/logout", { method: "POST", cookie: `__Host-refresh_token=${refreshCookieOf(signup)!.value}` });
    expect(marker(logout)).toMatch(/^__Host-signed_in=; .*Max-Age=0/);
  });

  it("should set an HttpOnly, Secure, SameSite=Strict __Host- cookie for the refresh token's lifetime at signup and rotate it on refresh", async () => {
    const { cookie } = await signUpWithCookie();
    expect(cookie.attributes).toMatch(/HttpOnly/);
    expect(cookie.attributes).toMatch(/Secure/);
    expect(cookie.attributes).toMatch(/SameSite=Strict/);
    expect(cookie.attributes).toMatch(/Path=\//);
    // It lives as long as the refresh token (REFRESH_TOKEN_TTL_SECONDS, 30 days by default), not a session cookie's while.
    const maxAge = Number(/; Max-Age=(\d+)/.exec(cookie.attributes)?.[1]);
    expect(maxAge).toBeGreaterThan(30 * 86400 - 60);
    expect(maxAge).toBeLessThanOrEqual(30 * 86400);
    const response = await call("/v1/auth/refresh", { method: "POST", cookie: `__Host-refresh_token=${cookie.value}` });
    expect(response.status).toBe(200);
    const rotated = refreshCookieOf(response)!;
    expect(rotated.value).not.toBe(cookie.value);
    expect(((await response.json()) as any).refresh_token).toBeUndefined();
  });

  it("should prefer the body token when both a cookie and a body token are sent", async () => {
    const viaCookie = await signUpWithCookie();
    const viaBody = await signUp();
    const response = await call("/v1/auth/refresh", {
      method: "POST",
      cookie: `__Host-refresh_token=${viaCookie.cookie.value}`,
      json: { refresh_token: viaBody.refreshToken },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as any;
    expect(body.refresh_token).toBeDefined();
    const { payload } = decode(body.access_token);
    expect(payload.sid).toBe(viaBody.sessionId);
  });

  it("should refuse a cookie refresh with a foreign Origin, and accept one with our own or none", async () => {
    const { cookie } = await signUpWithCookie();
    const send = (origin?: string, value = cookie.value) =>
      call("/v1/auth/refresh", { method: "POST", cookie: `__Host-refresh_token=${value}`, headers: origin ? { Origin: origin } : {} });
    await expectProblem(await send("https://evil.example"), 403, "csrf_rejected");
    await expectProblem(await send("null"), 403, "csrf_rejected");
    const own = await send(ORIGIN);
    expect(own.status).toBe(200);
    const none = await send(undefined, refreshCookieOf(own)!.value);
    expect(none.status).toBe(200);
  });

  it("should clear the cookie when the refresh token it holds is refused", async () => {
    const response = await call("/v1/auth/refresh", { method: "POST", cookie: "__Host-refresh_token=bogus" });
    await expectProblem(response, 401, "invalid_refresh_token");
    expect(refreshCookieOf(response)!.attributes).toMatch(/Max-Age=0/);
  });
});

function decode(jwt: string) {
  const [header, payload] = jwt
    .split(".")
    .slice(0, 2)
    .map((part) => JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/"))));
  return { header, payload };
}
