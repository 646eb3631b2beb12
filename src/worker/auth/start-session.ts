import type { Context } from "hono";
import type { SignInProof } from "../../contract/auth";
import type { DpopProof } from "../../contract/dpop";
import type { SignInResult } from "../../contract/registry";
import { sessionJson } from "../../contract/session";
import type { UserRow } from "../../db/users";
import { configFrom } from "../../shared/config";
import { randomId } from "../../shared/encoding";
import { errorFacts, log } from "../../shared/log";
import { registrationHeader } from "../dbsc/headers";
import { DBSC_REGISTER_PATH } from "../dbsc/instructions";
import { clientHintsFrom } from "../devices/client-hints";
import { describeDevice, describePlace } from "../devices/device";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { failClosed } from "../http/fail-closed";
import { onceSent } from "../http/once-sent";
import { userJson } from "../sessions/json";
import { registryFor } from "../sessions/registry-client";
import { signAccessToken } from "../tokens/access";
import { dpopRefused } from "../tokens/dpop-http";
import { loadKeySet } from "../tokens/keys";
import { tokenType } from "./binding";
import { setRefreshCookie } from "./cookies";
import { mintDeviceToken, setDeviceCookie } from "./device-token";

/**
 * Records a new session in the user's registry, then answers with its tokens. The signing key is
 * loaded first, so a misconfigured key fails the request before any session exists. Every sign-in
 * comes through here, a passkey's too (`proof`, verified by the registry in the same call).
 */
export async function startSession<Status extends 200 | 201>(
  c: Context<AppEnv>,
  user: UserRow,
  body: { device_name?: string | null | undefined; token_transport: "cookie" | "body" },
  status: Status,
  dpop: DpopProof | undefined,
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
    created = await failClosed("registry", () =>
      registry.signIn({
        userId: user.id,
        sessionId,
        device,
        place,
        credentialsSeenAt,
        dpop,
        proof,
        offerDbsc: body.token_transport === "cookie",
      }),
    );
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
  if (!created.ok && created.code !== "session_limit_reached") throw await dpopRefused(c.env, created.code, 400);
  if (!created.ok) {
    // Names no session and no device: the caller proved the password, but the list is for signed-in users.
    throw new ApiError("session_limit_reached", {
      detail: `This account already has the maximum of ${created.maxSessions} active sessions; sign out on another device first`,
      extra: { max_sessions: created.maxSessions },
    });
  }
  const jkt = dpop?.jkt ?? null;
  const accessToken = await signAccessToken(keys, config, { userId: user.id, sessionId: created.session.id, auth: created.auth, jkt });
  c.header("Cache-Control", "no-store");
  const inBody = body.token_transport === "body";
  // A successful sign-in makes this a known device of the account (device-token.ts): a fresh
  // credential, with a fresh failure budget, each time.
  const deviceToken = await mintDeviceToken(c.env, user);
  if (!inBody) {
    setRefreshCookie(c, created.refreshToken, config.refreshTokenTtlSeconds);
    setDeviceCookie(c, deviceToken, config.deviceTokenTtlSeconds);
    // A cookie sign-in offers DBSC (docs/dbsc.md): a browser that supports it binds the cookie to its key.
    if (created.dbscChallenge !== null)
      c.header("Secure-Session-Registration", registrationHeader(DBSC_REGISTER_PATH, created.dbscChallenge));
  }
  const answer = c.json(
    {
      user: userJson(user),
      // Whoever reads this answer has the session's tokens: confirmed (the registry learns it just after).
      session: sessionJson({ ...created.session, confirmed: true }, created.session.id),
      access_token: accessToken,
      token_type: tokenType(jkt),
      expires_in: config.accessTokenTtlSeconds,
      ...(inBody ? { refresh_token: created.refreshToken, device_token: deviceToken } : {}),
    },
    status,
  );
  // Once the answer has left, the session is confirmed; one whose answer died with this process
  // is ended by the registry within minutes (UNANSWERED_SIGN_IN_MS). After the answer, never before it.
  const sessionIdSent = created.session.id;
  return onceSent(c, answer, () =>
    registry
      .signInAnswered(sessionIdSent)
      .catch((error: unknown) => log("warn", "sign-in answer not confirmed to the registry", { user_id: user.id, ...errorFacts(error) })),
  );
}
