import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MIRROR_GUARD_MS } from "../../../src/registry/outbox";
import { call, expectProblem, me, refresh, signInOn } from "../../support/http";
import { crashRegistry, holdRegistryD1, registry, registryAlarmAt, registrySql } from "../../support/registry";

/**
 * The process dies between the registry's commit and its D1 write (docs/storage-schema.md, "Crash
 * consistency"): the D1 batch is held, then the object is aborted. Nothing may be stranded: the
 * alarm is armed within the bound, and running it brings D1 to the registry's state.
 */
const d1Sessions = async (userId: string) =>
  Object.fromEntries(
    (
      await env.DB.prepare("SELECT id, revoked_reason FROM sessions WHERE user_id = ?")
        .bind(userId)
        .all<{ id: string; revoked_reason: string | null }>()
    ).results.map((row) => [row.id, row.revoked_reason]),
  );
const d1Events = async (userId: string, type: string) =>
  (
    await env.DB.prepare("SELECT session_id FROM security_events WHERE user_id = ? AND type = ? ORDER BY session_id")
      .bind(userId, type)
      .all<{
        session_id: string | null;
      }>()
  ).results.map((row) => row.session_id);

describe("a revocation whose D1 write is cut off by a crash", () => {
  it("should arm the alarm with the commit and, after the restart, mirror the stranded rows and events within the bound", async () => {
    const [laptop, phone, tablet] = await signInOn("laptop", "phone", "tablet");
    const userId = laptop!.userId;
    await runDurableObjectAlarm(registry(userId));
    const held = await holdRegistryD1(userId);
    const revoking = call("/v1/auth/logout-others", { method: "POST", token: laptop!.accessToken });
    await held.reached();
    // Armed by the revoking transaction itself, before anything was written to D1.
    const armed = await registryAlarmAt(userId);
    expect(armed).not.toBeNull();
    expect(armed! - Date.now()).toBeLessThanOrEqual(MIRROR_GUARD_MS);
    await crashRegistry(userId);
    await revoking.catch(() => undefined);
    // Stranded: the registry has ended them, D1 still shows them live.
    expect(await d1Sessions(userId)).toMatchObject({ [phone!.sessionId]: null, [tablet!.sessionId]: null });

    // The restarted registry arms the alarm at once for what a dead process left behind.
    const rearmed = await registryAlarmAt(userId);
    expect(rearmed).not.toBeNull();
    expect(rearmed! - Date.now()).toBeLessThanOrEqual(MIRROR_GUARD_MS);
    expect(await runDurableObjectAlarm(registry(userId))).toBe(true);
    expect(await d1Sessions(userId)).toEqual({
      [laptop!.sessionId]: null,
      [phone!.sessionId]: "revoked_by_other_device",
      [tablet!.sessionId]: "revoked_by_other_device",
    });
    expect(await d1Events(userId, "session_revoked")).toEqual([phone!.sessionId, tablet!.sessionId].sort());
    // Revoked stays revoked; the survivor is untouched.
    for (const device of [phone!, tablet!]) {
      await expectProblem(await me(device.accessToken), 401, "invalid_token");
      await expectProblem(await refresh(device.refreshToken), 401, "invalid_refresh_token");
    }
    expect((await me(laptop!.accessToken)).status).toBe(200);
  });

  it("should keep an acknowledged rotation across the crash: the token it answered refreshes", async () => {
    const [laptop] = await signInOn("laptop");
    const rotated = await refresh(laptop!.refreshToken);
    expect(rotated.status).toBe(200);
    const successor = ((await rotated.json()) as { refresh_token: string }).refresh_token;
    await crashRegistry(laptop!.userId);
    const next = await refresh(successor);
    expect(next.status).toBe(200);
  });

  it("should mirror a change whose D1 batch landed but whose answer was lost, once, with nothing left pending", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    const userId = laptop!.userId;
    await runDurableObjectAlarm(registry(userId));
    const held = await holdRegistryD1(userId, { landed: true });
    const revoking = call(`/v1/sessions/${phone!.sessionId}`, { method: "DELETE", token: laptop!.accessToken });
    await held.reached();
    await crashRegistry(userId);
    await revoking.catch(() => undefined);
    expect(await runDurableObjectAlarm(registry(userId))).toBe(true);
    expect(await d1Sessions(userId)).toMatchObject({ [phone!.sessionId]: "revoked_by_other_device" });
    expect(await d1Events(userId, "session_revoked")).toEqual([phone!.sessionId]);
    expect(await registrySql(userId, "SELECT id FROM sessions WHERE version > mirrored_version")).toEqual([]);
  });
});
