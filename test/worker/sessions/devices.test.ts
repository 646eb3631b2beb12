import { describe, expect, it } from "vitest";
import { call, expectProblem, me, refresh, signInOn } from "../../support/http";

describe("the device journey", () => {
  it("should list three signed-in devices with exactly one marked current", async () => {
    const [laptop, phone, tablet] = await signInOn("laptop", "phone", "tablet");
    const response = await call("/v1/sessions", { token: phone!.accessToken });
    expect(response.status).toBe(200);
    const { sessions } = (await response.json()) as { sessions: any[] };
    expect(sessions.map((s) => s.id).sort()).toEqual([laptop!.sessionId, phone!.sessionId, tablet!.sessionId].sort());
    expect(sessions.filter((s) => s.current).map((s) => s.id)).toEqual([phone!.sessionId]);
    const laptopEntry = sessions.find((s) => s.id === laptop!.sessionId);
    expect(laptopEntry.device).toEqual({ name: "Chrome on Windows", browser: "Chrome", os: "Windows", type: "desktop" });
    expect(laptopEntry.ip).toBe(laptop!.ip);
    expect(laptopEntry.location).toEqual({ country: null, region: null, city: null });
    expect(sessions.find((s) => s.id === phone!.sessionId).device.type).toBe("mobile");
    for (const s of sessions) {
      expect(Object.keys(s).sort()).toEqual([
        "binding",
        "confirmed",
        "created_at",
        "current",
        "device",
        "expires_at",
        "id",
        "ip",
        "last_active_at",
        "location",
        "sign_in_method",
      ]);
      expect(new Date(s.expires_at).getTime()).toBeGreaterThan(Date.now());
    }
  });

  it("should refuse a revoked device's unexpired access token and refresh token on the next request, while the others keep working", async () => {
    const [laptop, phone, tablet] = await signInOn("laptop", "phone", "tablet");
    expect((await me(phone!.accessToken)).status).toBe(200);

    const revoked = await call(`/v1/sessions/${phone!.sessionId}`, { method: "DELETE", token: laptop!.accessToken });
    expect(revoked.status).toBe(204);

    const refused = await me(phone!.accessToken);
    await expectProblem(refused, 401, "invalid_token");
    expect(refused.headers.get("WWW-Authenticate")).toBe('Bearer error="invalid_token"');
    await expectProblem(await refresh(phone!.refreshToken), 401, "invalid_refresh_token");

    expect((await me(laptop!.accessToken)).status).toBe(200);
    expect((await me(tablet!.accessToken)).status).toBe(200);
    expect((await refresh(tablet!.refreshToken)).status).toBe(200);
    const list = (await (await call("/v1/sessions", { token: laptop!.accessToken })).json()) as { sessions: any[] };
    expect(list.sessions.map((s) => s.id)).not.toContain(phone!.sessionId);
    expect(list.sessions).toHaveLength(2);
  });

  it("should answer 404 for a session id that is not one of the caller's live sessions", async () => {
    const [mine] = await signInOn("laptop");
    const [theirs] = await signInOn("phone");
    await expectProblem(await call(`/v1/sessions/${theirs!.sessionId}`, { method: "DELETE", token: mine!.accessToken }), 404, "not_found");
    await expectProblem(await call(`/v1/sessions/nonsense`, { method: "DELETE", token: mine!.accessToken }), 404, "not_found");
    expect((await me(theirs!.accessToken)).status).toBe(200);
  });

  it("should let a device delete its own session, after which its token is refused", async () => {
    const [laptop] = await signInOn("laptop");
    expect((await call(`/v1/sessions/${laptop!.sessionId}`, { method: "DELETE", token: laptop!.accessToken })).status).toBe(204);
    await expectProblem(await me(laptop!.accessToken), 401, "invalid_token");
  });
});
