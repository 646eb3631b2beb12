import { describe, expect, it } from "vitest";
import { expectProblem, signUp } from "../support/http";
import { clock, consumerApp, countingBinding, tokenFromUnknownKey } from "./support";

describe("requireSession JWKS handling", () => {
  it("should read the JWKS once and reuse it across requests", async () => {
    const { binding, counts } = countingBinding();
    const request = consumerApp({ mode: "stateless", binding: () => binding, now: clock().now });
    const device = await signUp();
    for (let i = 0; i < 3; i++) expect((await request(device.accessToken)).status).toBe(200);
    expect(counts.fetch).toBe(1);
  });

  it("should re-read the JWKS for an unknown kid at most once per 30 s", async () => {
    const time = clock();
    const { binding, counts } = countingBinding();
    const request = consumerApp({ mode: "stateless", binding: () => binding, now: time.now });
    const device = await signUp();
    expect((await request(device.accessToken)).status).toBe(200);
    const forged = await tokenFromUnknownKey();
    time.advance(30_000);
    for (let i = 0; i < 5; i++) await expectProblem(await request(forged), 401, "invalid_token");
    expect(counts.fetch).toBe(2);
    time.advance(30_000);
    await expectProblem(await request(forged), 401, "invalid_token");
    expect(counts.fetch).toBe(3);
  });

  it("should answer 503 when no JWKS has ever been read", async () => {
    const { binding, state } = countingBinding();
    const request = consumerApp({ mode: "stateless", binding: () => binding });
    const device = await signUp();
    state.broken = true;
    await expectProblem(await request(device.accessToken), 503, "session_service_unavailable");
  });
});
