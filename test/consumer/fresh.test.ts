import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { type RequireFreshOptions, requireFresh, requireSession, type SessionCheckMode, type SessionVariables } from "../../consumer/index";
import { errorTitles } from "../../src/worker/errors";
import { claimsFor, signWithServiceKey } from "../support/forge";
import { expectProblem, signUp } from "../support/http";
import { authenticator, claimsOf, registerPasskey, signInWithPasskey } from "../support/passkeys";
import { clock, countingBinding, TOKENS } from "./support";

/** A consumer route that needs a recent proof, with its own clock. */
function freshApp(mode: SessionCheckMode, fresh: Omit<RequireFreshOptions, "now">) {
  const time = clock();
  const { binding } = countingBinding();
  const app = new Hono<{ Variables: SessionVariables }>();
  app.post(
    "/transfer",
    requireSession({ ...TOKENS, mode, binding: () => binding, now: time.now }),
    requireFresh({ ...fresh, now: time.now }),
    (c) => c.json(c.get("session").claims),
  );
  const request = (token: string) => app.request("/transfer", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
  return { request, time };
}

describe("requireFresh: a recent proof for one route of another service (RFC 9470)", () => {
  for (const mode of ["strict", "stateless"] as const) {
    it(`should let a fresh token through and answer an old one with the RFC 9470 challenge (${mode})`, async () => {
      const device = await signUp();
      const { request, time } = freshApp(mode, { maxAgeSeconds: 300 });
      const passed = await request(device.accessToken);
      expect(passed.status).toBe(200);
      expect(await passed.json()).toMatchObject({ auth_time: claimsOf(device.accessToken).auth_time, amr: ["pwd"] });
      time.advance(301_000);
      const refused = await request(device.accessToken);
      // The service's own problem for the code, so a client handles both the same way.
      expect(await refused.json()).toEqual({
        type: "urn:edge-sessions:problem:step_up_required",
        title: errorTitles.step_up_required[1],
        status: 401,
        code: "step_up_required",
      });
      expect(refused.headers.get("Content-Type")).toMatch(/^application\/problem\+json/);
      expect(refused.headers.get("WWW-Authenticate")).toBe('Bearer error="insufficient_user_authentication", max_age=300');
    });
  }

  it("should ask for a passkey when amr says so: a password session is refused, a passkey session passes", async () => {
    const device = await signUp();
    const auth = authenticator();
    await registerPasskey(device, auth);
    const { request } = freshApp("strict", { maxAgeSeconds: 600, amr: ["hwk", "swk"] });
    await expectProblem(await request(device.accessToken), 401, "step_up_required");
    expect((await request((await signInWithPasskey(auth)).accessToken)).status).toBe(200);
  });

  it("should refuse options that cannot work, when it is built, and take the edges that can", () => {
    const maxAge = /^requireFresh: maxAgeSeconds must be a non-negative integer$/;
    const amr = /^requireFresh: amr must be a non-empty list of RFC 8176 values$/;
    const refused: [unknown, RegExp][] = [
      [{ maxAgeSeconds: -1 }, maxAge],
      [{ maxAgeSeconds: 1.5 }, maxAge],
      [{ maxAgeSeconds: "60" }, maxAge],
      [{ maxAgeSeconds: 60, amr: [] }, amr],
      [{ maxAgeSeconds: 60, amr: [""] }, amr],
      [{ maxAgeSeconds: 60, amr: ["hwk", ""] }, amr],
      [{ maxAgeSeconds: 60, amr: ["hwk", 5] }, amr],
      [{ maxAgeSeconds: 60, amr: "hwk" }, amr],
      [{ maxAgeSeconds: 60, now: 1_000 }, /^requireFresh: now must be a function$/],
    ];
    for (const [options, message] of refused)
      expect(() => requireFresh(options as RequireFreshOptions), JSON.stringify(options)).toThrow(message);
    // A proof from this very moment only (0), a list of methods, the real clock (no `now`).
    for (const options of [{ maxAgeSeconds: 0 }, { maxAgeSeconds: 60, amr: ["hwk", "swk"] }, { maxAgeSeconds: 60 }])
      expect(() => requireFresh(options), JSON.stringify(options)).not.toThrow();
  });

  it("should count a proof exactly maxAgeSeconds old as recent, and one a millisecond older as not", async () => {
    const device = await signUp();
    const authTimeMs = (claimsOf(device.accessToken).auth_time as number) * 1000;
    let nowMs = authTimeMs;
    const now = () => nowMs;
    const { binding } = countingBinding();
    const app = new Hono<{ Variables: SessionVariables }>();
    app.post(
      "/transfer",
      requireSession({ ...TOKENS, mode: "stateless", binding: () => binding, now }),
      requireFresh({ maxAgeSeconds: 300, now }),
      (c) => c.body(null, 204),
    );
    const statusAt = async (ms: number) => {
      nowMs = ms;
      return (await app.request("/transfer", { method: "POST", headers: { Authorization: `Bearer ${device.accessToken}` } })).status;
    };
    expect([await statusAt(authTimeMs + 300_000), await statusAt(authTimeMs + 300_001)]).toEqual([204, 401]);
  });

  it("should use the real clock when given none: a proof of now passes, one 301 s old does not", async () => {
    const device = await signUp();
    const claims = claimsFor(device);
    const old = await signWithServiceKey({ ...claims, auth_time: (claims.iat as number) - 301, amr: ["pwd"] });
    const { binding } = countingBinding();
    const app = new Hono<{ Variables: SessionVariables }>();
    app.post(
      "/transfer",
      requireSession({ ...TOKENS, mode: "strict", binding: () => binding }),
      requireFresh({ maxAgeSeconds: 300 }),
      (c) => c.body(null, 204),
    );
    const request = (token: string) => app.request("/transfer", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
    expect((await request(device.accessToken)).status).toBe(204);
    await expectProblem(await request(old), 401, "step_up_required");
  });

  it("should fail loudly, naming the mistake, when mounted without requireSession before it", async () => {
    const app = new Hono<{ Variables: SessionVariables }>();
    let thrown: unknown;
    app.onError((error, c) => {
      thrown = error;
      return c.body(null, 500);
    });
    app.post("/transfer", requireFresh({ maxAgeSeconds: 300 }), (c) => c.body(null, 204));
    expect((await app.request("/transfer", { method: "POST" })).status).toBe(500);
    expect(thrown).toEqual(new Error("requireFresh: mount it after requireSession"));
  });
});

describe("verify over RPC: the authentication context", () => {
  it("should return auth_time and amr with the other claims", async () => {
    const device = await signUp();
    const result = await env.SESSION_SERVICE.verify(device.accessToken);
    expect(result.ok && result.claims).toMatchObject({ auth_time: claimsOf(device.accessToken).auth_time, amr: ["pwd"] });
  });
});
