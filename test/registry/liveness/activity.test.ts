import { listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, expectProblem, me, refresh, signInOn } from "../../support/http";
import { registry, registrySettled } from "../../support/registry";

const pendingMirror = (userId: string) =>
  runInDurableObject(
    registry(userId),
    (_instance, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sessions WHERE version > mirrored_version").one().n,
  );
const at = (ms: number) => vi.useFakeTimers({ now: ms, toFake: ["Date"] });

afterEach(() => {
  vi.useRealTimers();
});

describe("activity tracking", () => {
  it("should not queue a D1 write for every refresh: activity reaches D1 at most once an hour", async () => {
    const start = Date.now();
    const [laptop] = await signInOn("laptop");
    let token = laptop!.refreshToken;
    for (let minute = 10; minute <= 50; minute += 10) {
      at(start + minute * 60_000);
      token = ((await (await refresh(token)).json()) as any).refresh_token;
      expect(await pendingMirror(laptop!.userId)).toBe(0);
    }
    at(start + 61 * 60_000);
    token = ((await (await refresh(token)).json()) as any).refresh_token;
    expect(await pendingMirror(laptop!.userId)).toBe(1);
    await runDurableObjectAlarm(registry(laptop!.userId));
    expect(await pendingMirror(laptop!.userId)).toBe(0);
    const row = await env.DB.prepare("SELECT last_active_at FROM sessions WHERE id = ?")
      .bind(laptop!.sessionId)
      .first<{ last_active_at: number }>();
    expect(row!.last_active_at).toBe(start + 61 * 60_000);
  });

  it("should not count revoking a device as that device's activity", async () => {
    const start = Date.now();
    const [laptop, phone] = await signInOn("laptop", "phone");
    await registrySettled(laptop!.userId);
    const phoneCreatedAt = (await env.DB.prepare("SELECT created_at FROM sessions WHERE id = ?")
      .bind(phone!.sessionId)
      .first<{ created_at: number }>())!.created_at;
    at(start + 5 * 60_000);
    expect((await call(`/v1/sessions/${phone!.sessionId}`, { method: "DELETE", token: laptop!.accessToken })).status).toBe(204);
    const row = await env.DB.prepare("SELECT last_active_at, revoked_at FROM sessions WHERE id = ?")
      .bind(phone!.sessionId)
      .first<{ last_active_at: number; revoked_at: number }>();
    expect(row!.revoked_at).toBe(start + 5 * 60_000);
    expect(row!.last_active_at).toBe(phoneCreatedAt);
  });
});

describe("refresh tokens are checked before they are routed", () => {
  it("should not wake or create any Durable Object for a forged refresh token", async () => {
    const before = (await listDurableObjectIds(env.SESSION_REGISTRY)).length;
    const forged = `usr_${"Z".repeat(22)}.ses_${"Y".repeat(22)}.0.${"A".repeat(43)}.${"B".repeat(43)}`;
    await expectProblem(await refresh(forged), 401, "invalid_refresh_token");
    await call("/v1/auth/logout", { method: "POST", cookie: `__Host-refresh_token=${forged}` });
    expect((await listDurableObjectIds(env.SESSION_REGISTRY)).length).toBe(before);
  });
});

describe("logout with an expired access token", () => {
  it("should still end the session: possession, not freshness, is what logout needs", async () => {
    const [laptop] = await signInOn("laptop");
    at(Date.now() + 11 * 60_000);
    await expectProblem(await me(laptop!.accessToken), 401, "invalid_token");
    expect((await call("/v1/auth/logout", { method: "POST", token: laptop!.accessToken })).status).toBe(204);
    await expectProblem(await refresh(laptop!.refreshToken), 401, "invalid_refresh_token");
  });
});
