import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expectProblem, signInOn, signUp } from "../support/http";

// examples/consumer runs as its own Worker, bound to this service's SessionService entrypoint.
function consumer(path: string, token?: string) {
  return env.EXAMPLE_CONSUMER.fetch(`https://consumer.test${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
}

const MODES = ["strict", "cached", "stateless"] as const;

describe("the example consumer Worker", () => {
  it.each(MODES)("should accept a live session on /%s and expose it to the handler", async (mode) => {
    const device = await signUp();
    const response = await consumer(`/${mode}`, device.accessToken);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      userId: device.userId,
      sessionId: device.sessionId,
      mode,
      claims: { sub: device.userId },
    });
  });

  it.each(MODES)("should answer 401 with WWW-Authenticate Bearer on /%s without a valid token", async (mode) => {
    for (const token of [undefined, "garbage"]) {
      const response = await consumer(`/${mode}`, token);
      expect(response.headers.get("WWW-Authenticate")).toBe('Bearer error="invalid_token"');
      await expectProblem(response, 401, "invalid_token");
    }
  });

  it("should see a revocation at once in strict mode, within its bound in cached mode, and not in stateless mode", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    // The cached route confirms the session once, and remembers it for its 5 s bound.
    expect((await consumer("/cached", phone!.accessToken)).status).toBe(200);

    expect(await env.SESSION_SERVICE.revokeSession(laptop!.userId, phone!.sessionId, "lost_device")).toEqual({ ok: true, revoked: true });

    expect((await consumer("/strict", phone!.accessToken)).status).toBe(401);
    const cached = await consumer("/cached", phone!.accessToken);
    expect(cached.status).toBe(200);
    expect(((await cached.json()) as { liveness: string }).liveness).toBe("cached");
    // Stateless checks the signature only: the token works until it expires (see consumer/README.md).
    expect((await consumer("/stateless", phone!.accessToken)).status).toBe(200);
    expect((await consumer("/strict", laptop!.accessToken)).status).toBe(200);
  });

  it("should refuse in cached mode a revoked session it had not confirmed before", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    await env.SESSION_SERVICE.revokeSession(laptop!.userId, phone!.sessionId, "lost_device");
    expect((await consumer("/cached", phone!.accessToken)).status).toBe(401);
  });
});
