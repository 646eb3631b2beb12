import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { call, me, PASSWORD, type SignedIn, signInOn } from "../../support/http";
import { breakRegistry, crashRegistry, holdRegistryD1, registry, registrySql } from "../../support/registry";

/**
 * A password change cut off at each step boundary (docs/storage-schema.md, "Crash consistency").
 * After the restart and the alarm, exactly one of two states holds: nothing happened (the old
 * password works, no session ended, no `password_changed`), or all of it did (the new password
 * works, the other sessions ended for it, one `password_changed`), and the history says which.
 */
const NEW_PASSWORD = "a brand new passphrase";
const login = (email: string, password: string) =>
  call("/v1/auth/login", { method: "POST", json: { email, password, token_transport: "body" } });
const change = (device: SignedIn) =>
  call("/v1/auth/password", {
    method: "POST",
    token: device.accessToken,
    json: { current_password: PASSWORD, new_password: NEW_PASSWORD },
  });

async function d1History(userId: string) {
  const rows = await env.DB.prepare("SELECT type, session_id, details FROM security_events WHERE user_id = ? ORDER BY id")
    .bind(userId)
    .all<{ type: string; session_id: string | null; details: string }>();
  return rows.results;
}

async function expectUnchanged(laptop: SignedIn, phone: SignedIn) {
  expect((await me(phone.accessToken)).status).toBe(200);
  expect((await me(laptop.accessToken)).status).toBe(200);
  expect((await login(laptop.email, NEW_PASSWORD)).status).toBe(401);
  expect((await login(laptop.email, PASSWORD)).status).toBe(200);
  const history = await d1History(laptop.userId);
  expect(history.filter((event) => event.type === "password_changed" || event.type === "session_revoked")).toEqual([]);
}

async function expectChanged(laptop: SignedIn, phone: SignedIn) {
  expect((await me(phone.accessToken)).status).toBe(401);
  expect((await me(laptop.accessToken)).status).toBe(200);
  expect((await login(laptop.email, PASSWORD)).status).toBe(401);
  expect((await login(laptop.email, NEW_PASSWORD)).status).toBe(200);
  const history = await d1History(laptop.userId);
  expect(history.filter((event) => event.type === "password_changed").map((event) => event.session_id)).toEqual([laptop.sessionId]);
  const revoked = history.filter((event) => event.type === "session_revoked");
  expect(revoked.map((event) => [event.session_id, JSON.parse(event.details).reason])).toEqual([[phone.sessionId, "password_changed"]]);
  expect(await registrySql(laptop.userId, "SELECT pending_password_hash FROM account")).toEqual([{ pending_password_hash: null }]);
}

describe("a password change cut off by a crash", () => {
  it("should have no effect when the Worker dies before the registry records the change", async () => {
    const [laptop, phone] = (await signInOn("laptop", "phone")) as [SignedIn, SignedIn];
    // The Worker checked the password and hashed the new one; its call to the registry never arrives.
    breakRegistry(() => new Error("process died (injected)"), ["sessionChangePassword", "sessionRevokeOthers"]);
    expect((await change(laptop)).status).toBe(503);
    vi.restoreAllMocks();
    await crashRegistry(laptop.userId);
    await runDurableObjectAlarm(registry(laptop.userId));
    await expectUnchanged(laptop, phone);
  });

  it("should complete from the registry's record when the process dies before the new hash reaches D1", async () => {
    const [laptop, phone] = (await signInOn("laptop", "phone")) as [SignedIn, SignedIn];
    await runDurableObjectAlarm(registry(laptop.userId));
    const held = await holdRegistryD1(laptop.userId);
    const changing = change(laptop);
    await held.reached();
    await crashRegistry(laptop.userId);
    await changing.catch(() => undefined);
    // Before the alarm: the change is in force in the registry, and the old password no longer
    // signs in although D1 still holds it.
    expect((await login(laptop.email, PASSWORD)).status).toBe(401);
    expect(await runDurableObjectAlarm(registry(laptop.userId))).toBe(true);
    await expectChanged(laptop, phone);
  });

  it("should complete once, with one event, when D1 got the new hash but the registry never heard back", async () => {
    const [laptop, phone] = (await signInOn("laptop", "phone")) as [SignedIn, SignedIn];
    await runDurableObjectAlarm(registry(laptop.userId));
    const held = await holdRegistryD1(laptop.userId, { landed: true });
    const changing = change(laptop);
    await held.reached();
    await crashRegistry(laptop.userId);
    await changing.catch(() => undefined);
    expect(await runDurableObjectAlarm(registry(laptop.userId))).toBe(true);
    await expectChanged(laptop, phone);
  });

  it("should complete in full when the crash comes after the registry answered", async () => {
    const [laptop, phone] = (await signInOn("laptop", "phone")) as [SignedIn, SignedIn];
    expect((await change(laptop)).status).toBe(204);
    await crashRegistry(laptop.userId);
    await runDurableObjectAlarm(registry(laptop.userId));
    await expectChanged(laptop, phone);
  });
});
