import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { claimsOf, dpopKey, signInBound, signUpBound, withProof } from "../../support/dpop";
import { call, expectProblem, me, PASSWORD, signUp, uniqueEmail } from "../../support/http";

describe("binding a session to a DPoP key at sign-in (RFC 9449)", () => {
  for (const transport of ["body", "cookie"] as const) {
    it(`should bind a signup with a proof (${transport} transport): token_type DPoP, cnf.jkt, binding "dpop"`, async () => {
      const key = await dpopKey();
      const device = await signUpBound(key, { transport });
      expect(device.body.token_type).toBe("DPoP");
      expect(device.body.session.binding).toBe("dpop");
      expect(claimsOf(device.accessToken).cnf).toEqual({ jkt: key.jkt });
      if (transport === "cookie") expect(device.cookie).not.toBeNull();
      const response = await withProof("/v1/me", device.accessToken, key);
      expect(response.status).toBe(200);
      expect(((await response.json()) as any).session.binding).toBe("dpop");
    });

    it(`should bind a login with a proof (${transport} transport), and leave the account's other sessions as they were`, async () => {
      const unbound = await signUp();
      const key = await dpopKey("EdDSA");
      const device = await signInBound(unbound.email, key, { transport });
      expect(device.body.token_type).toBe("DPoP");
      expect(claimsOf(device.accessToken).cnf).toEqual({ jkt: key.jkt });
      const listed = await withProof("/v1/sessions", device.accessToken, key);
      const sessions = ((await listed.json()) as any).sessions as { id: string; binding: string }[];
      expect(Object.fromEntries(sessions.map((s) => [s.id, s.binding]))).toEqual({
        [device.sessionId]: "dpop",
        [unbound.sessionId]: "none",
      });
    });
  }

  it("should leave a sign-in without a proof exactly as before: Bearer, no cnf, binding none", async () => {
    const device = await signUp();
    const response = await me(device.accessToken);
    expect(response.status).toBe(200);
    expect(((await response.json()) as any).session.binding).toBe("none");
    expect(claimsOf(device.accessToken)).not.toHaveProperty("cnf");
  });

  it("should refuse a sign-in whose proof is invalid with 400 invalid_dpop_proof, and create no account and no session", async () => {
    const key = await dpopKey();
    const email = uniqueEmail("bad-proof");
    const signup = await call("/v1/auth/signup", {
      method: "POST",
      json: { email, password: PASSWORD, token_transport: "body" },
      headers: { DPoP: await key.proof("POST", "/v1/auth/login") },
    });
    await expectProblem(signup, 400, "invalid_dpop_proof");
    expect(signup.headers.get("WWW-Authenticate")).toBeNull();
    expect(await env.DB.prepare("SELECT count(*) AS n FROM users WHERE email = ?").bind(email).first("n")).toBe(0);

    const existing = await signUp();
    const login = await call("/v1/auth/login", {
      method: "POST",
      json: { email: existing.email, password: PASSWORD, token_transport: "body" },
      headers: { DPoP: await key.proof("GET", "/v1/auth/login") },
    });
    await expectProblem(login, 400, "invalid_dpop_proof");
    const sessions = await call("/v1/sessions", { token: existing.accessToken });
    expect(((await sessions.json()) as any).sessions).toHaveLength(1);
  });

  it("should refuse a replayed sign-in proof", async () => {
    const key = await dpopKey();
    const first = await signUpBound(key);
    const proof = await key.proof("POST", "/v1/auth/login");
    const login = () =>
      call("/v1/auth/login", {
        method: "POST",
        json: { email: first.email, password: PASSWORD, token_transport: "body" },
        headers: { DPoP: proof },
      });
    expect((await login()).status).toBe(200);
    await expectProblem(await login(), 400, "invalid_dpop_proof");
  });

  it("should show the binding in the admin listing and in other services' listing", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    const listed = await env.SESSION_SERVICE.listSessions(device.userId);
    expect(listed.ok && listed.sessions.map((s) => s.binding)).toEqual(["dpop"]);
    const admin = await call(`/v1/admin/users/${device.userId}/sessions`, { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } });
    expect(admin.status).toBe(200);
    expect(((await admin.json()) as any).sessions.map((s: { binding: string }) => s.binding)).toEqual(["dpop"]);
  });
});
