import { describe, expect, it } from "vitest";
import { claimsOf, type DpopKey, dpopKey, expectDpopChallenge, refreshWithProof, signUpBound, withProof } from "../../support/dpop";
import { call, expectProblem, refresh, refreshCookieOf, signUp } from "../../support/http";
import { configure } from "../../support/registry";

async function history(accessToken: string, key: DpopKey) {
  const response = await withProof("/v1/security-events", accessToken, key);
  expect(response.status).toBe(200);
  return ((await response.json()) as { events: { type: string; session_id: string; details: any }[] }).events;
}

/** A bound session's refresh needs a proof by its key; without one nothing about the session changes. */
describe("refreshing a DPoP-bound session at /v1/auth/refresh", () => {
  it("should refresh with a proof by the session's key: DPoP tokens, cnf.jkt, a rotated refresh token", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    const response = await refreshWithProof(device.refreshToken, key);
    expect(response.status).toBe(200);
    const body = (await response.json()) as any;
    expect(body.token_type).toBe("DPoP");
    expect(claimsOf(body.access_token).cnf).toEqual({ jkt: key.jkt });
    expect(body.refresh_token).not.toBe(device.refreshToken);
    expect((await withProof("/v1/me", body.access_token, key)).status).toBe(200);
  });

  it("should refuse a refresh without a proof, record it, and leave the session and its refresh token usable with the key", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    for (let attempt = 0; attempt < 2; attempt++) {
      const refused = await refresh(device.refreshToken);
      expectDpopChallenge(refused, "invalid_dpop_proof");
      await expectProblem(refused, 401, "invalid_dpop_proof");
    }
    expect((await withProof("/v1/me", device.accessToken, key)).status).toBe(200);
    const events = (await history(device.accessToken, key)).filter((event) => event.type === "dpop_proof_rejected");
    // One event per session a minute: the evidence, not a flood of it.
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      session_id: device.sessionId,
      details: { reason: "missing", endpoint: "auth_refresh", key_thumbprint: null, device: { name: expect.any(String) } },
    });
    expect(events[0]!.details.place).toHaveProperty("ip");
    // The very token that was refused still refreshes with the key: nothing was rotated, revoked or unbound.
    const later = await refreshWithProof(device.refreshToken, key);
    expect(later.status).toBe(200);
    expect(((await later.json()) as any).token_type).toBe("DPoP");
  });

  it("should refuse another key's proof and name that key in the history", async () => {
    const key = await dpopKey();
    const thief = await dpopKey();
    const device = await signUpBound(key);
    expectDpopChallenge(await refreshWithProof(device.refreshToken, thief), "invalid_dpop_proof");
    const [event] = (await history(device.accessToken, key)).filter((e) => e.type === "dpop_proof_rejected");
    expect(event?.details).toMatchObject({ reason: "wrong_key", key_thumbprint: thief.jkt });
    expect((await refreshWithProof(device.refreshToken, key)).status).toBe(200);
  });

  it("should refuse a refresh proof made for another endpoint, and a replayed one", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    const misdirected = await call("/v1/auth/refresh", {
      method: "POST",
      json: { refresh_token: device.refreshToken },
      headers: { DPoP: await key.proof("POST", "/v1/oauth/token") },
    });
    expectDpopChallenge(misdirected, "invalid_dpop_proof");
    const proof = await key.proof("POST", "/v1/auth/refresh");
    const first = await call("/v1/auth/refresh", {
      method: "POST",
      json: { refresh_token: device.refreshToken },
      headers: { DPoP: proof },
    });
    expect(first.status).toBe(200);
    const { refresh_token } = (await first.json()) as any;
    const replayed = await call("/v1/auth/refresh", { method: "POST", json: { refresh_token }, headers: { DPoP: proof } });
    expectDpopChallenge(replayed, "invalid_dpop_proof");
    expect((await refreshWithProof(refresh_token, key)).status).toBe(200);
  });

  it("should keep the refresh cookie when the proof is missing, and rotate it with the proof", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key, { transport: "cookie" });
    const cookie = `__Host-refresh_token=${device.cookie}`;
    const refused = await call("/v1/auth/refresh", { method: "POST", cookie });
    expect(refused.status).toBe(401);
    expect(refreshCookieOf(refused)).toBeNull();
    const ok = await call("/v1/auth/refresh", { method: "POST", cookie, headers: { DPoP: await key.proof("POST", "/v1/auth/refresh") } });
    expect(ok.status).toBe(200);
    expect(refreshCookieOf(ok)?.value).not.toBe(device.cookie);
    expect(await ok.json()).not.toHaveProperty("refresh_token");
  });

  it("should not let a rotated-out token without the key end the session; with the key it is reuse as before", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    await configure(device.userId, { REFRESH_GRACE_SECONDS: "0" });
    const rotated = (await (await refreshWithProof(device.refreshToken, key)).json()) as any;
    await new Promise((resolve) => setTimeout(resolve, 5));
    expectDpopChallenge(await refresh(device.refreshToken), "invalid_dpop_proof");
    expect((await withProof("/v1/me", rotated.access_token, key)).status).toBe(200);
    await expectProblem(await refreshWithProof(device.refreshToken, key), 401, "invalid_refresh_token");
    await expectProblem(await refreshWithProof(rotated.refresh_token, key), 401, "invalid_refresh_token");
  });

  it("should let two tabs refresh one token at once with their own proofs: one successor, both answered", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    const [a, b] = await Promise.all([refreshWithProof(device.refreshToken, key), refreshWithProof(device.refreshToken, key)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const [first, second] = (await Promise.all([a.json(), b.json()])) as any[];
    expect(first.refresh_token).toBe(second.refresh_token);
  });
});

describe("refreshing an unbound session", () => {
  it("should work as before, stay unbound when a proof comes along, and refuse an invalid proof", async () => {
    const device = await signUp();
    const key = await dpopKey();
    const plain = await refresh(device.refreshToken);
    expect(plain.status).toBe(200);
    const { refresh_token } = (await plain.json()) as any;
    const withKey = await refreshWithProof(refresh_token, key);
    expect(withKey.status).toBe(200);
    const body = (await withKey.json()) as any;
    expect(body.token_type).toBe("Bearer");
    expect(claimsOf(body.access_token)).not.toHaveProperty("cnf");
    expectDpopChallenge(await refreshWithProof(body.refresh_token, key, { iat: 1 }), "invalid_dpop_proof");
    expect((await refresh(body.refresh_token)).status).toBe(200);
  });
});
