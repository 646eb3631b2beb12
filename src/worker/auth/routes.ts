import type { Context } from "hono";
import { type UserRow, usersRepository } from "../../db/users";
import { configFrom } from "../../shared/config";
import { randomId } from "../../shared/encoding";
import { errorFacts, log } from "../../shared/log";
import { genuineRefreshToken } from "../../shared/refresh-token";
import { clientHintsFrom } from "../devices/client-hints";
import { describeDevice, describePlace } from "../devices/device";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { readJson, readOptionalJson } from "../http/body";
import { failClosed } from "../http/fail-closed";
import { allowMethods } from "../http/methods";
import { openApiRoutes } from "../http/openapi";
import { admitPasswordCheck, admitSignIn, clientAddress, countAttempt } from "../limits/limits";
import { verifiedCaller } from "../sessions/guard";
import { registryFor } from "../sessions/registry-client";
import { signInProof } from "./binding";
import { assertSameOrigin, clearRefreshCookie, readRefreshCookie, setRefreshCookie } from "./cookies";
import { deviceOf, mintDeviceToken, presentedDeviceToken, readDeviceCookie, setDeviceCookie } from "./device-token";
import {
  changePassword,
  logIn,
  loginBody,
  logOut,
  logOutAll,
  logOutOthers,
  passwordBody,
  refreshBody,
  refreshTokens,
  signUp,
  signupBody,
} from "./operations";
import { assertStrongPassword, DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from "./password";
import { type Refreshed, refreshSession } from "./refresh";
import { startSession } from "./start-session";

// Each operation (operations.ts) names its guard in `middleware`, run before the handler.
export const authRoutes = openApiRoutes<AppEnv>();

authRoutes.openapi(signUp, async (c) => {
  const body = await readJson(c, signupBody);
  assertCookieSignInSameOrigin(c, body);
  const dpop = await signInProof(c);
  // Before the PBKDF2 work: weak passwords and mass signups from one address are refused cheaply.
  await assertStrongPassword(c.env, body.password, body.email);
  const config = configFrom(c.env);
  await countAttempt(c.env, `signup-ip:${clientAddress(c)}`, config.signupPerIp);
  const user: UserRow = {
    id: randomId("usr"),
    email: body.email,
    passwordHash: await hashPassword(body.password),
    createdAt: Date.now(),
    passwordChangedAt: null,
    disabledAt: null,
  };
  const users = usersRepository(c.env.DB);
  if (!(await failClosed("database", () => users.insert(user)))) throw new ApiError("email_taken");
  try {
    return await startSession(c, user, body, 201, dpop);
  } catch (error) {
    // No account without its first session: undo the insert so the email can sign up again.
    await users.remove(user.id).catch((undo) => log("error", "signup undo failed", errorFacts(undo)));
    throw error;
  }
});

authRoutes.openapi(logIn, async (c) => {
  const body = await readJson(c, loginBody);
  assertCookieSignInSameOrigin(c, body);
  const dpop = await signInProof(c);
  // Limits before any PBKDF2 work, on the same path for known and unknown emails; the account
  // lookup runs beside them, since it reveals nothing until the password has been checked. A
  // device credential is checked against the account first: it picks the failure budget.
  const lookup = failClosed("database", () => usersRepository(c.env.DB).findByEmail(body.email));
  const device =
    presentedDeviceToken(c, body.device_token) === undefined
      ? Promise.resolve(null)
      : lookup.then((found) => deviceOf(c, found, body.device_token));
  const [admitted, found] = await Promise.allSettled([device.then((known) => admitSignIn(c, body.email, known)), lookup]);
  if (admitted.status === "rejected") throw admitted.reason;
  const attempt = admitted.value;
  let user: UserRow | undefined;
  let valid: boolean;
  try {
    if (found.status === "rejected") throw found.reason;
    user = found.value;
    // Unknown emails pay for a full PBKDF2 run too: the answer and its timing are the same.
    valid = await verifyPassword(body.password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  } catch (error) {
    // Nothing was learnt about the password: give the reserved slot back.
    await attempt.settle("succeeded");
    throw error;
  }
  if (!user || !valid) {
    await attempt.settle("failed");
    if (user) recordFailedSignIn(c, user.id, (await device) !== null);
    throw new ApiError("invalid_credentials");
  }
  // Only someone who knows the password learns that the account is disabled.
  if (user.disabledAt !== null) {
    await attempt.settle("succeeded");
    throw new ApiError("account_disabled");
  }
  // A success only gives its reserved slot back (it never counts against the account), so it is
  // settled after the answer; until then the slot is held, which errs towards refusing.
  c.executionCtx.waitUntil(attempt.settle("succeeded").catch((error) => log("warn", "sign-in limiter settle failed", errorFacts(error))));
  return startSession(c, user, body, 200, dpop);
});

authRoutes.openapi(refreshTokens, async (c) => {
  const body = await readOptionalJson(c, refreshBody);
  const cookie = readRefreshCookie(c);
  // The contract: when both are sent, the body wins.
  const viaCookie = body === undefined;
  const presented = body?.refresh_token ?? cookie;
  if (viaCookie && presented !== undefined) assertSameOrigin(c);
  let refreshed: Refreshed;
  try {
    refreshed = await refreshSession(c, presented, "auth_refresh", 401);
  } catch (error) {
    // Only a refused token clears the cookie: a 429 or a refused DPoP proof leaves the session as it was.
    if (error instanceof ApiError && error.code === "invalid_refresh_token" && viaCookie && cookie !== undefined) clearRefreshCookie(c);
    throw error;
  }
  // A DBSC-bound session's cookie keeps its deadline: only a proof of the browser's key moves it (docs/dbsc.md).
  if (viaCookie) setRefreshCookie(c, refreshed.refreshToken, (refreshed.cookieExpiresAt - Date.now()) / 1000);
  return c.json(
    {
      access_token: refreshed.accessToken,
      token_type: refreshed.tokenType,
      expires_in: refreshed.expiresIn,
      ...(viaCookie ? {} : { refresh_token: refreshed.refreshToken }),
    },
    200,
  );
});

authRoutes.openapi(logOut, async (c) => {
  // Cookie or not: a foreign page's form POST sends no SameSite=Strict cookie, yet must not clear it.
  assertSameOrigin(c);
  const authorization = c.req.header("Authorization");
  const cookie = readRefreshCookie(c);
  if (authorization !== undefined) {
    // Signature and claims, not liveness: logging out an ended session is a success (idempotent),
    // and so is logging out with a token that has just expired.
    // A DPoP-bound token needs its proof here too; its jti is not checked for replay, since a replay
    // could only end the session again.
    const request = { method: c.req.method, url: c.req.url, dpop: c.req.header("DPoP") ?? null };
    const caller = await verifiedCaller(c.env, authorization, { acceptExpired: true }, request);
    await failClosed("registry", () => registryFor(c.env, caller.userId).sessionSignOut(caller.sessionId));
  }
  if (cookie !== undefined) {
    const token = await genuineRefreshToken(c.env, cookie);
    if (token) await failClosed("registry", () => registryFor(c.env, token.userId).signOutByRefreshToken(token.raw));
  }
  // Either credential clears the cookie (a cookie browser may log out by bearer alone); none, no cookie.
  if (authorization !== undefined || cookie !== undefined) clearRefreshCookie(c);
  c.header("Cache-Control", "no-store");
  return c.body(null, 204);
});

authRoutes.openapi(logOutOthers, async (c) => {
  const { userId, actor } = c.var.caller;
  const result = await failClosed("registry", () => registryFor(c.env, userId).sessionRevokeOthers(actor, "revoked_by_other_device"));
  if (!result.ok) throw new ApiError(result.code);
  return c.json({ revoked: result.revoked }, 200);
});

authRoutes.openapi(logOutAll, async (c) => {
  const { userId, actor } = c.var.caller;
  const result = await failClosed("registry", () => registryFor(c.env, userId).sessionRevokeAll(actor));
  if (!result.ok) throw new ApiError(result.code);
  clearRefreshCookie(c);
  c.header("Cache-Control", "no-store");
  return c.json({ revoked: result.revoked }, 200);
});

/**
 * The caller must be live before the password is even checked. The change itself is one call to
 * the registry, one transaction there: the other sessions end, `password_changed` is recorded, and
 * the new hash is queued for D1, which the registry writes (and retries from its alarm). A crash
 * before that call changes nothing; after it, the change completes (docs/storage-schema.md).
 */
authRoutes.openapi(changePassword, async (c) => {
  const body = await readJson(c, passwordBody);
  const { userId, sessionId, actor } = c.var.caller;
  const registry = registryFor(c.env, userId);
  const live = await failClosed("registry", () => registry.sessionCheck(actor));
  if (!live.ok) throw new ApiError(live.code);
  const users = usersRepository(c.env.DB);
  const user = await failClosed("database", () => users.findById(userId));
  if (!user) throw new ApiError("invalid_token");
  // Before the proof: checking a passkey assertion spends it.
  await assertStrongPassword(c.env, body.new_password, user.email);
  if (body.response !== undefined) {
    const proved = await failClosed("registry", () =>
      registry.sessionReauthenticate(sessionId, { method: "passkey", response: body.response! }, describePlace(c.req.raw)),
    );
    if (!proved.ok) throw new ApiError(proved.code);
  } else await checkCurrentPassword(c, user, body.current_password!);
  const passwordHash = await hashPassword(body.new_password);
  const changed = await failClosed("registry", () =>
    registry.sessionChangePassword(sessionId, {
      passwordHash,
      credentialsSeenAt: user.passwordChangedAt ?? 0,
      signOutOthers: body.sign_out_others,
      place: describePlace(c.req.raw),
    }),
  );
  if (!changed.ok) throw new ApiError(changed.code);
  // D1 not written yet: the change stands in the registry (no password signs in until the alarm
  // has written it); the client is told it is done, as it is.
  if (!changed.stored) log("warn", "new password hash not yet in D1; the registry retries", { user_id: userId });
  const changedAt = changed.changedAt;
  // The change ended every device credential of the account (device-token.ts); a browser that
  // held one gets a fresh one, so the device that changed the password stays known.
  if (readDeviceCookie(c) !== undefined) {
    const token = await mintDeviceToken(c.env, { id: userId, passwordChangedAt: changedAt }, changedAt);
    setDeviceCookie(c, token, configFrom(c.env).deviceTokenTtlSeconds);
  }
  return c.body(null, 204);
});

/**
 * `current_password`, limited per session and per account before the PBKDF2 work (limits.ts); each
 * wrong one is recorded in the user's history as `password_check_failed` before the 401, so the
 * owner sees it on every device.
 */
async function checkCurrentPassword(c: Context<AppEnv>, user: UserRow, password: string): Promise<void> {
  const { sessionId } = c.var.caller;
  const attempt = await admitPasswordCheck(c, user.id, sessionId);
  let valid: boolean;
  try {
    valid = await verifyPassword(password, user.passwordHash);
  } catch (error) {
    await attempt.settle("succeeded");
    throw error;
  }
  await attempt.settle(valid ? "succeeded" : "failed");
  if (valid) return;
  await failClosed("registry", () => registryFor(c.env, user.id).sessionPasswordCheckFailed(sessionId, describePlace(c.req.raw)));
  throw new ApiError("invalid_credentials");
}

/**
 * `sign_in_failed` in the account's history, after the answer: the registry call would otherwise
 * make a wrong password for a real account slower than one for an unknown email (which has no
 * history, and must not get one). Best effort: a lost event is logged, and the limits held anyway.
 * Only the device and the place: never the password, nor the email as it was typed.
 */
function recordFailedSignIn(c: Context<AppEnv>, userId: string, knownDevice: boolean): void {
  const attempt = {
    device: describeDevice(c.req.header("User-Agent"), null, clientHintsFrom(c.req.raw.headers)),
    place: describePlace(c.req.raw),
    knownDevice,
  };
  const recorded = registryFor(c.env, userId)
    .signInFailed(attempt)
    .catch((error: unknown) => log("error", "failed sign-in not recorded", { user_id: userId, ...errorFacts(error) }));
  c.executionCtx.waitUntil(recorded);
}

for (const path of ["/signup", "/login", "/refresh", "/logout", "/logout-others", "/logout-all", "/password"]) {
  allowMethods(authRoutes, path, ["POST"]);
}

/**
 * Login CSRF: a foreign page must not sign the browser into an account of its choosing (its
 * cookie would then follow every later visit). Only the cookie transport sets a cookie.
 */
function assertCookieSignInSameOrigin(c: Context<AppEnv>, body: { token_transport: "cookie" | "body" }): void {
  if (body.token_transport === "cookie") assertSameOrigin(c);
}
