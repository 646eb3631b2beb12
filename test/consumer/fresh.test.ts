import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { type RequireFreshOptions, requireFresh, requireSession, type SessionCheckMode, type SessionVariables } from "../../consumer/index";
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
      await expectProblem(refused, 401, "step_up_required");
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

  it("should refuse options that cannot work, when it is built", () => {
    for (const options of [{ maxAgeSeconds: -1 }, { maxAgeSeconds: 1.5 }, { maxAgeSeconds: 60, amr: [] }, { maxAgeSeconds: 60, amr: [""] }])
      expect(() => requireFresh(options as RequireFreshOptions)).toThrow(/requireFresh/);
  });
});

describe("verify over RPC: the authentication context", () => {
  it("should return auth_time and amr with the other claims", async () => {
    const device = await signUp();
    const result = await env.SESSION_SERVICE.verify(device.accessToken);
    expect(result.ok && result.claims).toMatchObject({ auth_time: claimsOf(device.accessToken).auth_time, amr: ["pwd"] });
  });
});
