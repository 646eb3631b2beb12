import { describe, expect, it } from "vitest";
import { dpopKey, signUpBound, withProof } from "../../support/dpop";
import { call, expectProblem, PASSWORD, refresh, type SignedIn, signIn, signUp } from "../../support/http";
import {
  authenticator,
  claimsOf,
  reauthenticateWithPasskey,
  reauthenticateWithPassword,
  registerPasskey,
  registrationOptions,
} from "../../support/passkeys";
import { setRegistryClock } from "../../support/registry";

const TWENTY_MINUTES = 20 * 60_000;
const CHALLENGE = 'Bearer error="insufficient_user_authentication", max_age=600';

/** A session whose sign-in was twenty minutes ago (past STEP_UP_MAX_AGE_SECONDS, 600), its token fresh. */
async function signedInLongAgo(account: SignedIn): Promise<SignedIn> {
  await setRegistryClock(account.userId, () => Date.now() - TWENTY_MINUTES);
  const device = await signIn(account.email, "tablet");
  await setRegistryClock(account.userId, null);
  return device;
}

const sessionsOf = async (device: SignedIn) => (await (await call("/v1/sessions", { token: device.accessToken })).json<any>()).sessions;

describe("step-up: a recent proof for actions that add or remove a way in (RFC 9470)", () => {
  it("should answer 401 step_up_required with the RFC 9470 challenge when adding or removing a passkey with an old proof", async () => {
    const account = await signUp();
    const passkey = await registerPasskey(account);
    const old = await signedInLongAgo(account);
    expect(Date.now() / 1000 - claimsOf(old.accessToken).auth_time).toBeGreaterThan(600);
    for (const response of [
      await registrationOptions(old),
      await call(`/v1/passkeys/${passkey.id}`, { method: "DELETE", token: old.accessToken }),
    ]) {
      const problem = await expectProblem(response, 401, "step_up_required");
      expect(response.headers.get("WWW-Authenticate")).toBe(CHALLENGE);
      expect(problem).toMatchObject({ max_age: 600 });
    }
    // Listing and renaming change no way in: no proof needed.
    expect((await call("/v1/passkeys", { token: old.accessToken })).status).toBe(200);
    const renamed = await call(`/v1/passkeys/${passkey.id}`, { method: "PATCH", token: old.accessToken, json: { name: "Renamed" } });
    expect(renamed.status).toBe(200);
  });

  it("should renew auth_time with the password in the same session, and the new token passes the guard", async () => {
    const account = await signUp();
    const old = await signedInLongAgo(account);
    const before = claimsOf(old.accessToken);
    const response = await reauthenticateWithPassword(old, PASSWORD);
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = await response.json<any>();
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "token_type"]);
    const after = claimsOf(body.access_token);
    expect(after).toMatchObject({ sid: old.sessionId, sub: old.userId, amr: ["pwd"] });
    expect(after.auth_time - before.auth_time).toBeGreaterThan(TWENTY_MINUTES / 1000 - 60);
    // No new session: the same two as before, and the guard now lets the action through.
    expect((await sessionsOf(old)).map((s: any) => s.id).sort()).toEqual([account.sessionId, old.sessionId].sort());
    expect((await registrationOptions({ ...old, accessToken: body.access_token })).status).toBe(200);
    // The old token still says what it said.
    await expectProblem(await registrationOptions(old), 401, "step_up_required");
  });

  it("should renew auth_time for a DPoP-bound session on one proof, the new token bound to the same key", async () => {
    // The route checks the caller is live before the password, then renews: one proof, admitted
    // once (a second admission would see its own jti as a replay: the devices page's step-up hang).
    const key = await dpopKey();
    const bound = await signUpBound(key);
    const response = await withProof("/v1/auth/reauthenticate", bound.accessToken, key, { method: "POST", json: { password: PASSWORD } });
    expect(response.status).toBe(200);
    const body = await response.json<any>();
    expect(body.token_type).toBe("DPoP");
    expect(claimsOf(body.access_token)).toMatchObject({ sid: bound.sessionId, cnf: { jkt: key.jkt }, amr: ["pwd"] });
    expect((await withProof("/v1/sessions", body.access_token, key)).status).toBe(200);
  });

  it("should renew auth_time and amr with a passkey, keeping how the session was signed in", async () => {
    const account = await signUp();
    const auth = authenticator();
    await registerPasskey(account, auth);
    const old = await signedInLongAgo(account);
    const response = await reauthenticateWithPasskey(old, auth);
    expect(response.status).toBe(200);
    const claims = claimsOf((await response.json<any>()).access_token);
    expect(claims).toMatchObject({ sid: old.sessionId, amr: ["swk", "pin"] });
    expect(Date.now() / 1000 - claims.auth_time).toBeLessThan(60);
    const session = (await sessionsOf(old)).find((s: any) => s.id === old.sessionId);
    expect(session.sign_in_method).toBe("password");
  });

  it("should never move auth_time on a refresh, and carry the renewed one after a step-up", async () => {
    const account = await signUp();
    const old = await signedInLongAgo(account);
    const signedInAt = claimsOf(old.accessToken).auth_time;
    const first = await (await refresh(old.refreshToken)).json<any>();
    expect(claimsOf(first.access_token)).toMatchObject({ auth_time: signedInAt, amr: ["pwd"] });
    const stepped = await (await reauthenticateWithPassword({ ...old, accessToken: first.access_token }, PASSWORD)).json<any>();
    const renewedAt = claimsOf(stepped.access_token).auth_time;
    const second = await (await refresh(first.refresh_token)).json<any>();
    expect(claimsOf(second.access_token).auth_time).toBe(renewedAt);
    expect(renewedAt).toBeGreaterThan(signedInAt);
  });

  it("should refuse a wrong password with 401 invalid_credentials, limited like sign-in failures", async () => {
    const account = await signUp();
    for (let i = 0; i < 10; i++)
      await expectProblem(await reauthenticateWithPassword(account, "not the password at all"), 401, "invalid_credentials");
    await expectProblem(await reauthenticateWithPassword(account, PASSWORD), 429, "rate_limited");
  });

  it("should take exactly one proof: neither or both is 400 validation_failed", async () => {
    const account = await signUp();
    for (const json of [{}, { password: PASSWORD, response: { id: "x" } }, { password: "" }])
      await expectProblem(
        await call("/v1/auth/reauthenticate", { method: "POST", token: account.accessToken, json }),
        400,
        "validation_failed",
      );
  });

  it("should answer 404 for passkey step-up options on an account without passkeys", async () => {
    const account = await signUp();
    await expectProblem(await call("/v1/auth/reauthenticate/options", { method: "POST", token: account.accessToken }), 404, "not_found");
  });

  it("should never ask for a proof to sign devices out: one device, the others, all", async () => {
    const account = await signUp();
    const [old, phone, tablet] = [
      await signedInLongAgo(account),
      await signIn(account.email, "phone"),
      await signIn(account.email, "tablet"),
    ];
    expect((await call(`/v1/sessions/${phone.sessionId}`, { method: "DELETE", token: old.accessToken })).status).toBe(204);
    expect((await call("/v1/auth/logout-others", { method: "POST", token: old.accessToken })).status).toBe(200);
    await expectProblem(await call("/v1/me", { token: tablet.accessToken }), 401, "invalid_token");
    const again = await signedInLongAgo(account);
    expect((await call("/v1/auth/logout-all", { method: "POST", token: again.accessToken })).status).toBe(200);
    const last = await signedInLongAgo(account);
    expect((await call("/v1/auth/logout", { method: "POST", token: last.accessToken })).status).toBe(204);
  });

  it("should change the password with a passkey assertion in place of the current password", async () => {
    const account = await signUp();
    const auth = authenticator();
    await registerPasskey(account, auth);
    const options = await (await call("/v1/auth/reauthenticate/options", { method: "POST", token: account.accessToken })).json<any>();
    const response = await auth.get(options);
    const NEW = "another pebble meadow lantern";
    const changed = await call("/v1/auth/password", { method: "POST", token: account.accessToken, json: { response, new_password: NEW } });
    expect(changed.status).toBe(204);
    expect((await signIn(account.email, "phone", NEW)).userId).toBe(account.userId);
    // The same assertion does not work twice, and a bad one changes nothing.
    const again = await call("/v1/auth/password", {
      method: "POST",
      token: account.accessToken,
      json: { response, new_password: PASSWORD },
    });
    await expectProblem(again, 401, "invalid_credentials");
    const both = { response, current_password: NEW, new_password: PASSWORD };
    await expectProblem(
      await call("/v1/auth/password", { method: "POST", token: account.accessToken, json: both }),
      400,
      "validation_failed",
    );
  });
});
