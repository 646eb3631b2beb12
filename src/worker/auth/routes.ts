import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
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
import {
  ACCESS_TOKEN,
  CLEAR_REFRESH_COOKIE,
  jsonRequest,
  NO_STORE,
  openApiRoutes,
  PUBLIC,
  problems,
  SET_REFRESH_COOKIE,
} from "../http/openapi";
import { displayText, email, newPassword, presentedPassword, tokenTransport } from "../http/validation";
import { admitSignIn, clientAddress, countAttempt, rateLimited } from "../limits/limits";
import { requireAccessToken, verifiedCaller } from "../sessions/guard";
import { AuthResult, Revoked, TokenResult, userJson } from "../sessions/json";
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
const passwordBody = z.object({
  current_password: presentedPassword,
  new_password: newPassword,
  sign_out_others: z.boolean().default(true),
});

export const authRoutes = openApiRoutes<AppEnv>();

const signedIn = (description: string) => ({
  description,
  headers: { "Cache-Control": NO_STORE, "Set-Cookie": SET_REFRESH_COOKIE },
  content: { "application/json": { schema: AuthResult } },
});

const signUp = createRoute({
  method: "post",
  path: "/signup",
  operationId: "signUp",
  summary: "Create an account and its first session",
  description: 'With `"token_transport": "cookie"` (the default) the refresh token is set as a cookie and a foreign `Origin` is refused.',
  tags: ["accounts"],
  security: PUBLIC,
  request: { body: jsonRequest(signupBody) },
  responses: {
    201: signedIn("The account and its first session"),
    ...problems(
      "validation_failed",
      "csrf_rejected",
      "email_taken",
      "payload_too_large",
      "rate_limited",
      "registry_unavailable",
      "service_unavailable",
    ),
  },
});

authRoutes.openapi(signUp, async (c) => {
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

const logIn = createRoute({
  method: "post",
  path: "/login",
  operationId: "logIn",
  summary: "Sign in: a new session on this device",
  description: "An unknown email and a wrong password get the same answer, in the same time.",
  tags: ["accounts"],
  security: PUBLIC,
  request: { body: jsonRequest(loginBody) },
  responses: {
    200: signedIn("The new session"),
    ...problems(
      "validation_failed",
      "invalid_credentials",
      "csrf_rejected",
      "account_disabled",
      "session_limit_reached",
      "payload_too_large",
      "rate_limited",
      "registry_unavailable",
      "service_unavailable",
    ),
  },
});

authRoutes.openapi(logIn, async (c) => {
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

const refreshTokens = createRoute({
  method: "post",
  path: "/refresh",
  operationId: "refresh",
  summary: "New tokens for the session; the refresh token rotates",
  description:
    "The refresh token comes in the JSON body or in the cookie; with both, the body wins. A token presented again within the grace window gets the same successor; after it, the whole session is revoked (reuse).",
  tags: ["accounts"],
  security: [{ refreshCookie: [] }, {}],
  request: { body: jsonRequest(refreshBody, { required: false, description: "Absent (or empty) to use the cookie" }) },
  responses: {
    200: {
      description: "A new access token, and the rotated refresh token in the body or the cookie, as it came",
      headers: { "Cache-Control": NO_STORE, "Set-Cookie": SET_REFRESH_COOKIE },
      content: { "application/json": { schema: TokenResult } },
    },
    ...problems(
      "validation_failed",
      "invalid_refresh_token",
      "csrf_rejected",
      "payload_too_large",
      "rate_limited",
      "registry_unavailable",
      "service_unavailable",
    ),
  },
});

authRoutes.openapi(refreshTokens, async (c) => {
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
  return c.json(
    {
      access_token: accessToken,
      token_type: "Bearer" as const,
      expires_in: config.accessTokenTtlSeconds,
      ...(viaCookie ? {} : { refresh_token: result.refreshToken }),
    },
    200,
  );
});

const logOut = createRoute({
  method: "post",
  path: "/logout",
  operationId: "logOut",
  summary: "Sign this session out (idempotent)",
  description: "By its access token (even just expired), by the refresh cookie, or both. The cookie is always cleared.",
  tags: ["accounts"],
  security: [{ bearer: [] }, { refreshCookie: [] }, {}],
  responses: {
    204: { description: "Signed out, or already signed out", headers: { "Cache-Control": NO_STORE, "Set-Cookie": CLEAR_REFRESH_COOKIE } },
    ...problems("invalid_token", "csrf_rejected", "payload_too_large", "registry_unavailable", "service_unavailable"),
  },
});

authRoutes.openapi(logOut, async (c) => {
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

const logOutOthers = createRoute({
  method: "post",
  path: "/logout-others",
  operationId: "logOutOthers",
  summary: "Sign every other session of the user out; this one stays",
  tags: ["accounts"],
  security: ACCESS_TOKEN,
  middleware: [requireAccessToken],
  responses: {
    200: { description: "How many sessions ended", content: { "application/json": { schema: Revoked } } },
    ...problems("invalid_token", "payload_too_large", "registry_unavailable", "service_unavailable"),
  },
});

authRoutes.openapi(logOutOthers, async (c) => {
  const { userId, sessionId } = c.var.caller;
  const result = await failClosed("registry", () => registryFor(c.env, userId).sessionRevokeOthers(sessionId, "revoked_by_other_device"));
  if (!result.ok) throw new ApiError(result.code);
  return c.json({ revoked: result.revoked }, 200);
});

const logOutAll = createRoute({
  method: "post",
  path: "/logout-all",
  operationId: "logOutAll",
  summary: "Sign every session of the user out, this one too",
  tags: ["accounts"],
  security: ACCESS_TOKEN,
  middleware: [requireAccessToken],
  responses: {
    200: {
      description: "How many sessions ended, this one included",
      headers: { "Cache-Control": NO_STORE, "Set-Cookie": CLEAR_REFRESH_COOKIE },
      content: { "application/json": { schema: Revoked } },
    },
    ...problems("invalid_token", "payload_too_large", "registry_unavailable", "service_unavailable"),
  },
});

authRoutes.openapi(logOutAll, async (c) => {
  const { userId, sessionId } = c.var.caller;
  const result = await failClosed("registry", () => registryFor(c.env, userId).sessionRevokeAll(sessionId));
  if (!result.ok) throw new ApiError(result.code);
  clearRefreshCookie(c);
  c.header("Cache-Control", "no-store");
  return c.json({ revoked: result.revoked }, 200);
});

/**
 * Order matters for safety: the caller must be live before the password is even checked, and the
 * other sessions end before the new hash is written. If the D1 write then fails, the user is left
 * with the old password and no stray sessions, never a new password beside an attacker's session.
 */
const changePassword = createRoute({
  method: "post",
  path: "/password",
  operationId: "changePassword",
  summary: "Change the password; other sessions are signed out unless told otherwise",
  tags: ["accounts"],
  security: ACCESS_TOKEN,
  middleware: [requireAccessToken],
  request: { body: jsonRequest(passwordBody) },
  responses: {
    204: { description: "The new password is stored" },
    ...problems(
      "validation_failed",
      "invalid_token",
      "invalid_credentials",
      "payload_too_large",
      "registry_unavailable",
      "service_unavailable",
    ),
  },
});

authRoutes.openapi(changePassword, async (c) => {
  const body = await readJson(c, passwordBody);
  const { userId, sessionId } = c.var.caller;
  const registry = registryFor(c.env, userId);
  const live = await failClosed("registry", () => registry.sessionCheck(sessionId));
  if (!live.ok) throw new ApiError(live.code);
  const users = usersRepository(c.env.DB);
  const user = await failClosed("database", () => users.findById(userId));
  if (!user) throw new ApiError("invalid_token");
  if (!(await verifyPassword(body.current_password, user.passwordHash))) throw new ApiError("invalid_credentials");
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
 * loaded first, so a misconfigured key fails the request before any session exists.
 */
async function startSession<Status extends 200 | 201>(
  c: Context<AppEnv>,
  user: UserRow,
  body: { device_name?: string | null | undefined; token_transport: "cookie" | "body" },
  status: Status,
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
    created = await failClosed("registry", () => registry.signIn({ userId: user.id, sessionId, device, place, credentialsSeenAt }));
  } catch (error) {
    // The registry may have recorded the session before its answer was lost: end it, so no session
    // exists that nobody holds a token for. Best effort; ending is idempotent.
    await failClosed("registry", () => registry.sessionSignOut(sessionId)).catch(() => undefined);
    throw error;
  }
  // The registry is the authority: it refuses a disabled account even if D1 has not caught up.
  if (!created.ok && created.code === "account_disabled") throw new ApiError("account_disabled");
  if (!created.ok && created.code === "credentials_changed") throw new ApiError("invalid_credentials");
  if (!created.ok) {
    // Names no session and no device: the caller proved the password, but the list is for signed-in users.
    throw new ApiError("session_limit_reached", {
      detail: `This account already has the maximum of ${created.maxSessions} active sessions; sign out on another device first`,
      extra: { max_sessions: created.maxSessions },
    });
  }
  const accessToken = await signAccessToken(keys, config, { userId: user.id, sessionId: created.session.id });
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
