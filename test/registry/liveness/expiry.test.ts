import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SessionRegistry } from "../../../src/registry/session-registry";
import { expectProblem, refresh, signUp } from "../../support/http";
import { registry } from "../../support/registry";

const TTL_MS = 30 * 86_400_000; // REFRESH_TOKEN_TTL_SECONDS default

afterEach(() => {
  vi.useRealTimers();
});

describe("expiry inside the registry", () => {
  it("should drop an expired session from the registry on its alarm, once D1 has its final state", async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ["Date"] });
    const device = await signUp();
    vi.setSystemTime(Date.now() + TTL_MS + 1000);
    await expectProblem(await refresh(device.refreshToken), 401, "invalid_refresh_token");

    expect(await runDurableObjectAlarm(registry(device.userId))).toBe(true);
    const rows = await runInDurableObject(registry(device.userId), (_instance: SessionRegistry, state) =>
      state.storage.sql.exec("SELECT id FROM sessions").toArray(),
    );
    expect(rows).toEqual([]);
    // D1 keeps the row (history) until the cleanup cron's retention passes.
    const mirrored = await env.DB.prepare("SELECT expires_at FROM sessions WHERE id = ?")
      .bind(device.sessionId)
      .first<{ expires_at: number }>();
    expect(mirrored!.expires_at).toBeLessThan(Date.now());
  });

  it("should keep a session that has not expired through the alarm", async () => {
    const device = await signUp();
    await runDurableObjectAlarm(registry(device.userId));
    expect((await refresh(device.refreshToken)).status).toBe(200);
  });
});
