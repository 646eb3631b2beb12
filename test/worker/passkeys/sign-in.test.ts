import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { dpopKey, signInBound } from "../../support/dpop";
import { call, expectProblem, freshIp, me, refresh, refreshCookieOf, signUp, USER_AGENTS } from "../../support/http";
import { authenticator, claimsOf, FLAG, passkeySignIn, registerPasskey, signInOptions, signInWithPasskey } from "../../support/passkeys";
import { configure, registry, registrySql } from "../../support/registry";

afterEach(() => {
  vi.useRealTimers();
});

describe("signing in with a passkey", () => {
  it("should offer request options with a fresh challenge, user verification required and no credential list (discoverable)", async () => {
    const [first, second] = [await signInOptions(), await signInOptions()];
    expect(first).toMatchObject({ rpId: "auth.test", userVerification: "required", timeout: 300_000 });
    expect(first.allowCredentials ?? []).toEqual([]);
    expect(first.challenge).not.toBe(second.challenge);
  });

  it("should start a new session from the assertion alone, no email typed, like a password sign-in", async () => {
    const laptop = await signUp();
    const auth = authenticator();
    const passkey = await registerPasskey(laptop, auth);
    const response = await passkeySignIn(auth);
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = await response.json<any>();
    expect(body.user).toEqual({ id: laptop.userId, email: laptop.email, created_at: expect.any(String) });
    expect(body.session).toMatchObject({ current: true, sign_in_method: "passkey", device: { os: "iOS" } });
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 600, refresh_token: expect.any(String) });
    expect(body.session.id).not.toBe(laptop.sessionId);
    expect((await me(body.access_token)).status).toBe(200);
    // Both sessions are listed, each with how it was signed in.
    const sessions = await (await call("/v1/sessions", { token: laptop.accessToken })).json<any>();
    expect(Object.fromEntries(sessions.sessions.map((s: any) => [s.id, s.sign_in_method]))).toEqual({
      [laptop.sessionId]: "password",
      [body.session.id]: "passkey",
    });
    // The passkey is marked used, its counter stored.
    const [stored] = await registrySql<{ counter: number; last_used_at: number }>(
      laptop.userId,
      "SELECT counter, last_used_at FROM passkeys",
    );
    expect(stored!.counter).toBe(1);
    const listed = await (await call("/v1/passkeys", { token: laptop.accessToken })).json<any>();
    expect(listed.passkeys[0].last_used_at).toBe(new Date(stored!.last_used_at).toISOString());
    // The history says how, with which passkey, and flags the new kind of device like any sign-in.
    const history = await (await call("/v1/security-events", { token: laptop.accessToken })).json<any>();
    const signIns = history.events.filter((e: any) => e.type === "signed_in");
    expect(signIns[0]).toMatchObject({
      session_id: body.session.id,
      details: { method: "passkey", passkey: { id: passkey.id, name: passkey.name } },
    });
    expect(signIns[1]).toMatchObject({ session_id: laptop.sessionId, details: { method: "password", passkey: null } });
    expect(history.events.some((e: any) => e.type === "new_device" && e.session_id === body.session.id)).toBe(true);
  });

  it("should put auth_time and amr in the token: swk for a synced passkey, hwk for a device-bound one, pin for user verification", async () => {
    const laptop = await signUp();
    const synced = authenticator();
    const bound = authenticator({ flags: FLAG.UP | FLAG.UV });
    await registerPasskey(laptop, synced);
    await registerPasskey(laptop, bound);
    const password = claimsOf(laptop.accessToken);
    expect(password.amr).toEqual(["pwd"]);
    expect(Math.abs(password.auth_time - Date.now() / 1000)).toBeLessThan(60);
    const a = claimsOf((await signInWithPasskey(synced)).accessToken);
    const b = claimsOf((await signInWithPasskey(bound)).accessToken);
    expect(a.amr).toEqual(["swk", "pin"]);
    expect(b.amr).toEqual(["hwk", "pin"]);
    expect(a.auth_time).toBeLessThanOrEqual(a.iat);
  });

  it("should go through the same session policy: refused under a reject limit, and refused for a disabled account", async () => {
    const laptop = await signUp();
    const auth = authenticator();
    await registerPasskey(laptop, auth);
    await configure(laptop.userId, { MAX_SESSIONS: "1", SESSION_LIMIT_POLICY: "reject" });
    await expectProblem(await passkeySignIn(auth), 409, "session_limit_reached");
    await configure(laptop.userId, { MAX_SESSIONS: "10" });
    expect((await call(`/v1/admin/users/${laptop.userId}/disable`, { method: "POST", token: env.ADMIN_TOKEN! })).status).toBe(200);
    await expectProblem(await passkeySignIn(auth), 403, "account_disabled");
  });

  it("should set the refresh cookie for a browser, refuse a foreign Origin, and keep the passkey's amr across refreshes", async () => {
    const laptop = await signUp();
    const auth = authenticator();
    await registerPasskey(laptop, auth);
    const assertion = await auth.get(await signInOptions());
    const foreign = await call("/v1/auth/passkey", {
      method: "POST",
      json: { response: assertion },
      headers: { Origin: "https://evil.test" },
    });
    await expectProblem(foreign, 403, "csrf_rejected");
    const browser = await call("/v1/auth/passkey", { method: "POST", json: { response: await auth.get(await signInOptions()) } });
    expect(browser.status).toBe(200);
    const cookie = refreshCookieOf(browser);
    expect(cookie?.attributes).toMatch(/HttpOnly/);
    const device = await signInWithPasskey(auth);
    const refreshed = await (await refresh(device.refreshToken)).json<any>();
    expect(claimsOf(refreshed.access_token)).toMatchObject({ amr: ["swk", "pin"], auth_time: claimsOf(device.accessToken).auth_time });
  });

  it("should take the same assertion again when a bound sign-in was asked for a DPoP nonce", async () => {
    // RFC 9449 §8: an honest client retries the same request with the nonce. The assertion's
    // challenge is single-use, so the nonce must be asked for before the assertion is spent.
    const account = await signUp();
    const auth = authenticator();
    await registerPasskey(account, auth);
    const key = await dpopKey();
    await signInBound(account.email, key);
    // After an eviction the registry trusts no proof without a nonce until its mark has passed.
    await evictDurableObject(registry(account.userId));
    const assertion = await auth.get(await signInOptions());
    const ip = freshIp();
    const attempt = (dpop: string) =>
      call("/v1/auth/passkey", {
        method: "POST",
        json: { response: assertion, token_transport: "body" },
        headers: { "User-Agent": USER_AGENTS.phone, "CF-Connecting-IP": ip, DPoP: dpop },
      });
    const asked = await attempt(await key.proof("POST", "/v1/auth/passkey"));
    expect(asked.status).toBe(400);
    expect((await asked.json<any>()).code).toBe("use_dpop_nonce");
    const nonce = asked.headers.get("DPoP-Nonce");
    expect(nonce).not.toBeNull();
    const retried = await attempt(await key.proof("POST", "/v1/auth/passkey", { nonce: nonce! }));
    expect(retried.status).toBe(200);
    const body = await retried.json<any>();
    expect(claimsOf(body.access_token)).toMatchObject({ sub: account.userId, cnf: { jkt: key.jkt } });
  });

  it("should count refused assertions against the account like wrong passwords: the eleventh attempt is 429", async () => {
    const laptop = await signUp();
    const auth = authenticator();
    await registerPasskey(laptop, auth);
    for (let i = 0; i < 10; i++)
      await expectProblem(await passkeySignIn(auth, { corruptSignature: true }, freshIp()), 401, "invalid_credentials");
    await expectProblem(await passkeySignIn(auth, {}, freshIp()), 429, "rate_limited");
  });
});
