import { describe, expect, it } from "vitest";
import { dpopKey, expectDpopChallenge, signUpBound, withProof } from "../../support/dpop";
import { call, expectProblem, me, signUp } from "../../support/http";

/** Protected routes with a DPoP-bound access token (RFC 9449 §7): `Authorization: DPoP` and a proof with `ath`. */
describe("protected routes with a DPoP-bound token", () => {
  it("should answer a bound token sent as DPoP with its proof, on every method", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    expect((await withProof("/v1/me", device.accessToken, key)).status).toBe(200);
    expect((await withProof("/v1/sessions", device.accessToken, key)).status).toBe(200);
    const renamed = await withProof(`/v1/sessions/${device.sessionId}`, device.accessToken, key, {
      method: "PATCH",
      json: { name: "Bound laptop" },
    });
    expect(renamed.status).toBe(200);
    expect(((await renamed.json()) as any).device.name).toBe("Bound laptop");
    expect((await withProof("/v1/security-events", device.accessToken, key)).status).toBe(200);
    expect((await withProof(`/v1/sessions/${device.sessionId}`, device.accessToken, key, { method: "DELETE" })).status).toBe(204);
    expectDpopChallenge(await withProof("/v1/me", device.accessToken, key), "invalid_token");
  });

  it("should refuse a bound token sent as Bearer, even with a valid proof", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    const response = await withProof("/v1/me", device.accessToken, key, { scheme: "Bearer" });
    expectDpopChallenge(response, "invalid_token");
    await expectProblem(response, 401, "invalid_token");
    expectDpopChallenge(await me(device.accessToken), "invalid_token");
  });

  it("should refuse a bound token without a proof, with another key's proof, or with a proof for another request", async () => {
    const key = await dpopKey();
    const other = await dpopKey();
    const device = await signUpBound(key);
    const dpop = async (proof: Promise<string>) => ({ dpop: await proof });
    const cases: [string, typeof key | null, Parameters<typeof withProof>[3]][] = [
      ["no proof", null, {}],
      ["another key", null, await dpop(other.proof("GET", "/v1/me", { accessToken: device.accessToken }))],
      ["another method", null, await dpop(key.proof("POST", "/v1/me", { accessToken: device.accessToken }))],
      ["another URL", null, await dpop(key.proof("GET", "/v1/sessions", { accessToken: device.accessToken }))],
      ["another token's ath", null, await dpop(key.proof("GET", "/v1/me", { accessToken: "someone-elses-token" }))],
      ["no ath", null, await dpop(key.proof("GET", "/v1/me"))],
      ["a stale iat", key, { proof: { iat: Math.floor(Date.now() / 1000) - 120 } }],
    ];
    for (const [, signer, init] of cases) {
      const response = await withProof("/v1/me", device.accessToken, signer, init);
      expectDpopChallenge(response, "invalid_dpop_proof");
      await expectProblem(response, 401, "invalid_dpop_proof");
    }
    // None of that touched the session: the right proof still works.
    expect((await withProof("/v1/me", device.accessToken, key)).status).toBe(200);
  });

  it("should ignore the query string of the request and of htu", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    const dpop = await key.proof("GET", "/v1/security-events?debug=1#x", { accessToken: device.accessToken });
    expect((await withProof("/v1/security-events?limit=5", device.accessToken, null, { dpop })).status).toBe(200);
  });

  it("should refuse an unbound token presented as DPoP, and keep serving it as Bearer", async () => {
    const device = await signUp();
    const key = await dpopKey();
    expectDpopChallenge(await withProof("/v1/me", device.accessToken, key), "invalid_token");
    const bearer = await me(device.accessToken);
    expect(bearer.status).toBe(200);
    expect((await call("/v1/me")).headers.get("WWW-Authenticate")).toBe('Bearer error="invalid_token"');
  });

  it("should send Date on its answers, so a client can correct its clock for iat", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    for (const response of [await withProof("/v1/me", device.accessToken, key), await withProof("/v1/me", device.accessToken, null)]) {
      const date = Date.parse(response.headers.get("Date") ?? "");
      expect(Math.abs(date - Date.now())).toBeLessThan(5_000);
    }
  });
});
