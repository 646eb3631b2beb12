import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { history } from "../../support/devices";
import { call, expectProblem, me, refresh, signInOn } from "../../support/http";
import { registry, setRegistryD1 } from "../../support/registry";

const mirrorRow = (sessionId: string) => env.DB.prepare("SELECT * FROM sessions WHERE id = ?").bind(sessionId).first<Record<string, any>>();
const admin = (path: string, method = "GET") => call(`/v1/admin${path}`, { method, token: env.ADMIN_TOKEN! });

async function expectUnusable(device: { accessToken: string; refreshToken: string }) {
  await expectProblem(await me(device.accessToken), 401, "invalid_token");
  await expectProblem(await refresh(device.refreshToken), 401, "invalid_refresh_token");
}

describe("consistency between the registry and D1", () => {
  it("should repair a D1 write lost after the registry committed an admin revocation on the next alarm, the session never usable meanwhile", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    await setRegistryD1(laptop!.userId, true);

    expect((await admin(`/users/${laptop!.userId}/sessions/${phone!.sessionId}`, "DELETE")).status).toBe(204);
    await expectUnusable(phone!);
    expect((await mirrorRow(phone!.sessionId))!.revoked_at).toBeNull(); // D1 is behind...

    await runDurableObjectAlarm(registry(laptop!.userId)); // ...a retry while D1 is still down changes nothing...
    await expectUnusable(phone!);
    expect((await mirrorRow(phone!.sessionId))!.revoked_at).toBeNull();

    await setRegistryD1(laptop!.userId, false);
    expect(await runDurableObjectAlarm(registry(laptop!.userId))).toBe(true); // ...and the first one after it is back converges.
    expect(await mirrorRow(phone!.sessionId)).toMatchObject({ revoked_reason: "admin", revoked_at: expect.any(Number) });
    await expectUnusable(phone!);
    expect((await me(laptop!.accessToken)).status).toBe(200);
  });

  it("should show the user's history complete before the alarm has repaired D1: reading it pushes what the registry still holds", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    await setRegistryD1(laptop!.userId, true);
    expect((await call(`/v1/sessions/${phone!.sessionId}`, { method: "DELETE", token: laptop!.accessToken })).status).toBe(204);
    await setRegistryD1(laptop!.userId, false); // D1 is back; no alarm has run

    const events = await history(laptop!.accessToken);
    expect(events[0]).toMatchObject({ type: "session_revoked", session_id: phone!.sessionId, details: { revoked_by: "other_device" } });
    expect((await mirrorRow(phone!.sessionId))!.revoked_at).toEqual(expect.any(Number));
  });

  it("should close, on reconcile, D1 rows that claim live while the registry says otherwise", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    expect((await admin(`/users/${laptop!.userId}/sessions/${phone!.sessionId}`, "DELETE")).status).toBe(204);
    // D1 drifts: the revocation is lost, and a row the registry never held appears.
    await env.DB.prepare("UPDATE sessions SET revoked_at = NULL, revoked_reason = NULL, revoked_by = NULL WHERE id = ?")
      .bind(phone!.sessionId)
      .run();
    const now = Date.now();
    await env.DB.prepare(
      "INSERT INTO sessions (id, user_id, device_name, created_at, last_active_at, expires_at) VALUES ('ses_ghostghostghostghostgh', ?, 'ghost', ?, ?, ?)",
    )
      .bind(laptop!.userId, now - 1000, now - 1000, now + 86_400_000)
      .run();

    const response = await admin(`/users/${laptop!.userId}/reconcile`, "POST");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ mirrored: true, live_sessions: 1, stale_rows_closed: 1 });

    expect(await mirrorRow(phone!.sessionId)).toMatchObject({ revoked_reason: "admin", revoked_at: expect.any(Number) });
    expect(await mirrorRow("ses_ghostghostghostghostgh")).toMatchObject({ revoked_reason: "reconciled", revoked_at: expect.any(Number) });
    expect(await mirrorRow(laptop!.sessionId)).toMatchObject({ revoked_at: null });
    expect((await me(laptop!.accessToken)).status).toBe(200);
  });
});
