import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PBKDF2_ITERATIONS, WORKERS_PBKDF2_LIMIT } from "../../src/worker/auth/password";
import { MAX_BODY_BYTES } from "../../src/worker/http/body";
import { MAX_ACCESS_TOKEN_LENGTH } from "../../src/worker/tokens/access";
import { claimsFor, signWithServiceKey } from "../support/forge";
import { call, expectProblem, me, PASSWORD, signIn, signUp, uniqueEmail } from "../support/http";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Production Workers refuses PBKDF2 above this; workerd here does not, so these tests must. */
const PRODUCTION_PBKDF2_LIMIT = 100_000;
/** Workers accepts request bodies up to 100 MB on the Free and Pro plans. */
const WORKERS_BODY_LIMIT = 100 * 1024 * 1024;

/** Records the iteration count of every PBKDF2 run the service makes (the Worker runs in this isolate). */
function watchPbkdf2() {
  const iterations: number[] = [];
  const deriveBits = crypto.subtle.deriveBits.bind(crypto.subtle);
  vi.spyOn(crypto.subtle, "deriveBits").mockImplementation((algorithm, key, length) => {
    if (typeof algorithm === "object" && algorithm.name === "PBKDF2") iterations.push((algorithm as { iterations: number }).iterations);
    return deriveBits(algorithm, key, length);
  });
  return iterations;
}

describe("PBKDF2 within the Workers limit (ASVS V6.2, V11.4)", () => {
  it("should run PBKDF2 with at most 100,000 iterations at signup, login and password change", async () => {
    expect(WORKERS_PBKDF2_LIMIT).toBe(PRODUCTION_PBKDF2_LIMIT);
    expect(PBKDF2_ITERATIONS).toBeLessThanOrEqual(PRODUCTION_PBKDF2_LIMIT);
    const iterations = watchPbkdf2();
    const device = await signUp();
    await signIn(device.email, "phone");
    expect(
      (
        await call("/v1/auth/password", {
          method: "POST",
          token: device.accessToken,
          json: { current_password: PASSWORD, new_password: "another long passphrase" },
        })
      ).status,
    ).toBe(204);
    // Login for an unknown email pays for a dummy run too.
    await expectProblem(
      await call("/v1/auth/login", { method: "POST", json: { email: uniqueEmail("nobody"), password: PASSWORD } }),
      401,
      "invalid_credentials",
    );
    expect(iterations.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...iterations)).toBeLessThanOrEqual(PRODUCTION_PBKDF2_LIMIT);
    expect(Math.min(...iterations)).toBeGreaterThanOrEqual(100_000);
  });

  it("should store hashes whose recorded iteration count is within the limit", async () => {
    const device = await signUp();
    const stored = await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?").bind(device.userId).first<string>("password_hash");
    const [scheme, iterations, salt, hash] = stored!.split("$");
    expect(scheme).toBe("pbkdf2_sha256");
    expect(Number(iterations)).toBeLessThanOrEqual(PRODUCTION_PBKDF2_LIMIT);
    expect(Number(iterations)).toBeGreaterThanOrEqual(100_000);
    expect(salt).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("should refuse, not crash on, a stored hash that asks for more iterations than Workers allows", async () => {
    // In production deriveBits would throw above the limit: a 500 on every login for that account.
    const email = uniqueEmail("iter");
    const device = await signUp("laptop", email);
    const stored = (await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?")
      .bind(device.userId)
      .first<string>("password_hash"))!;
    const tampered = stored.replace("$100000$", "$1000000$");
    await env.DB.prepare("UPDATE users SET password_hash = ? WHERE id = ?").bind(tampered, device.userId).run();
    const iterations = watchPbkdf2();
    await expectProblem(await call("/v1/auth/login", { method: "POST", json: { email, password: PASSWORD } }), 401, "invalid_credentials");
    expect(iterations.every((n) => n <= PRODUCTION_PBKDF2_LIMIT)).toBe(true);
  });
});

describe("request and token sizes within Workers limits", () => {
  it("should keep the body limit under the platform's and answer 413 just past it, not before", async () => {
    expect(MAX_BODY_BYTES).toBeLessThanOrEqual(WORKERS_BODY_LIMIT);
    const body = (size: number) => {
      const json = JSON.stringify({ email: uniqueEmail("size"), password: PASSWORD, token_transport: "body" });
      return json.slice(0, -1) + " ".repeat(size - json.length) + "}";
    };
    const send = (text: string) => call("/v1/auth/signup", { method: "POST", body: text, headers: { "Content-Type": "application/json" } });
    expect(new TextEncoder().encode(body(MAX_BODY_BYTES)).byteLength).toBe(MAX_BODY_BYTES);
    expect((await send(body(MAX_BODY_BYTES))).status).toBe(201);
    await expectProblem(await send(body(MAX_BODY_BYTES + 1)), 413, "payload_too_large");
  });

  it("should cap access-token length: a genuine token fits well under it, a signed one past it is refused", async () => {
    const device = await signUp();
    expect(device.accessToken.length).toBeLessThan(MAX_ACCESS_TOKEN_LENGTH / 2);
    const claims = claimsFor(device);
    const sized = async (length: number) => {
      const base = await signWithServiceKey({ ...claims, pad: "" });
      // Each 3 bytes of claim text add 4 characters to the token.
      return signWithServiceKey({ ...claims, pad: "p".repeat(Math.floor(((length - base.length) * 3) / 4)) });
    };
    const under = await sized(MAX_ACCESS_TOKEN_LENGTH - 8);
    expect(under.length).toBeLessThanOrEqual(MAX_ACCESS_TOKEN_LENGTH);
    expect((await me(under)).status).toBe(200);
    const over = await sized(MAX_ACCESS_TOKEN_LENGTH + 8);
    expect(over.length).toBeGreaterThan(MAX_ACCESS_TOKEN_LENGTH);
    await expectProblem(await me(over), 401, "invalid_token");
  });
});
