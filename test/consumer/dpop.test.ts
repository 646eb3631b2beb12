import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { errorTitles } from "../../src/worker/errors";
import { dpopKey, expectDpopChallenge, signUpBound } from "../support/dpop";
import { expectProblem, signUp } from "../support/http";
import { CONSUMER_URL, clock, consumerApp, countingBinding } from "./support";

afterEach(() => vi.restoreAllMocks());

/** A consumer Worker accepting DPoP-bound tokens (RFC 9449 §7): the service checks proof and liveness in one call. */
async function boundDevice() {
  const key = await dpopKey();
  const device = await signUpBound(key);
  const proof = () => key.proof("GET", CONSUMER_URL, { accessToken: device.accessToken });
  return { key, device, proof };
}

describe("requireSession with DPoP-bound tokens", () => {
  it("should accept a bound token with its proof in strict mode, and refuse it replayed, as Bearer, without a proof or by another key", async () => {
    const { binding, counts } = countingBinding();
    const request = consumerApp({ mode: "strict", binding: () => binding });
    const { key, device, proof } = await boundDevice();
    const dpop = await proof();
    const accepted = await request(device.accessToken, dpop);
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toMatchObject({ sessionId: device.sessionId, liveness: "confirmed", claims: { cnf: { jkt: key.jkt } } });
    expectDpopChallenge(await request(device.accessToken, dpop), "invalid_dpop_proof");
    expectDpopChallenge(await request(device.accessToken), "invalid_dpop_proof");
    expectDpopChallenge(await request(device.accessToken, null), "invalid_dpop_proof");
    const other = await dpopKey();
    expectDpopChallenge(
      await request(device.accessToken, await other.proof("GET", CONSUMER_URL, { accessToken: device.accessToken })),
      "invalid_dpop_proof",
    );
    expectDpopChallenge(
      await request(device.accessToken, await key.proof("GET", "https://elsewhere.test/", { accessToken: device.accessToken })),
      "invalid_dpop_proof",
    );
    expect(counts.verify).toBe(6);
    expect((await request(device.accessToken, await proof())).status).toBe(200);
  });

  it("should ask the service about every bound request in cached and stateless modes, since only it can see a replayed proof", async () => {
    for (const mode of ["cached", "stateless"] as const) {
      const { binding, counts } = countingBinding();
      const request = consumerApp({ mode, binding: () => binding, now: clock().now });
      const { device, proof } = await boundDevice();
      const dpop = await proof();
      expect((await request(device.accessToken, dpop)).status).toBe(200);
      expect((await request(device.accessToken, await proof())).status).toBe(200);
      expectDpopChallenge(await request(device.accessToken, dpop), "invalid_dpop_proof");
      expect(counts.verify).toBe(3);
    }
  });

  it("should leave a bound token sent as Bearer, and an unbound one sent as DPoP, to the service in cached and stateless modes", async () => {
    const unbound = await signUp();
    for (const mode of ["cached", "stateless"] as const) {
      const { binding, counts } = countingBinding();
      const request = consumerApp({ mode, binding: () => binding, now: clock().now });
      const { key, device } = await boundDevice();
      // RFC 9449 §7.2: a bound token without its proof proves nothing; no local check may take it.
      expectDpopChallenge(await request(device.accessToken), "invalid_dpop_proof");
      // An unbound token dressed as DPoP is refused by the service, not waved through as a bearer one.
      const proof = await key.proof("GET", CONSUMER_URL, { accessToken: unbound.accessToken });
      expectDpopChallenge(await request(unbound.accessToken, proof), "invalid_token");
      expect(counts.verify).toBe(2);
    }
  });

  it("should refuse bound tokens in a consumer without a binding (JWKS by URL only)", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => env.SESSION_SERVICE.fetch(input as string, init));
    const request = consumerApp({ mode: "stateless", jwksUrl: "https://auth.example.com/.well-known/jwks.json" });
    const { device, proof } = await boundDevice();
    const refused = await request(device.accessToken, await proof());
    expectDpopChallenge(refused, "invalid_token");
    await expectProblem(refused, 401, "invalid_token");
  });

  it.each(["strict", "cached", "stateless"] as const)(
    "should answer a revoked bound session with the DPoP challenge in %s mode, the service's invalid_token",
    async (mode) => {
      const { binding } = countingBinding();
      const request = consumerApp({ mode, binding: () => binding, now: clock().now });
      const { device, proof } = await boundDevice();
      expect((await request(device.accessToken, await proof())).status).toBe(200);
      await env.SESSION_SERVICE.revokeSession(device.userId, device.sessionId, "lost_device");
      const refused = await request(device.accessToken, await proof());
      expectDpopChallenge(refused, "invalid_token");
      await expectProblem(refused, 401, "invalid_token");
    },
  );

  it("should pass on the service's nonce when it asks for one", async () => {
    const { binding } = countingBinding();
    const asking = {
      ...binding,
      verify: () => Promise.resolve({ ok: false, code: "use_dpop_nonce", nonce: "n0nce.AAAAAAAAAAAAAAAAAAAAAA" } as const),
    };
    const request = consumerApp({ mode: "strict", binding: () => asking });
    const { device, proof } = await boundDevice();
    const response = await request(device.accessToken, await proof());
    expectDpopChallenge(response, "use_dpop_nonce");
    expect(response.headers.get("DPoP-Nonce")).toBe("n0nce.AAAAAAAAAAAAAAAAAAAAAA");
  });

  it("should answer each DPoP refusal with the service's own problem for its code, and a DPoP-Nonce only with use_dpop_nonce", async () => {
    const { binding } = countingBinding();
    const asking = {
      ...binding,
      verify: () => Promise.resolve({ ok: false, code: "use_dpop_nonce", nonce: "n0nce.AAAAAAAAAAAAAAAAAAAAAA" } as const),
    };
    const { key, device, proof } = await boundDevice();
    const unbound = await signUp();
    const refusals = [
      ["invalid_dpop_proof", await consumerApp({ mode: "strict", binding: () => binding })(device.accessToken)],
      [
        "invalid_token",
        await consumerApp({ mode: "strict", binding: () => binding })(
          unbound.accessToken,
          await key.proof("GET", CONSUMER_URL, { accessToken: unbound.accessToken }),
        ),
      ],
      ["use_dpop_nonce", await consumerApp({ mode: "strict", binding: () => asking })(device.accessToken, await proof())],
    ] as const;
    const answered = [];
    for (const [code, response] of refusals)
      answered.push({ code, body: await response.json(), nonce: response.headers.get("DPoP-Nonce") });
    expect(answered).toEqual(
      refusals.map(([code]) => ({
        code,
        body: { type: `urn:edge-sessions:problem:${code}`, title: errorTitles[code][1], status: errorTitles[code][0], code },
        nonce: code === "use_dpop_nonce" ? "n0nce.AAAAAAAAAAAAAAAAAAAAAA" : null,
      })),
    );
  });
});

describe("the example consumer Worker with a DPoP-bound token", () => {
  it("should accept it on every route with a proof for the consumer's URL, through the real service binding", async () => {
    const { key, device } = await boundDevice();
    for (const mode of ["strict", "cached", "stateless"]) {
      const url = `https://consumer.test/${mode}`;
      const dpop = await key.proof("GET", url, { accessToken: device.accessToken });
      const headers = { Authorization: `DPoP ${device.accessToken}`, DPoP: dpop };
      expect((await env.EXAMPLE_CONSUMER.fetch(url, { headers })).status).toBe(200);
      expectDpopChallenge(await env.EXAMPLE_CONSUMER.fetch(url, { headers }), "invalid_dpop_proof");
    }
  });
});
