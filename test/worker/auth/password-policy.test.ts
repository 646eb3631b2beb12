import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { usersRepository } from "../../../src/db/users";
import { base64url, randomBytes } from "../../../src/shared/encoding";
import { app } from "../../../src/worker/app";
import { PBKDF2_ITERATIONS, pbkdf2 } from "../../../src/worker/auth/password";
import { call, expectProblem, freshIp, ORIGIN, PASSWORD, signUp, uniqueEmail } from "../../support/http";
import { held } from "../../support/openapi";

/**
 * Issue 12 item 4: new passwords follow NIST SP 800-63B-4 §3.1.1.2 (length, blocklist, repetitive
 * or sequential, the account's email), and passwords are compared after NFKC normalisation.
 */
const signup = (password: string, email = uniqueEmail("policy"), init: { env?: Env } = {}) => {
  const request = new Request(`${ORIGIN}/v1/auth/signup`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "CF-Connecting-IP": freshIp() },
    body: JSON.stringify({ email, password, token_transport: "body" }),
  });
  if (!init.env) return call("/v1/auth/signup", { method: "POST", json: { email, password, token_transport: "body" } });
  return Promise.resolve(app.fetch(request, init.env, createExecutionContext())).then((response) => held(request, response));
};
const login = (email: string, password: string) =>
  call("/v1/auth/login", { method: "POST", json: { email, password, token_transport: "body" } });
const change = (token: string, current: string, next: string) =>
  call("/v1/auth/password", { method: "POST", token, json: { current_password: current, new_password: next } });

async function expectWeak(response: Response, detail: RegExp) {
  const problem = (await expectProblem(response, 400, "weak_password")) as { detail?: string };
  expect(problem.detail).toMatch(detail);
}

describe("the new-password rule (NIST SP 800-63B-4 §3.1.1.2)", () => {
  it("should refuse a password shorter than 15 characters, counting code points, at signup and password change", async () => {
    await expectWeak(await signup("fourteen chars"), /at least 15 characters/);
    // 14 code points, 28 UTF-16 units: the length a person sees, not the encoding's.
    await expectWeak(await signup("🐶🐱🐭🐹🐰🦊🐻🐼🐨🐯🦁🐮🐷🐸"), /at least 15 characters/);
    expect((await signup("🐶🐱🐭🐹🐰🦊🐻🐼🐨🐯🦁🐮🐷🐸🐵")).status).toBe(201);
    expect((await signup("fifteen chars!!")).status).toBe(201);
    const device = await signUp();
    await expectWeak(await change(device.accessToken, PASSWORD, "too short, sorry".slice(0, 14)), /at least 15 characters/);
    // Refused before the proof is checked, and nothing changed: the old password still signs in.
    expect((await login(device.email, PASSWORD)).status).toBe(200);
  });

  it("should follow PASSWORD_MIN_LENGTH", async () => {
    const eight = { ...env, PASSWORD_MIN_LENGTH: "8" } as Env;
    expect((await signup("kP4#vz9q", uniqueEmail("eight"), { env: eight })).status).toBe(201);
    await expectWeak(await signup("kP4#vz9", uniqueEmail("seven"), { env: eight }), /at least 8 characters/);
    const twenty = { ...env, PASSWORD_MIN_LENGTH: "20" } as Env;
    await expectWeak(await signup("nineteen characters", uniqueEmail("twenty"), { env: twenty }), /at least 20 characters/);
  });

  it("should refuse a password on the list of common and breached passwords, whatever its case", async () => {
    for (const password of ["1qaz2wsx3edc4rfv", "qwerty123456789", "QWERTY123456789", "q1w2e3r4t5y6u7i8", "momsanaladventure"]) {
      await expectWeak(await signup(password), /list of common or breached passwords/);
    }
    const device = await signUp();
    await expectWeak(await change(device.accessToken, PASSWORD, "1qaz2wsx3edc4rfv"), /list of common or breached passwords/);
  });

  it("should refuse a repetitive or sequential password", async () => {
    for (const password of ["aaaaaaaaaaaaaaaa", "abcabcabcabcabca", "ab12ab12ab12ab12", "ZZZZZZZZZZZZZZZZZZZZ"]) {
      await expectWeak(await signup(password), /repeated/);
    }
    for (const password of ["1234567890123456", "abcdefghijklmnop", "zyxwvutsrqponmlk", "9876543210987654", "uvwxyzabcdefghij"]) {
      await expectWeak(await signup(password), /consecutive characters/);
    }
  });

  it("should refuse a password that contains the account's email or its name", async () => {
    const email = uniqueEmail("ada.lovelace");
    const local = email.split("@")[0]!;
    await expectWeak(await signup(`my ${local} password`, email), /email address/);
    await expectWeak(await signup(`${email.toUpperCase()}!`, email), /email address/);
    const device = await signUp("laptop", email);
    await expectWeak(await change(device.accessToken, PASSWORD, `new ${local.toUpperCase()} pass`), /email address/);
  });
});

describe("password comparison (NFKC, never trimmed)", () => {
  const nfc = "crème brûlée à la française";
  const nfd = nfc.normalize("NFD");

  it("should sign in with the same text typed composed or decomposed", async () => {
    expect(nfd).not.toBe(nfc);
    const composed = uniqueEmail("nfc");
    expect((await signup(nfc, composed)).status).toBe(201);
    expect((await login(composed, nfd)).status).toBe(200);
    expect((await login(composed, nfc)).status).toBe(200);
    const decomposed = uniqueEmail("nfd");
    expect((await signup(nfd, decomposed)).status).toBe(201);
    expect((await login(decomposed, nfc)).status).toBe(200);
    // Compatibility forms too: full-width letters are the same password as their ASCII twins.
    const wide = uniqueEmail("wide");
    expect((await signup("ｆｕｌｌ ｗｉｄｔｈ ｐａｓｓｐｈｒａｓｅ", wide)).status).toBe(201);
    expect((await login(wide, "full width passphrase")).status).toBe(200);
    expect((await login(wide, "full width passphrasf")).status).toBe(401);
  });

  it("should keep signing in accounts whose hash was stored before normalisation", async () => {
    // As the service stored them before: PBKDF2 over the text exactly as typed.
    for (const typed of [nfd, PASSWORD]) {
      const email = uniqueEmail("legacy");
      const salt = randomBytes(16);
      const hash = await pbkdf2(typed, salt, PBKDF2_ITERATIONS);
      await usersRepository(env.DB).insert({
        id: `usr_${base64url(randomBytes(16))}`,
        email,
        passwordHash: `pbkdf2_sha256$${PBKDF2_ITERATIONS}$${base64url(salt)}$${base64url(hash)}`,
        createdAt: Date.now(),
        passwordChangedAt: null,
        disabledAt: null,
      });
      expect((await login(email, typed)).status, typed).toBe(200);
      expect((await login(email, `${typed}x`)).status, typed).toBe(401);
    }
  });

  it("should never trim a password: spaces at either end are part of it", async () => {
    const email = uniqueEmail("spaces");
    const spaced = "  edge spaces passphrase  ";
    expect((await signup(spaced, email)).status).toBe(201);
    expect((await login(email, spaced.trim())).status).toBe(401);
    expect((await login(email, spaced)).status).toBe(200);
  });
});
