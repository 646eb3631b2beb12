import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dpopKey, expectDpopChallenge, signUpBound, withProof } from "../support/dpop";
import { expectProblem } from "../support/http";
import { registry, registrySql } from "../support/registry";

/** RFC 9449 §11.1: a proof's `jti` is accepted once within its window; the user's registry remembers it. */
describe("the DPoP replay cache", () => {
  it("should refuse a proof the second time, and not burn the session", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    const dpop = await key.proof("GET", "/v1/me", { accessToken: device.accessToken });
    expect((await withProof("/v1/me", device.accessToken, null, { dpop })).status).toBe(200);
    const replayed = await withProof("/v1/me", device.accessToken, null, { dpop });
    expectDpopChallenge(replayed, "invalid_dpop_proof");
    await expectProblem(replayed, 401, "invalid_dpop_proof");
    expect((await withProof("/v1/me", device.accessToken, key)).status).toBe(200);
  });

  it("should let exactly one of two simultaneous requests with one proof through", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    const dpop = await key.proof("GET", "/v1/sessions", { accessToken: device.accessToken });
    const responses = await Promise.all([0, 1, 2, 3].map(() => withProof("/v1/sessions", device.accessToken, null, { dpop })));
    expect(responses.map((r) => r.status).sort()).toEqual([200, 401, 401, 401]);
  });

  it("should refuse a proof seen before the registry was evicted, and take the same request with a fresh nonce", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    const dpop = await key.proof("GET", "/v1/me", { accessToken: device.accessToken });
    expect((await withProof("/v1/me", device.accessToken, null, { dpop })).status).toBe(200);
    // The mark every acceptance stays under, written ahead, so it survives what memory does not.
    const [mark] = await registrySql<{ accepted_until: number }>(device.userId, "SELECT accepted_until FROM dpop_replay");
    expect(mark!.accepted_until).toBeGreaterThan(Date.now());

    await evictDurableObject(registry(device.userId));
    const replayed = await withProof("/v1/me", device.accessToken, null, { dpop });
    expectDpopChallenge(replayed, "use_dpop_nonce");
    const nonce = replayed.headers.get("DPoP-Nonce");
    expect(nonce).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]{22}$/);
    // An honest client retries with the nonce: a proof made after it cannot be one seen before.
    expect((await withProof("/v1/me", device.accessToken, key, { proof: { nonce: nonce! } })).status).toBe(200);
    // And the new instance remembers from then on, as the old one did.
    const fresh = await key.proof("GET", "/v1/me", { accessToken: device.accessToken, nonce: nonce! });
    expect((await withProof("/v1/me", device.accessToken, null, { dpop: fresh })).status).toBe(200);
    expectDpopChallenge(await withProof("/v1/me", device.accessToken, null, { dpop: fresh }), "invalid_dpop_proof");
  });

  it("should ask for no nonce after an eviction that followed a quiet minute", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    // As if the last proof had been accepted more than the window ago: nothing it accepted is still fresh.
    await registrySql(device.userId, "UPDATE dpop_replay SET accepted_until = ?", Date.now() - 70_000);
    await evictDurableObject(registry(device.userId));
    expect((await withProof("/v1/me", device.accessToken, key)).status).toBe(200);
  });
});
