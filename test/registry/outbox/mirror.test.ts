import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { call, expectProblem, me, refresh, signInOn } from "../../support/http";
import { holdRegistryD1, registry, setRegistryD1 } from "../../support/registry";

const mirrorRow = (sessionId: string) => env.DB.prepare("SELECT * FROM sessions WHERE id = ?").bind(sessionId).first<Record<string, any>>();

describe("the D1 mirror of the registry", () => {
  it("should mirror each new session with its device and place, and each revocation with its reason", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    // A sign-in's mirror write lands after its answer (the next test), so it is waited for.
    await vi.waitFor(async () =>
      expect(await mirrorRow(phone!.sessionId)).toMatchObject({
        user_id: phone!.userId,
        device_type: "mobile",
        os: "iOS",
        revoked_at: null,
      }),
    );
    await call(`/v1/sessions/${phone!.sessionId}`, { method: "DELETE", token: laptop!.accessToken });
    expect(await mirrorRow(phone!.sessionId)).toMatchObject({
      revoked_reason: "revoked_by_other_device",
      revoked_by: laptop!.sessionId,
      revoked_at: expect.any(Number),
    });
  });

  it("should revoke at once while D1 is down, and bring D1 in line on the next alarm", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    await setRegistryD1(laptop!.userId, true);

    expect((await call(`/v1/sessions/${phone!.sessionId}`, { method: "DELETE", token: laptop!.accessToken })).status).toBe(204);
    // The registry decides liveness: the session is out although D1 still shows it live.
    await expectProblem(await me(phone!.accessToken), 401, "invalid_token");
    await expectProblem(await refresh(phone!.refreshToken), 401, "invalid_refresh_token");
    expect((await mirrorRow(phone!.sessionId))!.revoked_at).toBeNull();

    // A failing alarm run keeps the change queued...
    expect(await runDurableObjectAlarm(registry(laptop!.userId))).toBe(true);
    expect((await mirrorRow(phone!.sessionId))!.revoked_at).toBeNull();
    await expectProblem(await me(phone!.accessToken), 401, "invalid_token");

    // ...and the first one after D1 is back lands it.
    await setRegistryD1(laptop!.userId, false);
    expect(await runDurableObjectAlarm(registry(laptop!.userId))).toBe(true);
    expect(await mirrorRow(phone!.sessionId)).toMatchObject({ revoked_reason: "revoked_by_other_device", revoked_at: expect.any(Number) });
    await expectProblem(await me(phone!.accessToken), 401, "invalid_token");
    expect((await me(laptop!.accessToken)).status).toBe(200);
  });

  it("should answer a sign-in without waiting for its D1 mirror write, which lands after", async () => {
    const [laptop] = await signInOn("laptop");
    await registry(laptop!.userId).adminRemirror();
    const d1 = await holdRegistryD1(laptop!.userId);
    const login = call("/v1/auth/login", {
      method: "POST",
      json: { email: laptop!.email, password: "correct horse battery staple", token_transport: "body" },
    });
    await d1.reached();
    // The mirror write is still held, and the sign-in has its answer: a live session.
    const answered = await login;
    expect(answered.status).toBe(200);
    const { session, access_token } = (await answered.json()) as any;
    expect((await me(access_token)).status).toBe(200);
    expect(await mirrorRow(session.id)).toBeNull();
    // Released, the write lands without anything else asking for it.
    await d1.release();
    await vi.waitFor(async () => expect(await mirrorRow(session.id)).toMatchObject({ id: session.id, revoked_at: null }));
  });

  it("should still sign in while D1 cannot take the session mirror, and mirror it later", async () => {
    const [laptop] = await signInOn("laptop");
    await setRegistryD1(laptop!.userId, true);
    const login = await call("/v1/auth/login", {
      method: "POST",
      json: { email: laptop!.email, password: "correct horse battery staple", token_transport: "body" },
    });
    expect(login.status).toBe(200);
    const { session, access_token } = (await login.json()) as any;
    expect((await me(access_token)).status).toBe(200);
    expect(await mirrorRow(session.id)).toBeNull();
    await setRegistryD1(laptop!.userId, false);
    await runDurableObjectAlarm(registry(laptop!.userId));
    expect(await mirrorRow(session.id)).toMatchObject({ id: session.id, revoked_at: null });
  });
});
