import { type Context, Hono } from "hono";
import { z } from "zod";
import type { SignInProof } from "../../contract/auth";
import type { SignInResult } from "../../contract/registry";
import { sessionJson } from "../../contract/session";
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
import { displayText, email, newPassword, presentedPassword, tokenTransport } from "../http/validation";
import { admitSignIn, clientAddress, countAttempt, rateLimited } from "../limits/limits";
import { authenticationResponse } from "../passkeys/validation";
import { requireAccessToken, verifiedCaller } from "../sessions/guard";
import { userJson } from "../sessions/json";
import { registryFor } from "../sessions/registry-client";
import { signAccessToken } from "../tokens/access";
import { loadKeySet } from "../tokens/keys";
import { assertSameOrigin, clearRefreshCookie, readRefreshCookie, setRefreshCookie } from "./cookies";
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from "./password";

const signupBody = z.object({
  email,
  password: newPassword,
  device_name: displayText(64).nullish(),
  token_transport: tokenTransport,
});
const loginBody = signupBody.extend({ password: presentedPassword });
const refreshBody = z.object({ refresh_token: z.string().max(512) });
const passwordBody = z
  .object({
    // The current password, or (for an account with passkeys) an assertion answering this
    // session's step-up challenge (POST /v1/auth/reauthenticate/options).
    current_password: presentedPassword.optional(),
    response: authenticationResponse.optional(),
    new_password: newPassword,
    sign_out_others: z.boolean().default(true),
  })
  .refine((body) => (body.current_password === undefined) !== (body.response === undefined), {
    message: "send current_password or a passkey response, not both",
    path: ["current_password"],
  });

export const authRoutes = new Hono<AppEnv>();

authRoutes.post("/signup", async (c) => {
  const body = await readJson(c, signupBody);
  assertCookieSignInSameOrigin(c, body);
  // Before the PBKDF2 work: mass signups from one address are refused cheaply.
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
    return await startSession(c, user, body, 201);
  } catch (error) {
    // No account without its first session: undo the insert so the email can sign up again.
    await users.remove(user.id).catch((undo) => log("error", "signup undo failed", errorFacts(undo)));
    throw error;
  }
});

authRoutes.post("/login", async (c) => {
  const body = await readJson(c, loginBody);
  assertCookieSignInSameOrigin(c, body);
  // Limits before any PBKDF2 work, on the same path for known and unknown emails; the account
  // lookup runs beside them, since it reveals nothing until the password has been checked.
  const [admitted, found] = await Promise.allSettled([
    admitSignIn(c, body.email),
    failClosed("database", () => usersRepository(c.env.DB).findByEmail(body.email)),
  ]);
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
    throw new ApiError("invalid_credentials");
  }
  const released = attempt.settle("succeeded");
  // Only someone who knows the password learns that the account is disabled.
  if (user.disabledAt !== null) {
    await released;
    throw new ApiError("account_disabled");
  }
  const [, response] = await Promise.all([released, startSession(c, user, body, 200)]);
  return response;
});

authRoutes.post("/refresh", async (c) => {
  const body = await readOptionalJson(c, refreshBody);
  const cookie = readRefreshCookie(c);
  // The contract: when both are sent, the body wins.
  const viaCookie = body === undefined;
  const presented = body?.refresh_token ?? cookie;
  if (viaCookie && presented !== undefined) assertSameOrigin(c);
  const refused = () => {
    if (viaCookie && cookie !== undefined) clearRefreshCookie(c);
    return new ApiError("invalid_refresh_token");
  };
  const token = await genuineRefreshToken(c.env, presented);
  if (!token) throw refused();
  const keys = await loadKeySet(c.env.JWT_SIGNING_KEYS);
  const place = describePlace(c.req.raw);
  const result = await failClosed("registry", () => registryFor(c.env, token.userId).refresh(token.raw, place));
  // The session keeps its token: a 429 is not a refusal, so the cookie stays.
  if (!result.ok && result.code === "rate_limited") throw rateLimited(result.retryAfterSeconds);
  if (!result.ok) throw refused();
  const config = configFrom(c.env);
  const accessToken = await signAccessToken(keys, config, result);
  c.header("Cache-Control", "no-store");
  if (viaCookie) setRefreshCookie(c, result.refreshToken, (result.expiresAt - Date.now()) / 1000);
  return c.json({
    access_token: accessToken,
    token_type: "Bearer",
    expires_in: config.accessTokenTtlSeconds,
    ...(viaCookie ? {} : { refresh_token: result.refreshToken }),
  });
});

authRoutes.post("/logout", async (c) => {
  const authorization = c.req.header("Authorization");
  const cookie = readRefreshCookie(c);
  if (cookie !== undefined) assertSameOrigin(c);
  if (authorization !== undefined) {
    // Signature and claims, not liveness: logging out an ended session is a success (idempotent),
    // and so is logging out with a token that has just expired.
    const caller = await verifiedCaller(c.env, authorization, { acceptExpired: true });
    await failClosed("registry", () => registryFor(c.env, caller.userId).sessionSignOut(caller.sessionId));
  }
  if (cookie !== undefined) {
    const token = await genuineRefreshToken(c.env, cookie);
    if (token) await failClosed("registry", () => registryFor(c.env, token.userId).signOutByRefreshToken(token.raw));
  }
  // Always: a browser that signed in with a cookie may log out with its bearer token alone.
  clearRefreshCookie(c);
  c.header("Cache-Control", "no-store");
  return c.body(null, 204);
});

authRoutes.post("/logout-others", requireAccessToken, async (c) => {
  const { userId, sessionId } = c.var.caller;
  const result = await failClosed("registry", () => registryFor(c.env, userId).sessionRevokeOthers(sessionId, "revoked_by_other_device"));
  if (!result.ok) throw new ApiError(result.code);
  return c.json({ revoked: result.revoked });
});

authRoutes.post("/logout-all", requireAccessToken, async (c) => {
  const { userId, sessionId } = c.var.caller;
  const result = await failClosed("registry", () => registryFor(c.env, userId).sessionRevokeAll(sessionId));
  if (!result.ok) throw new ApiError(result.code);
  clearRefreshCookie(c);
  c.header("Cache-Control", "no-store");
  return c.json({ revoked: result.revoked });
});

/**
 * Order matters for safety: the caller must be live before the password is even checked, and the
 * other sessions end before the new hash is written. If the D1 write then fails, the user is left
 * with the old password and no stray sessions, never a new password beside an attacker's session.
 */
authRoutes.post("/password", requireAccessToken, async (c) => {
  const body = await readJson(c, passwordBody);
  const { userId, sessionId } = c.var.caller;
  const registry = registryFor(c.env, userId);
  const live = await failClosed("registry", () => registry.sessionCheck(sessionId));
  if (!live.ok) throw new ApiError(live.code);
  const users = usersRepository(c.env.DB);
  const user = await failClosed("database", () => users.findById(userId));
  if (!user) throw new ApiError("invalid_token");
  if (body.response !== undefined) {
    const proved = await failClosed("registry", () =>
      registry.sessionReauthenticate(sessionId, { method: "passkey", response: body.response! }, describePlace(c.req.raw)),
    );
    if (!proved.ok) throw new ApiError(proved.code);
  } else if (!(await verifyPassword(body.current_password!, user.passwordHash))) throw new ApiError("invalid_credentials");
  const passwordHash = await hashPassword(body.new_password);
  let signedOutOthers: number | null = null;
  if (body.sign_out_others) {
    const result = await failClosed("registry", () => registry.sessionRevokeOthers(sessionId, "password_changed"));
    if (!result.ok) throw new ApiError(result.code);
    signedOutOthers = result.revoked;
  }
  const changedAt = Date.now();
  await failClosed("database", () => users.updatePassword(userId, passwordHash, changedAt));
  // Now the new hash is stored, the registry learns when: a login that checked the old password
  // and had its session created after the first sweep is ended here, and one whose session comes
  // later is refused by the registry itself (createSession's credentialsSeenAt). The new password
  // is stored either way, so a registry failure now is logged, not turned into an error.
  try {
    await registry.sessionPasswordChanged(sessionId, {
      changedAt,
      signOutOthers: body.sign_out_others,
      signedOutOthers,
      place: describePlace(c.req.raw),
    });
  } catch (error) {
    log("error", "password change not recorded in the registry", errorFacts(error));
  }
  return c.body(null, 204);
});

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

/**
 * Records a new session in the user's registry, then answers with its tokens. The signing key is
 * loaded first, so a misconfigured key fails the request before any session exists. Every sign-in
 * comes through here, a passkey's too (`proof`, verified by the registry in the same call).
 */
export async function startSession(
  c: Context<AppEnv>,
  user: UserRow,
  body: { device_name?: string | null | undefined; token_transport: "cookie" | "body" },
  status: 200 | 201,
  proof: SignInProof = { method: "password" },
) {
  const keys = await loadKeySet(c.env.JWT_SIGNING_KEYS);
  const config = configFrom(c.env);
  const device = describeDevice(c.req.header("User-Agent"), body.device_name, clientHintsFrom(c.req.raw.headers));
  const place = describePlace(c.req.raw);
  const registry = registryFor(c.env, user.id);
  const sessionId = randomId("ses");
  let created: SignInResult;
  try {
    // The password's age as this sign-in saw it: the registry refuses it if a change has landed since.
    const credentialsSeenAt = user.passwordChangedAt ?? 0;
    created = await failClosed("registry", () => registry.signIn({ userId: user.id, sessionId, device, place, credentialsSeenAt, proof }));
  } catch (error) {
    // The registry may have recorded the session before its answer was lost: end it, so no session
    // exists that nobody holds a token for. Best effort; ending is idempotent.
    await failClosed("registry", () => registry.sessionSignOut(sessionId)).catch(() => undefined);
    throw error;
  }
  // The registry is the authority: it refuses a disabled account even if D1 has not caught up.
  if (!created.ok && created.code === "account_disabled") throw new ApiError("account_disabled");
  if (!created.ok && created.code === "credentials_changed") throw new ApiError("invalid_credentials");
  if (!created.ok && created.code === "invalid_credentials")
    throw new ApiError("invalid_credentials", { detail: "The passkey could not be verified" });
  if (!created.ok) {
    // Names no session and no device: the caller proved the password, but the list is for signed-in users.
    throw new ApiError("session_limit_reached", {
      detail: `This account already has the maximum of ${created.maxSessions} active sessions; sign out on another device first`,
      extra: { max_sessions: created.maxSessions },
    });
  }
  const accessToken = await signAccessToken(keys, config, { userId: user.id, sessionId: created.session.id, auth: created.auth });
  c.header("Cache-Control", "no-store");
  const inBody = body.token_transport === "body";
  if (!inBody) setRefreshCookie(c, created.refreshToken, config.refreshTokenTtlSeconds);
  return c.json(
    {
      user: userJson(user),
      session: sessionJson(created.session, created.session.id),
      access_token: accessToken,
      token_type: "Bearer" as const,
      expires_in: config.accessTokenTtlSeconds,
      ...(inBody ? { refresh_token: created.refreshToken } : {}),
    },
    status,
  );
}
