import { Hono } from "hono";
import { z } from "zod";
import { USER_ID } from "../../contract/ids";
import { MAX_PASSKEYS, passkeyJson } from "../../contract/passkeys";
import type { Actor, NotFound, Refused } from "../../contract/registry";
import { usersRepository } from "../../db/users";
import { configFrom } from "../../shared/config";
import { fromBase64url } from "../../shared/encoding";
import { mintSignInChallenge, readSignInChallenge } from "../../shared/sign-in-challenge";
import { signInProof } from "../auth/binding";
import { assertSameOrigin } from "../auth/cookies";
import { startSession } from "../auth/routes";
import { requireRecentAuthentication } from "../auth/step-up";
import { describePlace } from "../devices/device";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { readJson } from "../http/body";
import { failClosed } from "../http/fail-closed";
import { allowMethods } from "../http/methods";
import { displayText, tokenTransport } from "../http/validation";
import { admitSignIn } from "../limits/limits";
import { requireAccessToken } from "../sessions/guard";
import { registryFor } from "../sessions/registry-client";
import { authenticationOptions, registrationOptions } from "./options";
import { authenticationResponse, registrationResponse } from "./validation";

/** Credential ids as the path carries them: base64url, at most 1023 bytes (WebAuthn §7.1). */
const PASSKEY_ID = /^[A-Za-z0-9_-]{1,1364}$/;
const registerBody = z.object({ response: registrationResponse, name: displayText(64).nullish() });
const renameBody = z.object({ name: displayText(64) });
const passkeySignInBody = z.object({
  response: authenticationResponse,
  device_name: displayText(64).nullish(),
  token_transport: tokenTransport,
});

/** `/v1/passkeys`: the signed-in user's passkeys. Adding or removing one needs a recent proof (RFC 9470). */
export const passkeyRoutes = new Hono<AppEnv>();

passkeyRoutes.post("/registration/options", requireAccessToken, requireRecentAuthentication(), async (c) => {
  const { userId, actor } = c.var.caller;
  // The email names the account in the authenticator's account picker (WebAuthn `user.name`).
  const [challenge, user] = await Promise.all([
    failClosed("registry", () => registryFor(c.env, userId).sessionPasskeyChallenge(actor, "registration")),
    failClosed("database", () => usersRepository(c.env.DB).findById(userId)),
  ]);
  if (!challenge.ok || !user) throw new ApiError("invalid_token");
  if (challenge.passkeys.length >= MAX_PASSKEYS) throw new ApiError("passkey_limit_reached", { extra: { max_passkeys: MAX_PASSKEYS } });
  c.header("Cache-Control", "no-store");
  return c.json(await registrationOptions(configFrom(c.env).relyingParty, challenge, user.email));
});

/**
 * Not behind the step-up guard itself: the registration challenge it answers was issued to this
 * session under a recent proof, is single-use, and expires within minutes.
 */
passkeyRoutes.post("/", requireAccessToken, async (c) => {
  const { userId, actor } = c.var.caller;
  const body = await readJson(c, registerBody);
  const registration = { response: body.response, name: body.name ?? null, place: describePlace(c.req.raw) };
  const result = await failClosed("registry", () => registryFor(c.env, userId).sessionPasskeyRegister(actor, registration));
  if (!result.ok && result.code === "passkey_rejected")
    throw new ApiError("passkey_rejected", { detail: `Not registered: ${result.reason}` });
  if (!result.ok && result.code === "passkey_limit_reached")
    throw new ApiError("passkey_limit_reached", { extra: { max_passkeys: result.max } });
  if (!result.ok) throw new ApiError(result.code);
  return c.json(passkeyJson(result.passkey), 201);
});

passkeyRoutes.get("/", requireAccessToken, async (c) => {
  const { userId, actor } = c.var.caller;
  const result = await failClosed("registry", () => registryFor(c.env, userId).sessionPasskeyList(actor));
  if (!result.ok) throw new ApiError(result.code);
  return c.json({ passkeys: result.passkeys.map(passkeyJson) });
});

passkeyRoutes.patch("/:id", requireAccessToken, async (c) => {
  const { userId, actor } = c.var.caller;
  const { name } = await readJson(c, renameBody);
  const id = c.req.param("id");
  const registry = registryFor(c.env, userId);
  const result = PASSKEY_ID.test(id)
    ? await failClosed("registry", () => registry.sessionPasskeyRename(actor, id, name))
    : await notAPasskey(c.env, userId, actor);
  if (!result.ok) throw new ApiError(result.code);
  return c.json(passkeyJson(result.passkey));
});

passkeyRoutes.delete("/:id", requireAccessToken, requireRecentAuthentication(), async (c) => {
  const { userId, actor } = c.var.caller;
  const id = c.req.param("id");
  const result = PASSKEY_ID.test(id)
    ? await failClosed("registry", () => registryFor(c.env, userId).sessionPasskeyRemove(actor, id, describePlace(c.req.raw)))
    : await notAPasskey(c.env, userId, actor);
  if (!result.ok) throw new ApiError(result.code);
  return c.body(null, 204);
});

allowMethods(passkeyRoutes, "/", ["GET", "POST"]);
allowMethods(passkeyRoutes, "/registration/options", ["POST"]);
allowMethods(passkeyRoutes, "/:id", ["PATCH", "DELETE"]);

/** An id that cannot be a credential id is no passkey of the caller's (404), once the caller is known to be live. */
async function notAPasskey(env: Env, userId: string, actor: Actor): Promise<NotFound | Refused> {
  const live = await failClosed("registry", () => registryFor(env, userId).sessionCheck(actor));
  return live.ok ? { ok: false, code: "not_found" } : live;
}

/**
 * `/v1/auth/passkey…`: signing in with a passkey, without typing an email (a discoverable
 * credential; conditional mediation on the devices page). The challenge is stateless until used
 * (src/shared/sign-in-challenge.ts), so asking for options costs no storage.
 */
export const passkeySignInRoutes = new Hono<AppEnv>();

passkeySignInRoutes.post("/passkey/options", async (c) => {
  const challenge = await mintSignInChallenge(c.env.REFRESH_TOKEN_SECRET);
  c.header("Cache-Control", "no-store");
  return c.json(await authenticationOptions(configFrom(c.env).relyingParty, challenge));
});

/**
 * The same sign-in as a password's (`startSession`: device, session policy, risk checks, events),
 * limited the same way: every attempt counts against the address, and a failure against the
 * account the response names (or, for a user handle that names none, against that handle, so an
 * unknown account is limited exactly like a real one).
 */
passkeySignInRoutes.post("/passkey", async (c) => {
  const body = await readJson(c, passkeySignInBody);
  if (body.token_transport === "cookie") assertSameOrigin(c);
  // A DPoP proof binds the new session to the client's key, as at password sign-in.
  const dpop = await signInProof(c);
  const userId = userIdOf(body.response.response.userHandle);
  const user = userId === null ? undefined : await failClosed("database", () => usersRepository(c.env.DB).findById(userId));
  const attempt = await admitSignIn(c, user?.email ?? `passkey-user-handle:${body.response.response.userHandle ?? ""}`);
  const challenge = challengeOf(body.response.response.clientDataJSON);
  const signed = challenge !== null && (await readSignInChallenge(c.env.REFRESH_TOKEN_SECRET, challenge)) !== null;
  if (!user || !signed) {
    await attempt.settle("failed");
    throw new ApiError("invalid_credentials", { detail: "The passkey could not be verified" });
  }
  let failed = false;
  try {
    return await startSession(c, user, body, 200, dpop, { method: "passkey", challenge: challenge!, response: body.response });
  } catch (error) {
    failed = error instanceof ApiError && error.code === "invalid_credentials";
    throw error;
  } finally {
    await attempt.settle(failed ? "failed" : "succeeded");
  }
});

allowMethods(passkeySignInRoutes, "/passkey/options", ["POST"]);
allowMethods(passkeySignInRoutes, "/passkey", ["POST"]);

/** The account a discoverable credential names: its user handle is the user id's bytes (registry/passkeys.ts). */
function userIdOf(userHandle: string | null | undefined): string | null {
  const bytes = userHandle ? fromBase64url(userHandle) : null;
  const id = bytes ? new TextDecoder().decode(bytes) : "";
  return USER_ID.test(id) ? id : null;
}

/** The challenge `clientDataJSON` answers, read only to find which signed challenge to check. */
function challengeOf(clientDataJSON: string): string | null {
  const bytes = fromBase64url(clientDataJSON);
  if (!bytes) return null;
  try {
    const challenge = (JSON.parse(new TextDecoder().decode(bytes)) as { challenge?: unknown }).challenge;
    return typeof challenge === "string" ? challenge : null;
  } catch {
    return null;
  }
}
