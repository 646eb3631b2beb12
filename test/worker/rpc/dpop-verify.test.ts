import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { dpopKey, signUpBound } from "../../support/dpop";
import { signUp } from "../../support/http";
import { oauthPost } from "../../support/oauth";
import { registry } from "../../support/registry";

const RESOURCE = "https://api.example.com/orders/42";

describe("SessionService.verify with DPoP-bound tokens", () => {
  it("should check the proof against the consumer's request and liveness in one call, once per proof", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    const request = { method: "POST", url: RESOURCE, dpop: await key.proof("POST", RESOURCE, { accessToken: device.accessToken }) };
    const verified = await env.SESSION_SERVICE.verify(device.accessToken, request);
    expect(verified).toMatchObject({ ok: true, sessionId: device.sessionId, claims: { cnf: { jkt: key.jkt } } });
    expect(await env.SESSION_SERVICE.verify(device.accessToken, request)).toEqual({ ok: false, code: "invalid_dpop_proof" });
  });

  it("should refuse a bound token without its request, with a proof for another request, and a revoked session's", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    expect(await env.SESSION_SERVICE.verify(device.accessToken)).toEqual({ ok: false, code: "invalid_dpop_proof" });
    const elsewhere = await key.proof("GET", RESOURCE, { accessToken: device.accessToken });
    expect(await env.SESSION_SERVICE.verify(device.accessToken, { method: "DELETE", url: RESOURCE, dpop: elsewhere })).toEqual({
      ok: false,
      code: "invalid_dpop_proof",
    });
    expect(await env.SESSION_SERVICE.verify(device.accessToken, { nonsense: true } as never)).toEqual({
      ok: false,
      code: "invalid_dpop_proof",
    });
    await env.SESSION_SERVICE.revokeSession(device.userId, device.sessionId, "lost_device");
    const fresh = await key.proof("GET", RESOURCE, { accessToken: device.accessToken });
    expect(await env.SESSION_SERVICE.verify(device.accessToken, { method: "GET", url: RESOURCE, dpop: fresh })).toEqual({
      ok: false,
      code: "invalid_token",
    });
  });

  it("should refuse a valid proof made by a key other than the one the token is bound to", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    const other = await dpopKey();
    const dpop = await other.proof("GET", RESOURCE, { accessToken: device.accessToken });
    expect(await env.SESSION_SERVICE.verify(device.accessToken, { method: "GET", url: RESOURCE, dpop })).toEqual({
      ok: false,
      code: "invalid_dpop_proof",
    });
    // Refused before the registry spent anything: the right key's proof still works.
    const own = await key.proof("GET", RESOURCE, { accessToken: device.accessToken });
    expect(await env.SESSION_SERVICE.verify(device.accessToken, { method: "GET", url: RESOURCE, dpop: own })).toMatchObject({ ok: true });
  });

  it("should hand the consumer a nonce when the registry, evicted, cannot rule out a replay", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    const dpop = await key.proof("GET", RESOURCE, { accessToken: device.accessToken });
    const request = { method: "GET", url: RESOURCE, dpop };
    expect(await env.SESSION_SERVICE.verify(device.accessToken, request)).toMatchObject({ ok: true });
    await evictDurableObject(registry(device.userId));
    const asked = await env.SESSION_SERVICE.verify(device.accessToken, request);
    expect(asked).toEqual({ ok: false, code: "use_dpop_nonce", nonce: expect.stringMatching(/^[0-9a-z]+\.[A-Za-z0-9_-]{22}$/) });
    const nonce = (asked as { nonce: string }).nonce;
    const retried = await key.proof("GET", RESOURCE, { accessToken: device.accessToken, nonce });
    expect(await env.SESSION_SERVICE.verify(device.accessToken, { method: "GET", url: RESOURCE, dpop: retried })).toMatchObject({
      ok: true,
    });
  });

  it("should refuse an unbound token presented in the DPoP scheme, and verify it as before without", async () => {
    const device = await signUp();
    const key = await dpopKey();
    const dpop = await key.proof("GET", RESOURCE, { accessToken: device.accessToken });
    expect(await env.SESSION_SERVICE.verify(device.accessToken, { method: "GET", url: RESOURCE, dpop })).toEqual({
      ok: false,
      code: "invalid_token",
    });
    expect(await env.SESSION_SERVICE.verify(device.accessToken)).toMatchObject({ ok: true });
  });
});

describe("introspection of a DPoP-bound token (RFC 9449 §6.2)", () => {
  it("should answer cnf and token_type DPoP, so the resource server can check the proof itself", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    const response = await oauthPost("/v1/oauth/introspect", { token: device.accessToken });
    expect(await response.json()).toMatchObject({ active: true, sid: device.sessionId, token_type: "DPoP", cnf: { jkt: key.jkt } });
    const unbound = await signUp();
    expect(await (await oauthPost("/v1/oauth/introspect", { token: unbound.accessToken })).json()).not.toHaveProperty("cnf");
  });
});
