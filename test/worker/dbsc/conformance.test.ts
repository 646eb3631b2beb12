import { describe, expect, it, vi } from "vitest";
import {
  challengeOf,
  cookieRefresh,
  cookieSignIn,
  type DbscAlg,
  dbscKey,
  postRefresh,
  postRegistration,
  registerDbsc,
  registrationOffer,
} from "../../support/dbsc";
import { history } from "../../support/devices";
import { call, expectProblem, freshIp, me, ORIGIN, PASSWORD, refreshCookieOf, signUp, uniqueEmail } from "../../support/http";
import { authenticator, postAssertion, registerPasskey, signInOptions } from "../../support/passkeys";
import { breakRegistry, configure, movableRegistryClock } from "../../support/registry";

/**
 * The browser's side of W3C DBSC against the service, case by case (docs/dbsc.md): what Chromium
 * 156 sends (raw headers, no Authorization, a re-sent earlier proof) and what the spec allows.
 */
describe.each<DbscAlg>(["ES256", "RS256"])("DBSC with an %s key", (alg) => {
  it("a cookie sign-in offers registration; registration binds the session and answers the instructions", async () => {
    const session = await cookieSignIn();
    expect(session.offer.algorithms).toEqual(["ES256", "RS256"]);
    expect(session.offer.path).toBe("/v1/auth/dbsc/register");
    const key = await dbscKey(alg);
    const bound = await registerDbsc(session, key);
    expect(bound.registration.headers.get("Cache-Control")).toBe("no-store");
    expect(bound.instructions).toEqual({
      session_identifier: bound.identifier,
      refresh_url: "/v1/auth/dbsc/refresh",
      scope: {
        origin: ORIGIN,
        include_site: false,
        scope_specification: [{ type: "exclude", domain: "auth.test", path: "/v1/auth/dbsc/" }],
      },
      credentials: [{ type: "cookie", name: "__Host-refresh_token", attributes: "Path=/; Secure; HttpOnly; SameSite=Strict" }],
    });
    // The cookie rotated and became short-lived: DBSC_COOKIE_SECONDS (600) less the 5 s margin.
    const cookie = refreshCookieOf(bound.registration)!;
    expect(cookie.value).not.toBe(session.cookie);
    expect(cookie.attributes).toMatch(/Max-Age=59[0-5];/);
    const { session: view } = (await (await me(session.accessToken)).json()) as any;
    expect(view.binding).toBe("dbsc");
    const registered = (await history(session.accessToken)).find((event) => event.type === "dbsc_registered");
    expect(registered?.details).toMatchObject({ algorithm: alg });
    expect(registered?.session_id).toBe(session.sessionId);
  });

  it("refresh: the challenge sent ahead is signed at once; without a proof, 403 with a challenge; the new cookie works", async () => {
    const bound = await registerDbsc(await cookieSignIn(), await dbscKey(alg));
    // Sent ahead on the registration answer: one signed POST, no 403 round trip.
    const first = await postRefresh(bound.identifier, await bound.key.sign({ jti: bound.ahead }, { jwk: false }));
    expect(first.status).toBe(200);
    expect(first.headers.get("Cache-Control")).toBe("no-store");
    expect(((await first.json()) as any).session_identifier).toBe(bound.identifier);
    const renewed = refreshCookieOf(first)!;
    expect(renewed.attributes).toMatch(/Max-Age=59[0-5];/);
    // No proof (the bound cookie is gone, no challenge cached): 403 and a challenge for this session.
    const asked = await postRefresh(bound.identifier, null);
    await expectProblem(asked, 403, "dbsc_challenge");
    const challenge = challengeOf(asked)!;
    expect(challenge.id).toBe(bound.identifier);
    const signed = await postRefresh(bound.identifier, await bound.key.sign({ jti: challenge.challenge }, { jwk: false }));
    expect(signed.status).toBe(200);
    const latest = refreshCookieOf(signed)!.value;
    const tokens = await cookieRefresh(latest);
    expect(tokens.status).toBe(200);
  });

  it("a proof re-sent over a used challenge (Chromium after an empty answer) gets 403 and a fresh challenge, never a 4xx that ends it", async () => {
    const bound = await registerDbsc(await cookieSignIn(), await dbscKey(alg));
    const proof = await bound.key.sign({ jti: bound.ahead }, { jwk: false });
    expect((await postRefresh(bound.identifier, proof)).status).toBe(200);
    const again = await postRefresh(bound.identifier, proof);
    await expectProblem(again, 403, "dbsc_challenge");
    expect(challengeOf(again)!.challenge).not.toBe(bound.ahead);
    expect(refreshCookieOf(again)).toBeNull();
  });

  it("a proof by another key is refused (401), recorded, and the session goes on", async () => {
    const bound = await registerDbsc(await cookieSignIn(), await dbscKey(alg));
    const thief = await dbscKey(alg);
    const refused = await postRefresh(bound.identifier, await thief.sign({ jti: bound.ahead }, { jwk: false }));
    await expectProblem(refused, 401, "invalid_dbsc_proof");
    expect(refreshCookieOf(refused)).toBeNull();
    const rejected = (await history(bound.accessToken)).find((event) => event.type === "dbsc_rejected");
    expect(rejected?.details).toMatchObject({ reason: "wrong_key", endpoint: "dbsc_refresh" });
    // The challenge was not spent on the thief: the browser's own proof still renews.
    expect((await postRefresh(bound.identifier, await bound.key.sign({ jti: bound.ahead }, { jwk: false }))).status).toBe(200);
  });

  it("a proof for another session: another session's challenge, or this proof under another session's id, renews nothing", async () => {
    const a = await registerDbsc(await cookieSignIn(), await dbscKey(alg));
    const b = await registerDbsc(await cookieSignIn(a.email), await dbscKey(alg));
    // A's key over B's challenge, for A: not one of A's challenges, so A is asked to sign one of its own.
    const crossed = await postRefresh(a.identifier, await a.key.sign({ jti: b.ahead }, { jwk: false }));
    await expectProblem(crossed, 403, "dbsc_challenge");
    // A's honest proof presented for B: not B's key.
    await expectProblem(await postRefresh(b.identifier, await a.key.sign({ jti: a.ahead }, { jwk: false })), 401, "invalid_dbsc_proof");
    // B's challenge was not consumed by either.
    expect((await postRefresh(b.identifier, await b.key.sign({ jti: b.ahead }, { jwk: false }))).status).toBe(200);
  });

  it("a revoked session ends the browser's DBSC session: continue false, the cookie cleared, no retry loop", async () => {
    const bound = await registerDbsc(await cookieSignIn(), await dbscKey(alg));
    const out = await call("/v1/auth/logout", { method: "POST", token: bound.accessToken });
    expect(out.status).toBe(204);
    const ended = await postRefresh(bound.identifier, await bound.key.sign({ jti: bound.ahead }, { jwk: false }), bound.cookie);
    expect(ended.status).toBe(200);
    expect(await ended.json()).toEqual({ session_identifier: bound.identifier, continue: false });
    expect(ended.headers.get("Clear-Site-Data")).toBe('"cookies"');
    expect(ended.headers.getSetCookie().some((line) => /^__Host-refresh_token=;.*Max-Age=0/.test(line))).toBe(true);
    // Without a proof too: never a 403 asking it to try again.
    expect(((await (await postRefresh(bound.identifier, null)).json()) as any).continue).toBe(false);
  });

  it("the bound cookie expires on the server's clock, and only a proof of the key renews it", async () => {
    const session = await cookieSignIn();
    await configure(session.userId, { DBSC_COOKIE_SECONDS: "30" });
    const bound = await registerDbsc(session, await dbscKey(alg));
    const clock = await movableRegistryClock(session.userId);
    // An ordinary refresh rotates the token inside but never moves the cookie's deadline.
    clock.moveTo(20_000);
    const early = await cookieRefresh(bound.cookie);
    expect(early.status).toBe(200);
    const rotated = refreshCookieOf(early)!;
    expect(Number(/Max-Age=(\d+)/.exec(rotated.attributes)![1])).toBeLessThanOrEqual(25);
    // Past the deadline the cookie is worthless, to the browser and to whoever copied it.
    clock.moveTo(31_000);
    await expectProblem(await cookieRefresh(rotated.value), 401, "invalid_refresh_token");
    const lapsed = (await history(bound.accessToken)).find((event) => event.type === "dbsc_rejected");
    expect(lapsed?.details).toMatchObject({ reason: "cookie_lapsed", endpoint: "auth_refresh" });
    // The browser, which holds the key, gets a fresh one.
    const asked = await postRefresh(bound.identifier, null);
    const renewed = await postRefresh(bound.identifier, await bound.key.sign({ jti: challengeOf(asked)!.challenge }, { jwk: false }));
    expect(renewed.status).toBe(200);
    expect((await cookieRefresh(refreshCookieOf(renewed)!.value)).status).toBe(200);
  });
});

describe("DBSC registration refusals", () => {
  it("alg none, a replayed challenge, a second key, another session's challenge: 400, recorded, the session unbound", async () => {
    const session = await cookieSignIn();
    const key = await dbscKey();
    const none = `${btoa(JSON.stringify({ alg: "none", typ: "dbsc+jwt", jwk: key.publicJwk })).replace(/=+$/, "")}.${btoa(JSON.stringify({ jti: session.offer.challenge })).replace(/=+$/, "")}.`;
    await expectProblem(await postRegistration(session.offer.path, session.cookie, none), 400, "dbsc_registration_refused");
    const other = await cookieSignIn(session.email);
    const crossed = await key.sign({ jti: other.offer.challenge });
    await expectProblem(await postRegistration(session.offer.path, session.cookie, crossed), 400, "dbsc_registration_refused");
    const { session: view } = (await (await me(session.accessToken)).json()) as any;
    expect(view.binding).toBe("none");
    // Registered once (quoted as the spec writes it), then neither its challenge nor another key binds it again.
    const proof = await key.sign({ jti: session.offer.challenge });
    const registered = await postRegistration(session.offer.path, session.cookie, proof, { quoted: true });
    expect(registered.status).toBe(200);
    const cookie = refreshCookieOf(registered)!.value;
    await expectProblem(await postRegistration(session.offer.path, cookie, proof), 400, "dbsc_registration_refused");
    const events = (await history(session.accessToken)).filter((event) => event.type === "dbsc_rejected");
    expect(events.map((event) => event.details.reason)).toContain("invalid_proof");
  });

  it("the earlier drafts' proof (the key in the payload, aud and iat) registers too", async () => {
    const session = await cookieSignIn();
    const key = await dbscKey("ES256");
    const proof = await key.sign(
      { aud: `${ORIGIN}${session.offer.path}`, jti: session.offer.challenge, iat: Math.floor(Date.now() / 1000), key: key.publicJwk },
      { jwk: false },
    );
    expect((await postRegistration(session.offer.path, session.cookie, proof)).status).toBe(200);
  });

  it("a passkey sign-in with the cookie transport is offered DBSC too, and binds", async () => {
    const device = await signUp();
    const auth = authenticator();
    await registerPasskey(device, auth);
    const response = await postAssertion(await auth.get(await signInOptions()), freshIp(), "cookie");
    expect(response.status).toBe(200);
    const body = (await response.json()) as any;
    const offer = registrationOffer(response)!;
    expect(offer.path).toBe("/v1/auth/dbsc/register");
    const cookie = refreshCookieOf(response)!.value;
    const key = await dbscKey();
    expect((await postRegistration(offer.path, cookie, await key.sign({ jti: offer.challenge }))).status).toBe(200);
    expect(((await (await me(body.access_token)).json()) as any).session.binding).toBe("dbsc");
  });

  it("body-transport sign-ins are not offered DBSC", async () => {
    const response = await call("/v1/auth/signup", {
      method: "POST",
      json: { email: uniqueEmail(), password: PASSWORD, token_transport: "body" },
    });
    expect(response.status).toBe(201);
    expect(response.headers.get("Secure-Session-Registration")).toBeNull();
  });
});

describe("DBSC refresh under failure and load", () => {
  it("an unreachable registry is a 503 with Retry-After, never a 4xx (Chromium ends the session on a 4xx)", async () => {
    const bound = await registerDbsc(await cookieSignIn(), await dbscKey());
    const broken = breakRegistry(() => new Error("registry down (injected)"), ["dbscRefresh"]);
    try {
      const response = await postRefresh(bound.identifier, await bound.key.sign({ jti: bound.ahead }, { jwk: false }));
      await expectProblem(response, 503, "registry_unavailable");
      expect(response.headers.get("Retry-After")).toBe("1");
    } finally {
      broken.mockRestore();
    }
    expect((await postRefresh(bound.identifier, await bound.key.sign({ jti: bound.ahead }, { jwk: false }))).status).toBe(200);
  });

  it("the per-session limit answers 503 with Retry-After, not 429", async () => {
    const session = await cookieSignIn();
    await configure(session.userId, { REFRESH_SESSION_LIMIT: "1" });
    const bound = await registerDbsc(session, await dbscKey());
    const first = await postRefresh(bound.identifier, await bound.key.sign({ jti: bound.ahead }, { jwk: false }));
    expect(first.status).toBe(200);
    const limited = await postRefresh(bound.identifier, await bound.key.sign({ jti: challengeOf(first)!.challenge }, { jwk: false }));
    await expectProblem(limited, 503, "rate_limited");
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(0);
  });

  it("rotation still holds: the cookie before a DBSC refresh is in grace, then it is reuse and ends the session", async () => {
    const bound = await registerDbsc(await cookieSignIn(), await dbscKey());
    const clock = await movableRegistryClock(bound.userId);
    const renewed = await postRefresh(bound.identifier, await bound.key.sign({ jti: bound.ahead }, { jwk: false }), bound.cookie);
    const successor = refreshCookieOf(renewed)!.value;
    // Another tab's request with the cookie of a moment ago gets the same successor.
    const inGrace = await cookieRefresh(bound.cookie);
    expect(inGrace.status).toBe(200);
    expect(refreshCookieOf(inGrace)!.value).toBe(successor);
    clock.moveTo(11_000);
    await expectProblem(await cookieRefresh(bound.cookie), 401, "invalid_refresh_token");
    expect((await me(bound.accessToken)).status).toBe(401);
  });

  it("Secure-Session-Skipped reports are recorded as security events", async () => {
    const bound = await registerDbsc(await cookieSignIn(), await dbscKey());
    const response = await call("/v1/me", {
      token: bound.accessToken,
      headers: { "Secure-Session-Skipped": `quota_exceeded;session_identifier="${bound.identifier}"` },
    });
    expect(response.status).toBe(200);
    await vi.waitFor(async () => {
      const skipped = (await history(bound.accessToken)).find((event) => event.type === "dbsc_refresh_skipped");
      expect(skipped?.details).toMatchObject({ reason: "quota_exceeded" });
    });
  });
});
