import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, expectProblem, type SignedIn, signInOn, signUp } from "../support/http";
import { breakRegistry } from "../support/registry";
import { clock, consumerApp, countingBinding } from "./support";

afterEach(() => {
  vi.restoreAllMocks();
});

/** What the handler sees: `c.get("session")`, which the test app answers with. */
function sessionOf(device: SignedIn, liveness: string, mode: string) {
  return {
    userId: device.userId,
    sessionId: device.sessionId,
    claims: expect.objectContaining({ sub: device.userId, sid: device.sessionId, iss: "https://auth.example.com" }),
    liveness,
    mode,
  };
}

async function revokedPhone() {
  const [laptop, phone] = await signInOn("laptop", "phone");
  const revoke = () => env.SESSION_SERVICE.revokeSession(laptop!.userId, phone!.sessionId, "lost_device");
  return { phone: phone!, revoke };
}

describe("requireSession strict mode", () => {
  it("should ask the service on every request and refuse a revoked session on the next call", async () => {
    const { binding, counts } = countingBinding();
    const request = consumerApp({ mode: "strict", binding: () => binding });
    const { phone, revoke } = await revokedPhone();
    expect((await request(phone.accessToken)).status).toBe(200);
    expect((await request(phone.accessToken)).status).toBe(200);
    expect(counts.verify).toBe(2);
    await revoke();
    await expectProblem(await request(phone.accessToken), 401, "invalid_token");
  });

  it("should refuse a token that is not a compact JWS without asking the service", async () => {
    const { binding, counts } = countingBinding();
    const request = consumerApp({ mode: "strict", binding: () => binding });
    for (const token of ["garbage", "a.b", "a.b.c.d", `${"a".repeat(2048)}.b.c`])
      await expectProblem(await request(token), 401, "invalid_token");
    expect(counts.verify).toBe(0);
  });

  it("should fail closed with 503 when the binding cannot answer", async () => {
    const { binding, state } = countingBinding();
    const request = consumerApp({ mode: "strict", binding: () => binding });
    const device = await signUp();
    state.broken = true;
    const response = await request(device.accessToken);
    expect(response.headers.get("Retry-After")).toBe("1");
    await expectProblem(response, 503, "session_service_unavailable");
  });
});

describe("requireSession cached mode", () => {
  it("should accept a revoked session until its bound passes, then refuse it", async () => {
    const time = clock();
    const { binding, counts } = countingBinding();
    const request = consumerApp({ mode: "cached", binding: () => binding, cacheTtlMs: 10_000, now: time.now });
    const { phone, revoke } = await revokedPhone();
    expect((await request(phone.accessToken)).status).toBe(200);
    await revoke();
    time.advance(9_999);
    expect((await request(phone.accessToken)).status).toBe(200);
    expect(counts.verify).toBe(1);
    time.advance(1);
    await expectProblem(await request(phone.accessToken), 401, "invalid_token");
    expect(counts.verify).toBe(2);
  });

  it("should verify signatures locally and spare the round trip while the session is remembered", async () => {
    const { binding, counts } = countingBinding();
    const request = consumerApp({ mode: "cached", binding: () => binding, now: clock().now });
    const device = await signUp();
    for (let i = 0; i < 3; i++) expect((await request(device.accessToken)).status).toBe(200);
    expect(counts).toEqual({ verify: 1, fetch: 1 });
    await expectProblem(await request("eyJhbGciOiJub25lIn0.e30."), 401, "invalid_token");
    expect(counts.verify).toBe(1);
  });

  it("should fail closed with 503 when the session must be confirmed and the binding cannot answer", async () => {
    const time = clock();
    const { binding, state } = countingBinding();
    const request = consumerApp({ mode: "cached", binding: () => binding, cacheTtlMs: 1_000, now: time.now });
    const device = await signUp();
    expect((await request(device.accessToken)).status).toBe(200);
    state.broken = true;
    expect((await request(device.accessToken)).status).toBe(200);
    time.advance(1_000);
    await expectProblem(await request(device.accessToken), 503, "session_service_unavailable");
  });
});

describe("requireSession stateless mode", () => {
  it("should accept a revoked session's token until it expires, then refuse it", async () => {
    const time = clock();
    const { binding, counts } = countingBinding();
    const request = consumerApp({ mode: "stateless", binding: () => binding, now: time.now });
    const { phone, revoke } = await revokedPhone();
    await revoke();
    expect((await request(phone.accessToken)).status).toBe(200);
    expect(counts.verify).toBe(0);
    time.advance(600_000 + 1_000);
    await expectProblem(await request(phone.accessToken), 401, "invalid_token");
  });
});

describe("requireSession, what the handler is given", () => {
  it("should give the handler the session, the claims and how liveness was established, in each mode", async () => {
    const device = await signUp();
    const { binding } = countingBinding();
    const strict = consumerApp({ mode: "strict", binding: () => binding });
    const cached = consumerApp({ mode: "cached", binding: () => binding, now: clock().now });
    const stateless = consumerApp({ mode: "stateless", binding: () => binding });
    expect(await (await strict(device.accessToken)).json()).toEqual(sessionOf(device, "confirmed", "strict"));
    expect(await (await cached(device.accessToken)).json()).toEqual(sessionOf(device, "confirmed", "cached"));
    expect(await (await cached(device.accessToken)).json()).toEqual(sessionOf(device, "cached", "cached"));
    expect(await (await stateless(device.accessToken)).json()).toEqual(sessionOf(device, "unchecked", "stateless"));
    const claims = ((await (await stateless(device.accessToken)).json()) as { claims: Record<string, unknown> }).claims;
    expect(Object.keys(claims).sort()).toEqual(["amr", "aud", "auth_time", "exp", "iat", "iss", "jti", "sid", "sub"]);
  });
});

describe("requireSession's refusals", () => {
  it("should refuse with the service's own problem+json for invalid_token (RFC 6750 §3)", async () => {
    const request = consumerApp({ mode: "stateless", binding: () => countingBinding().binding });
    const response = await request("garbage");
    expect(response.status).toBe(401);
    expect(response.headers.get("Content-Type")).toBe("application/problem+json");
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(response.headers.get("WWW-Authenticate")).toBe('Bearer error="invalid_token"');
    const body = await response.json();
    expect(body).toEqual({
      type: "urn:edge-sessions:problem:invalid_token",
      title: "The access token is missing, invalid, expired or revoked",
      status: 401,
      code: "invalid_token",
    });
    // Clients branch on one set of codes: the service answers the same type and code.
    const service = (await (await call("/v1/me", { token: "garbage" })).json()) as Record<string, unknown>;
    expect({ type: service.type, code: service.code, status: service.status }).toEqual({
      type: "urn:edge-sessions:problem:invalid_token",
      code: "invalid_token",
      status: 401,
    });
  });

  it("should answer 503, and log it, when the binding itself fails", async () => {
    const { binding, state } = countingBinding();
    const request = consumerApp({ mode: "strict", binding: () => binding });
    const device = await signUp();
    const logged: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void logged.push(String(line)));
    state.broken = true;
    const response = await request(device.accessToken);
    expect(response.status).toBe(503);
    expect(response.headers.get("Content-Type")).toBe("application/problem+json");
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(response.headers.get("Retry-After")).toBe("1");
    expect(await response.json()).toEqual({
      type: "urn:edge-sessions:problem:session_service_unavailable",
      title: "The session service could not be reached",
      status: 503,
      code: "session_service_unavailable",
    });
    expect(logged.map((line) => JSON.parse(line))).toEqual([
      { level: "error", msg: "session service call failed", error: "Error: network connection lost" },
    ]);
  });

  it.each(["strict", "cached"] as const)(
    "should answer 503, not 401, in %s mode when the service cannot tell whether the session is live",
    async (mode) => {
      const { binding } = countingBinding();
      const request = consumerApp({ mode, binding: () => binding, now: clock().now });
      const device = await signUp();
      breakRegistry(() => new Error("injected fault"), ["sessionCheck"]);
      vi.spyOn(console, "error").mockImplementation(() => {});
      await expectProblem(await request(device.accessToken), 503, "session_service_unavailable");
      vi.restoreAllMocks();
      expect((await request(device.accessToken)).status).toBe(200);
    },
  );
});

describe("requireSession cached mode, what a refusal does to the cache", () => {
  it("should not remember a refused session: the next request asks again", async () => {
    const { binding, counts } = countingBinding();
    const request = consumerApp({ mode: "cached", binding: () => binding, now: clock().now });
    const { phone, revoke } = await revokedPhone();
    await revoke();
    await expectProblem(await request(phone.accessToken), 401, "invalid_token");
    await expectProblem(await request(phone.accessToken), 401, "invalid_token");
    expect(counts.verify).toBe(2);
  });

  it("should drop a session from the cache when a refusal arrives after another request remembered it", async () => {
    const { binding, counts, holdVerify } = countingBinding();
    const request = consumerApp({ mode: "cached", binding: () => binding, now: clock().now });
    const [laptop, phone] = (await signInOn("laptop", "phone")) as [SignedIn, SignedIn];
    expect((await request(laptop.accessToken)).status).toBe(200);
    // One request of the phone's session is held on its way to the service...
    const release = holdVerify();
    const slow = request(phone.accessToken);
    await vi.waitFor(() => expect(counts.verify).toBe(2));
    // ...while another is confirmed and remembered; then the session is revoked, and the held check
    // reaches the service.
    expect((await request(phone.accessToken)).status).toBe(200);
    await env.SESSION_SERVICE.revokeSession(laptop.userId, phone.sessionId, "lost_device");
    release();
    await expectProblem(await slow, 401, "invalid_token");
    // The refusal came last, and it is what the cache keeps: the session is asked about again.
    await expectProblem(await request(phone.accessToken), 401, "invalid_token");
    expect(counts.verify).toBe(4);
  });
});
