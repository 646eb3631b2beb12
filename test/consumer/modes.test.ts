import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expectProblem, signInOn, signUp } from "../support/http";
import { clock, consumerApp, countingBinding } from "./support";

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
