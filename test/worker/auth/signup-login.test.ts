import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectProblem, me, PASSWORD, signUp, USER_AGENTS, uniqueEmail } from "../../support/http";

const signup = (json: unknown, headers: Record<string, string> = {}) => call("/v1/auth/signup", { method: "POST", json, headers });
const login = (json: unknown, headers: Record<string, string> = {}) => call("/v1/auth/login", { method: "POST", json, headers });

describe("signup", () => {
  it("should create the account and its first session, answering 201 with an AuthResult", async () => {
    const email = uniqueEmail();
    const response = await signup(
      { email: ` ${email.toUpperCase()} `, password: PASSWORD, device_name: "Work laptop", token_transport: "body" },
      { "User-Agent": USER_AGENTS.laptop },
    );
    expect(response.status).toBe(201);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as any;
    expect(body.user).toEqual({ id: expect.stringMatching(/^usr_/), email, created_at: expect.any(String) });
    expect(body.session).toMatchObject({
      current: true,
      device: { name: "Work laptop", browser: "Chrome", os: "Windows", type: "desktop" },
    });
    expect(body).toMatchObject({
      token_type: "Bearer",
      expires_in: 600,
      access_token: expect.any(String),
      refresh_token: expect.any(String),
    });
    expect((await me(body.access_token)).status).toBe(200);
  });

  it("should refuse a second account with the same email, whatever its case, with 409 email_taken", async () => {
    const email = uniqueEmail();
    expect((await signup({ email, password: PASSWORD })).status).toBe(201);
    await expectProblem(await signup({ email: email.toUpperCase(), password: PASSWORD }), 409, "email_taken");
  });

  it("should allow only one of two simultaneous signups with one email", async () => {
    const email = uniqueEmail();
    const statuses = (await Promise.all([signup({ email, password: PASSWORD }), signup({ email, password: PASSWORD })])).map(
      (r) => r.status,
    );
    expect(statuses.sort()).toEqual([201, 409]);
  });

  it("should reject bad input with 400 validation_failed and store nothing", async () => {
    const email = uniqueEmail();
    const cases: unknown[] = [
      {},
      { email },
      { email: "not-an-email", password: PASSWORD },
      { email, password: "" },
      { email, password: 12345678 },
      { email, password: "x".repeat(300) },
      { email, password: PASSWORD, device_name: "" },
      { email, password: PASSWORD, device_name: "a".repeat(65) },
      { email, password: PASSWORD, device_name: "evil\u202egnp.exe" },
      { email, password: PASSWORD, token_transport: "carrier-pigeon" },
      null,
      [],
    ];
    for (const json of cases) await expectProblem(await signup(json), 400, "validation_failed");
    await expectProblem(
      await call("/v1/auth/signup", { method: "POST", body: "{not json", headers: { "Content-Type": "application/json" } }),
      400,
      "validation_failed",
    );
    await expectProblem(
      await call("/v1/auth/signup", {
        method: "POST",
        body: `email=${email}`,
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      }),
      400,
      "validation_failed",
    );
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE email = ?").bind(email).first<{ n: number }>();
    expect(stored!.n).toBe(0);
  });
});

describe("login", () => {
  it("should start a new session for the right password", async () => {
    const account = await signUp();
    const response = await login({ email: account.email, password: PASSWORD, token_transport: "body" });
    expect(response.status).toBe(200);
    const body = (await response.json()) as any;
    expect(body.session.id).not.toBe(account.sessionId);
    expect(body.user.id).toBe(account.userId);
  });

  it("should answer a wrong password and an unknown email identically", async () => {
    const account = await signUp();
    const wrong = await login({ email: account.email, password: "not the password" });
    const unknown = await login({ email: uniqueEmail("nobody"), password: "not the password" });
    const a = await expectProblem(wrong, 401, "invalid_credentials");
    const b = await expectProblem(unknown, 401, "invalid_credentials");
    expect(a).toEqual(b);
    expect([...wrong.headers.keys()].sort()).toEqual([...unknown.headers.keys()].sort());
    expect(wrong.headers.getSetCookie()).toEqual([]);
  });

  it("should reject a malformed login with 400 rather than checking credentials", async () => {
    await expectProblem(await login({ email: "x@example.com" }), 400, "validation_failed");
    await expectProblem(await login({ email: "x@example.com", password: "p".repeat(1_000) }), 400, "validation_failed");
    await expectProblem(await login({ email: "x@example.com", password: "p".repeat(20_000) }), 413, "payload_too_large");
  });
});

describe("login CSRF", () => {
  it("should refuse a cookie sign-in or signup from a foreign Origin, and allow the service's own Origin and body-transport clients", async () => {
    const [foreign, own] = [{ Origin: "https://evil.example" }, { Origin: "https://auth.test" }];
    const { email } = await signUp();
    await expectProblem(await login({ email, password: PASSWORD }, foreign), 403, "csrf_rejected");
    await expectProblem(await signup({ email: uniqueEmail(), password: PASSWORD }, foreign), 403, "csrf_rejected");
    expect((await login({ email, password: PASSWORD }, own)).status).toBe(200);
    expect((await login({ email, password: PASSWORD, token_transport: "body" }, foreign)).status).toBe(200);
  });
});
