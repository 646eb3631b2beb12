import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { base64url } from "../../src/shared/encoding";
import { mintSignInChallenge } from "../../src/shared/sign-in-challenge";
import { call, expectProblem, type SignedIn, signIn, signUp } from "../support/http";
import {
  authenticator,
  FLAG,
  passkeySignIn,
  postAssertion,
  registerPasskey,
  registrationOptions,
  type SoftAuthenticator,
  signInOptions,
  tryRegister,
} from "../support/passkeys";
import { registrySql, setRegistryClock } from "../support/registry";
import { b64url } from "../support/soft-authenticator";

afterEach(() => {
  vi.useRealTimers();
});

const liveSessions = async (device: SignedIn) =>
  (await registrySql(device.userId, "SELECT id FROM sessions WHERE revoked_at IS NULL")).length;
const passkeyCount = async (device: SignedIn) => (await registrySql(device.userId, "SELECT id FROM passkeys")).length;
const events = async (device: SignedIn, type: string) =>
  (await (await call("/v1/security-events", { token: device.accessToken })).json<any>()).events.filter((e: any) => e.type === type);

/** A user with one registered passkey on `auth`. */
async function withPasskey(auth = authenticator()) {
  const device = await signUp();
  const passkey = await registerPasskey(device, auth);
  return { device, auth, passkey };
}

describe("passkey registration refuses what WebAuthn §7.1 refuses, and stores nothing", () => {
  const refusals: [string, Parameters<SoftAuthenticator["create"]>[1], RegExp][] = [
    ["a response from another origin", { origin: "https://evil.test" }, /origin/],
    ["an authenticator that signed for another RP ID", { rpIdForHash: "evil.test" }, /RP ID/],
    ["an authenticator that did not verify the user (UV clear)", { flags: FLAG.UP | FLAG.BE | FLAG.BS }, /did not verify the user/],
    ["an authenticator that did not test presence (UP clear)", { flags: FLAG.UV }, /presence/],
    ["a response to a challenge it was not given", { challenge: base64url(crypto.getRandomValues(new Uint8Array(32))) }, /challenge/],
    ["an assertion posted as a registration (type webauthn.get)", { type: "webauthn.get" }, /not a registration/],
  ];
  for (const [name, bend, reason] of refusals) {
    it(`should refuse ${name}`, async () => {
      const device = await signUp();
      const problem = await expectProblem(await tryRegister(device, authenticator(), bend), 400, "passkey_rejected");
      expect((problem as any).detail).toMatch(reason);
      expect(await passkeyCount(device)).toBe(0);
    });
  }

  it("should accept a registration challenge once: a second authenticator answering the same options is refused", async () => {
    const device = await signUp();
    const options = await (await registrationOptions(device)).json<any>();
    const post = (response: unknown) => call("/v1/passkeys", { method: "POST", token: device.accessToken, json: { response } });
    expect((await post(await authenticator().create(options))).status).toBe(201);
    const problem = await expectProblem(await post(await authenticator().create(options)), 400, "passkey_rejected");
    expect((problem as any).detail).toMatch(/unknown, used or expired/);
    expect(await passkeyCount(device)).toBe(1);
  });

  it("should refuse an answer to an expired registration challenge (five minutes)", async () => {
    const device = await signUp();
    const response = await authenticator().create(await (await registrationOptions(device)).json());
    await setRegistryClock(device.userId, () => Date.now() + 5 * 60_000 + 1000);
    const problem = await expectProblem(
      await call("/v1/passkeys", { method: "POST", token: device.accessToken, json: { response } }),
      400,
      "passkey_rejected",
    );
    expect((problem as any).detail).toMatch(/expired/);
  });

  it("should refuse a response to another session's registration challenge, even of the same account", async () => {
    const device = await signUp();
    const other = await signIn(device.email, "phone");
    const response = await authenticator().create(await (await registrationOptions(device)).json());
    await expectProblem(
      await call("/v1/passkeys", { method: "POST", token: other.accessToken, json: { response } }),
      400,
      "passkey_rejected",
    );
  });
});

describe("passkey step-up refuses a replayed or misdirected assertion", () => {
  const stepUpOptions = async (device: SignedIn) =>
    (await call("/v1/auth/reauthenticate/options", { method: "POST", token: device.accessToken })).json<any>();
  const stepUp = (device: SignedIn, response: unknown) =>
    call("/v1/auth/reauthenticate", { method: "POST", token: device.accessToken, json: { response } });

  it("should accept a step-up challenge once, even from a synced passkey whose counter never moves", async () => {
    const { device, auth } = await withPasskey(authenticator({ counterStep: 0 }));
    const response = await auth.get(await stepUpOptions(device));
    expect((await stepUp(device, response)).status).toBe(200);
    await expectProblem(await stepUp(device, response), 401, "invalid_credentials");
  });

  it("should refuse a step-up assertion made for another session's challenge, even of the same account", async () => {
    const { device, auth } = await withPasskey(authenticator({ counterStep: 0 }));
    const other = await signIn(device.email, "phone");
    const response = await auth.get(await stepUpOptions(device));
    await expectProblem(await stepUp(other, response), 401, "invalid_credentials");
  });

  it("should refuse a sign-in assertion presented as a step-up: its challenge is not this session's", async () => {
    const { device, auth } = await withPasskey(authenticator({ counterStep: 0 }));
    await stepUpOptions(device);
    await expectProblem(await stepUp(device, await auth.get(await signInOptions())), 401, "invalid_credentials");
  });
});

describe("passkey sign-in refuses what WebAuthn §7.2 refuses, with one answer and no session", () => {
  const refusals: [string, Parameters<SoftAuthenticator["get"]>[1]][] = [
    ["an assertion made for another origin", { origin: "https://evil.test" }],
    ["an assertion signed for another RP ID", { rpIdForHash: "evil.test" }],
    ["an assertion without user verification (UV clear)", { flags: FLAG.UP | FLAG.BE | FLAG.BS }],
    ["an assertion with a bad signature", { corruptSignature: true }],
    ["a registration posted as an assertion (type webauthn.create)", { type: "webauthn.create" }],
    ["an assertion naming a credential the account does not have", { credentialId: b64url(crypto.getRandomValues(new Uint8Array(32))) }],
    ["an assertion whose backup eligibility changed since registration (BE clear)", { flags: FLAG.UP | FLAG.UV }],
  ];
  for (const [name, bend] of refusals) {
    it(`should refuse ${name}`, async () => {
      const { device, auth } = await withPasskey();
      await expectProblem(await passkeySignIn(auth, bend), 401, "invalid_credentials");
      expect(await liveSessions(device)).toBe(1);
    });
  }

  it("should accept a sign-in challenge once: a replayed assertion of a synced passkey (counter always 0) is refused", async () => {
    const { device, auth } = await withPasskey(authenticator({ counterStep: 0 }));
    const assertion = await auth.get(await signInOptions());
    expect((await postAssertion(assertion)).status).toBe(200);
    await expectProblem(await postAssertion(assertion), 401, "invalid_credentials");
    expect(await liveSessions(device)).toBe(2);
  });

  it("should let exactly one of two simultaneous copies of an assertion in", async () => {
    const { device, auth } = await withPasskey(authenticator({ counterStep: 0 }));
    const assertion = await auth.get(await signInOptions());
    const statuses = (await Promise.all([postAssertion(assertion), postAssertion(assertion)])).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 401]);
    expect(await liveSessions(device)).toBe(2);
  });

  it("should refuse an assertion whose challenge has expired (five minutes), and one whose challenge this service never issued", async () => {
    const { auth } = await withPasskey();
    vi.useFakeTimers({ now: Date.now(), toFake: ["Date"] });
    const stale = await auth.get(await signInOptions());
    vi.setSystemTime(Date.now() + 5 * 60_000 + 1000);
    await expectProblem(await postAssertion(stale), 401, "invalid_credentials");
    vi.useRealTimers();
    // A challenge shaped like ours but minted under another key.
    const foreign = await mintSignInChallenge(base64url(crypto.getRandomValues(new Uint8Array(32))));
    await expectProblem(await postAssertion(await auth.get({ challenge: foreign, rpId: "auth.test" })), 401, "invalid_credentials");
    // And a genuine one, but minted long ago (it carries its own expiry, under the service's key).
    const old = await mintSignInChallenge(env.REFRESH_TOKEN_SECRET, Date.now() - 10 * 60_000);
    await expectProblem(await postAssertion(await auth.get({ challenge: old, rpId: "auth.test" })), 401, "invalid_credentials");
  });

  it("should refuse one account's credential presented under another account's user handle", async () => {
    const { auth } = await withPasskey();
    const victim = await signUp();
    const assertion = await auth.get(await signInOptions());
    assertion.response.userHandle = base64url(new TextEncoder().encode(victim.userId));
    await expectProblem(await postAssertion(assertion), 401, "invalid_credentials");
    expect(await liveSessions(victim)).toBe(1);
  });

  it("should refuse a passkey once it is removed", async () => {
    const { device, auth, passkey } = await withPasskey();
    expect((await call(`/v1/passkeys/${passkey.id}`, { method: "DELETE", token: device.accessToken })).status).toBe(204);
    await expectProblem(await passkeySignIn(auth), 401, "invalid_credentials");
  });

  it("should refuse a correctly signed assertion whose counter went back, and record a possible cloned authenticator", async () => {
    const { device, auth, passkey } = await withPasskey();
    expect((await passkeySignIn(auth)).status).toBe(200); // the counter is now 1
    await expectProblem(await passkeySignIn(auth, { signCount: 1 }), 401, "invalid_credentials");
    expect(await liveSessions(device)).toBe(2);
    const [regressed] = await events(device, "passkey_counter_regressed");
    expect(regressed).toMatchObject({
      session_id: null,
      details: { passkey: { id: passkey.id }, stored_counter: 1, presented_counter: 1 },
    });
    const [stored] = await registrySql<{ counter: number }>(device.userId, "SELECT counter FROM passkeys");
    expect(stored!.counter).toBe(1);
  });

  it("should not record a clone for a forged assertion with a low counter: only a verified signature is evidence", async () => {
    const { device, auth } = await withPasskey();
    expect((await passkeySignIn(auth)).status).toBe(200);
    await expectProblem(await passkeySignIn(auth, { signCount: 0, corruptSignature: true }), 401, "invalid_credentials");
    expect(await events(device, "passkey_counter_regressed")).toEqual([]);
  });
});
