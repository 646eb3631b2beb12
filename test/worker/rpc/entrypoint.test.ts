import { env, WorkerEntrypoint } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SessionService } from "../../../src/worker/rpc/session-service";
import { me, signInOn, signUp } from "../../support/http";

describe("SessionService over a service binding", () => {
  it("should verify a live access token with its user, session and claims", async () => {
    const device = await signUp();
    const result = await env.SESSION_SERVICE.verify(device.accessToken);
    expect(result).toMatchObject({ ok: true, userId: device.userId, sessionId: device.sessionId });
    if (!result.ok) throw new Error("unreachable");
    expect(result.claims).toMatchObject({
      sub: device.userId,
      sid: device.sessionId,
      iss: "https://auth.example.com",
      aud: "https://api.example.com",
    });
  });

  it("should answer invalid_token, not throw, for garbage, a tampered token or a non-string", async () => {
    const device = await signUp();
    const tampered = device.accessToken.slice(0, -4) + (device.accessToken.endsWith("AAAA") ? "BBBB" : "AAAA");
    for (const token of ["", "not-a-jwt", tampered, "x".repeat(5000), 42 as unknown as string, null as unknown as string]) {
      expect(await env.SESSION_SERVICE.verify(token)).toEqual({ ok: false, code: "invalid_token" });
    }
  });

  it("should refuse the token of a session revoked through revokeSession, at once", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    expect(await env.SESSION_SERVICE.revokeSession(laptop!.userId, phone!.sessionId, "fraud_suspected")).toEqual({
      ok: true,
      revoked: true,
    });
    expect(await env.SESSION_SERVICE.verify(phone!.accessToken)).toEqual({ ok: false, code: "invalid_token" });
    expect((await me(phone!.accessToken)).status).toBe(401);
    expect((await env.SESSION_SERVICE.verify(laptop!.accessToken)).ok).toBe(true);
    // Idempotent: the second call revokes nothing.
    expect(await env.SESSION_SERVICE.revokeSession(laptop!.userId, phone!.sessionId, "fraud_suspected")).toEqual({
      ok: true,
      revoked: false,
    });
  });

  it("should list the live sessions of a user and end them all with revokeAllSessions", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    const listed = await env.SESSION_SERVICE.listSessions(laptop!.userId);
    if (!listed.ok) throw new Error(`list failed: ${listed.code}`);
    expect(listed.sessions.map((s) => s.id).sort()).toEqual([laptop!.sessionId, phone!.sessionId].sort());
    expect(await env.SESSION_SERVICE.revokeAllSessions(laptop!.userId, "account_locked")).toEqual({ ok: true, revoked: 2 });
    expect(await env.SESSION_SERVICE.listSessions(laptop!.userId)).toEqual({ ok: true, sessions: [] });
    expect((await env.SESSION_SERVICE.verify(laptop!.accessToken)).ok).toBe(false);
  });

  it("should return validation_failed for malformed ids and reasons instead of throwing", async () => {
    const device = await signUp();
    const bad = { ok: false, code: "validation_failed" };
    expect(await env.SESSION_SERVICE.listSessions("alice")).toMatchObject(bad);
    expect(await env.SESSION_SERVICE.revokeSession(device.userId, "ses_short", "service")).toMatchObject(bad);
    expect(await env.SESSION_SERVICE.revokeSession(device.userId, device.sessionId, "Reason With Spaces\n")).toMatchObject(bad);
    expect(await env.SESSION_SERVICE.revokeAllSessions(device.userId, "x".repeat(33))).toMatchObject(bad);
    expect(await env.SESSION_SERVICE.revokeAllSessions({ id: device.userId } as unknown as string, "service")).toMatchObject(bad);
    // Every pattern is anchored at both ends (consumer/ids.ts, REVOKE_REASON_PATTERN).
    for (const userId of [`x${device.userId}`, `${device.userId}x`])
      expect(await env.SESSION_SERVICE.listSessions(userId), userId).toMatchObject(bad);
    for (const sessionId of [`x${device.sessionId}`, `${device.sessionId}x`])
      expect(await env.SESSION_SERVICE.revokeSession(device.userId, sessionId, "service"), sessionId).toMatchObject(bad);
    for (const reason of ["!service", "service!"])
      expect(await env.SESSION_SERVICE.revokeAllSessions(device.userId, reason), reason).toMatchObject(bad);
    expect((await env.SESSION_SERVICE.verify(device.accessToken)).ok).toBe(true);
  });
});

describe("SessionService RPC surface", () => {
  // workerd makes callable across a binding every member of the entrypoint's prototype chain below
  // WorkerEntrypoint, TypeScript `private` included, so helpers must not be methods. The rule is
  // checked on the class rather than by calling the names over the binding: such a call is refused,
  // but the refusal also surfaces as an uncaught rejection inside workerd, which prints it.
  const notExposed = ["checkAccessToken", "failClosed", "audit", "invalidArgument", "loadKeySet", "registryFor"];
  const exposed = new Set<string>();
  for (let proto = SessionService.prototype; proto !== WorkerEntrypoint.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) if (name !== "constructor") exposed.add(name);
  }

  it("should expose the four RPC methods and fetch, and nothing else", () => {
    expect([...exposed].sort()).toEqual(["fetch", "listSessions", "revokeAllSessions", "revokeSession", "verify"]);
  });

  it.each(notExposed)("should not expose %s over the binding", (name) => {
    expect(exposed.has(name)).toBe(false);
  });

  it("should not expose the entrypoint's env or ctx over the binding", async () => {
    const stub = env.SESSION_SERVICE as unknown as Record<string, Promise<unknown>>;
    await expect(Promise.resolve().then(() => stub.env)).rejects.toThrow(/does not implement/);
    await expect(Promise.resolve().then(() => stub.ctx)).rejects.toThrow(/does not implement/);
  });

  it("should serve the JWKS through binding.fetch and nothing else", async () => {
    const jwks = await env.SESSION_SERVICE.fetch("https://edge-sessions.internal/.well-known/jwks.json");
    expect(jwks.status).toBe(200);
    expect(((await jwks.json()) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
    for (const path of ["/healthz", "/v1/me", "/v1/auth/login"]) {
      expect((await env.SESSION_SERVICE.fetch(`https://edge-sessions.internal${path}`)).status).toBe(404);
    }
  });
});
