import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectProblem, me, refresh, signInOn, uniqueEmail } from "../../support/http";

const admin = (path: string, method = "GET") => call(`/v1/admin${path}`, { method, token: env.ADMIN_TOKEN! });
const mirrorRow = (sessionId: string) => env.DB.prepare("SELECT * FROM sessions WHERE id = ?").bind(sessionId).first<Record<string, any>>();

describe("admin: users and their sessions", () => {
  it("should find a user by email, whatever its case, and answer 404 for an unknown one", async () => {
    const [device] = await signInOn("laptop");
    const found = await admin(`/users?email=${encodeURIComponent(device!.email.toUpperCase())}`);
    expect(found.status).toBe(200);
    expect(found.headers.get("Cache-Control")).toBe("no-store");
    expect(await found.json()).toEqual({
      user: { id: device!.userId, email: device!.email, created_at: expect.any(String), password_changed_at: null, disabled_at: null },
    });
    await expectProblem(await admin(`/users?email=${encodeURIComponent(uniqueEmail("nobody"))}`), 404, "not_found");
    await expectProblem(await admin("/users?email=not-an-email"), 400, "validation_failed");
  });

  it("should find a user with ?q= by id or by email in any case, and refuse q together with email", async () => {
    const [device] = await signInOn("laptop");
    for (const q of [device!.userId, device!.email.toUpperCase(), `  ${device!.email}  `]) {
      const found = await admin(`/users?q=${encodeURIComponent(q)}`);
      expect(found.status).toBe(200);
      expect(((await found.json()) as any).user.id).toBe(device!.userId);
    }
    // An id is case-sensitive: another case is another (absent) id, and no email either.
    await expectProblem(await admin(`/users?q=${device!.userId.toLowerCase()}`), 404, "not_found");
    await expectProblem(await admin(`/users?q=${encodeURIComponent(uniqueEmail("nobody"))}`), 404, "not_found");
    const both = (await expectProblem(
      await admin(`/users?q=x&email=${encodeURIComponent(device!.email)}`),
      400,
      "validation_failed",
    )) as any;
    expect(both.errors.map((e: any) => e.field)).toEqual(["q"]);
    const neither = (await expectProblem(await admin("/users"), 400, "validation_failed")) as any;
    expect(neither.errors.map((e: any) => e.field)).toEqual(["email"]);
  });

  it("should answer a user by id, and 404 for an id that is not one", async () => {
    const [device] = await signInOn("laptop");
    const found = await admin(`/users/${device!.userId}`);
    expect(found.status).toBe(200);
    expect(found.headers.get("Cache-Control")).toBe("no-store");
    expect(await found.json()).toEqual({
      user: { id: device!.userId, email: device!.email, created_at: expect.any(String), password_changed_at: null, disabled_at: null },
    });
    await expectProblem(await admin("/users/usr_AAAAAAAAAAAAAAAAAAAAAA"), 404, "not_found");
    await expectProblem(await admin("/users/not-a-user-id"), 404, "not_found");
  });

  it("should list a user's live sessions from the registry, with ended ones from D1 on request", async () => {
    const [laptop, phone, tablet] = await signInOn("laptop", "phone", "tablet");
    await call(`/v1/sessions/${tablet!.sessionId}`, { method: "DELETE", token: laptop!.accessToken });
    const response = await admin(`/users/${laptop!.userId}/sessions?history=true`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      sessions: Array<{ id: string; current: boolean }>;
      history: Array<{ id: string; revoked_reason: string }>;
    };
    expect(body.sessions.map((s) => s.id).sort()).toEqual([laptop!.sessionId, phone!.sessionId].sort());
    expect(body.sessions.every((s) => s.current === false)).toBe(true);
    expect(body.history).toEqual([expect.objectContaining({ id: tablet!.sessionId, revoked_reason: "revoked_by_other_device" })]);
    await expectProblem(await admin("/users/usr_AAAAAAAAAAAAAAAAAAAAAA/sessions"), 404, "not_found");
  });

  it("should revoke one session as an admin, at once, and answer 404 for one that is not live", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    expect((await admin(`/users/${laptop!.userId}/sessions/${phone!.sessionId}`, "DELETE")).status).toBe(204);
    await expectProblem(await me(phone!.accessToken), 401, "invalid_token");
    await expectProblem(await refresh(phone!.refreshToken), 401, "invalid_refresh_token");
    expect((await me(laptop!.accessToken)).status).toBe(200);
    expect(await mirrorRow(phone!.sessionId)).toMatchObject({ revoked_reason: "admin", revoked_by: null });
    await expectProblem(await admin(`/users/${laptop!.userId}/sessions/${phone!.sessionId}`, "DELETE"), 404, "not_found");
  });

  it("should revoke all of a user's sessions as an admin", async () => {
    const devices = await signInOn("laptop", "phone", "tablet");
    const response = await admin(`/users/${devices[0]!.userId}/sessions/revoke-all`, "POST");
    expect(await response.json()).toEqual({ revoked: 3 });
    for (const device of devices) {
      await expectProblem(await me(device.accessToken), 401, "invalid_token");
      expect(await mirrorRow(device.sessionId)).toMatchObject({ revoked_reason: "admin" });
    }
  });
});
