import { describe, expect, it } from "vitest";
import { call, expectProblem, me, PASSWORD, refresh, refreshCookieOf, signInOn, USER_AGENTS, uniqueEmail } from "../../support/http";

describe("logout", () => {
  it("should end the caller's session with a bearer token and be idempotent", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    const first = await call("/v1/auth/logout", { method: "POST", token: laptop!.accessToken });
    expect(first.status).toBe(204);
    expect(refreshCookieOf(first)!.attributes).toMatch(/Max-Age=0/);
    await expectProblem(await me(laptop!.accessToken), 401, "invalid_token");
    await expectProblem(await refresh(laptop!.refreshToken), 401, "invalid_refresh_token");
    expect((await call("/v1/auth/logout", { method: "POST", token: laptop!.accessToken })).status).toBe(204);
    expect((await me(phone!.accessToken)).status).toBe(200);
  });

  it("should end the session of a refresh cookie and clear the cookie", async () => {
    const signup = await call("/v1/auth/signup", {
      method: "POST",
      json: { email: uniqueEmail(), password: PASSWORD },
      headers: { "User-Agent": USER_AGENTS.laptop },
    });
    const { access_token } = (await signup.json()) as any;
    const cookie = `__Host-refresh_token=${refreshCookieOf(signup)!.value}`;
    const response = await call("/v1/auth/logout", { method: "POST", cookie });
    expect(response.status).toBe(204);
    expect(refreshCookieOf(response)!.attributes).toMatch(/Max-Age=0/);
    await expectProblem(await me(access_token), 401, "invalid_token");
    expect((await call("/v1/auth/logout", { method: "POST", cookie })).status).toBe(204);
    expect((await call("/v1/auth/logout", { method: "POST" })).status).toBe(204);
  });

  it("should refuse a cookie logout from a foreign origin", async () => {
    const signup = await call("/v1/auth/signup", { method: "POST", json: { email: uniqueEmail(), password: PASSWORD } });
    const { access_token } = (await signup.json()) as any;
    const cookie = `__Host-refresh_token=${refreshCookieOf(signup)!.value}`;
    await expectProblem(
      await call("/v1/auth/logout", { method: "POST", cookie, headers: { Origin: "https://evil.example" } }),
      403,
      "csrf_rejected",
    );
    expect((await me(access_token)).status).toBe(200);
  });

  it("should change no cookie for a cross-site logout, which carries no SameSite=Strict cookie", async () => {
    const signup = await call("/v1/auth/signup", { method: "POST", json: { email: uniqueEmail(), password: PASSWORD } });
    const { access_token } = (await signup.json()) as any;
    const cookie = `__Host-refresh_token=${refreshCookieOf(signup)!.value}`;
    // A foreign page's form POST, as Chromium sends it: Origin and Fetch Metadata, no cookie.
    const crossSite: Record<string, string>[] = [
      { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site", "Content-Type": "application/x-www-form-urlencoded" },
      { Origin: "null", "Sec-Fetch-Site": "cross-site" },
      // A proxy that strips Origin still leaves Fetch Metadata.
      { "Sec-Fetch-Site": "cross-site" },
      { "Sec-Fetch-Site": "same-site" },
    ];
    for (const headers of crossSite) {
      const response = await call("/v1/auth/logout", { method: "POST", headers });
      await expectProblem(response, 403, "csrf_rejected");
      expect(response.headers.getSetCookie(), JSON.stringify(headers)).toEqual([]);
    }
    // The browser still holds a working cookie, and its session is live.
    expect((await call("/v1/auth/refresh", { method: "POST", cookie })).status).toBe(200);
    expect((await me(access_token)).status).toBe(200);
  });

  it("should change no cookie for a logout that carries no credential at all", async () => {
    const sameOrigin: Record<string, string>[] = [
      {},
      { "Sec-Fetch-Site": "same-origin" },
      // Fetch Metadata's "none": the user started it (a bookmark, the address bar), no other site did.
      { "Sec-Fetch-Site": "none" },
      { Origin: "https://auth.test", "Sec-Fetch-Site": "same-origin" },
    ];
    for (const headers of sameOrigin) {
      const response = await call("/v1/auth/logout", { method: "POST", headers });
      expect(response.status).toBe(204);
      expect(response.headers.getSetCookie(), JSON.stringify(headers)).toEqual([]);
    }
  });

  it("should refuse a forged bearer token at logout", async () => {
    await expectProblem(await call("/v1/auth/logout", { method: "POST", token: "not.a.jwt" }), 401, "invalid_token");
  });
});

describe("logout-others and logout-all", () => {
  it("should end every other session and keep the caller's", async () => {
    const [laptop, phone, tablet] = await signInOn("laptop", "phone", "tablet");
    const response = await call("/v1/auth/logout-others", { method: "POST", token: laptop!.accessToken });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ revoked: 2 });
    expect((await me(laptop!.accessToken)).status).toBe(200);
    await expectProblem(await me(phone!.accessToken), 401, "invalid_token");
    await expectProblem(await me(tablet!.accessToken), 401, "invalid_token");
    await expectProblem(await refresh(tablet!.refreshToken), 401, "invalid_refresh_token");
    expect(await (await call("/v1/auth/logout-others", { method: "POST", token: laptop!.accessToken })).json()).toEqual({ revoked: 0 });
  });

  it("should end every session including the caller's, and clear its cookie", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    const response = await call("/v1/auth/logout-all", { method: "POST", token: phone!.accessToken });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ revoked: 2 });
    expect(refreshCookieOf(response)!.attributes).toMatch(/Max-Age=0/);
    await expectProblem(await me(laptop!.accessToken), 401, "invalid_token");
    await expectProblem(await me(phone!.accessToken), 401, "invalid_token");
    await expectProblem(await call("/v1/auth/logout-all", { method: "POST", token: phone!.accessToken }), 401, "invalid_token");
  });
});
