import type { Context } from "hono";
import type { DbscRegistration } from "../../contract/dbsc";
import { verifyDbscRegistrationProof } from "../../shared/dbsc-proof";
import { genuineRefreshToken } from "../../shared/refresh-token";
import { assertSameOrigin, clearRefreshCookie, readRefreshCookie, setRefreshCookie } from "../auth/cookies";
import { describePlace } from "../devices/device";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { failClosed } from "../http/fail-closed";
import { allowMethods } from "../http/methods";
import { openApiRoutes } from "../http/openapi";
import { registryFor } from "../sessions/registry-client";
import { challengeHeader, readSfStringOrRaw } from "./headers";
import { dbscIdentifier, parseDbscIdentifier } from "./identifier";
import { sessionInstructions } from "./instructions";
import { dbscRefresh, dbscRegister } from "./operations";

/**
 * `/v1/auth/dbsc/…`: the browser's side of Device Bound Session Credentials (docs/dbsc.md). The
 * Worker reads the headers and checks what a registration proof shows by itself; the registry
 * decides everything that needs the session, in one call each.
 */
export const dbscRoutes = openApiRoutes<AppEnv>();

dbscRoutes.openapi(dbscRegister, async (c) => {
  assertSameOrigin(c);
  const token = await genuineRefreshToken(c.env, readRefreshCookie(c));
  if (!token) throw new ApiError("invalid_refresh_token");
  const proof = readSfStringOrRaw(c.req.header("Secure-Session-Response"));
  let registration: DbscRegistration = { defect: "missing" };
  if (proof !== null) {
    const verdict = await verifyDbscRegistrationProof(proof, { audience: c.req.url, nowSeconds: Math.floor(Date.now() / 1000) });
    registration = verdict.ok ? { key: verdict.key, jti: verdict.jti } : { defect: verdict.reason };
  }
  const place = describePlace(c.req.raw);
  const result = await failClosed("registry", () => registryFor(c.env, token.userId).dbscRegister(token.raw, registration, place));
  c.header("Cache-Control", "no-store");
  // A plain 4xx: the browser keeps no DBSC session, and this one stays as it was (unbound).
  if (!result.ok && result.code === "invalid_refresh_token") throw new ApiError("invalid_refresh_token");
  if (!result.ok) throw new ApiError("dbsc_registration_refused", { detail: REFUSALS[result.reason] });
  const identifier = await dbscIdentifier(c.env, token.userId, result.sessionId);
  setRefreshCookie(c, result.refreshToken, (result.cookieExpiresAt - Date.now()) / 1000);
  c.header("Secure-Session-Challenge", challengeHeader(result.challenge, identifier));
  return c.json(sessionInstructions(c.req.url, identifier), 200);
});

const REFUSALS = {
  invalid_proof: "The Secure-Session-Response proof is missing or not valid",
  already_bound: "This session is already bound to a key",
  stale_challenge: "The proof does not sign one of this session's registration challenges",
} as const;

dbscRoutes.openapi(dbscRefresh, async (c) => {
  assertSameOrigin(c);
  c.header("Cache-Control", "no-store");
  const identifier = readSfStringOrRaw(c.req.header("Sec-Secure-Session-Id"));
  if (identifier === null) throw new ApiError("validation_failed", { detail: "Sec-Secure-Session-Id is missing or malformed" });
  const session = await parseDbscIdentifier(c.env, identifier);
  // Not one of ours: nothing to refresh, ever.
  if (!session) return ended(c, identifier, false);
  const request = {
    sessionId: session.sessionId,
    proof: readSfStringOrRaw(c.req.header("Secure-Session-Response")),
    audience: c.req.url,
    identifier,
    presented: readRefreshCookie(c) ?? null,
  };
  const result = await failClosed("registry", () => registryFor(c.env, session.userId).dbscRefresh(request, describePlace(c.req.raw)));
  if (result.ok) {
    setRefreshCookie(c, result.refreshToken, (result.cookieExpiresAt - Date.now()) / 1000);
    c.header("Secure-Session-Challenge", challengeHeader(result.challenge, identifier));
    return c.json(sessionInstructions(c.req.url, identifier), 200);
  }
  switch (result.code) {
    case "dbsc_challenge":
      throw new ApiError("dbsc_challenge", { headers: { "Secure-Session-Challenge": challengeHeader(result.challenge, identifier) } });
    case "invalid_dbsc_proof":
      throw new ApiError("invalid_dbsc_proof");
    // Chromium ends its DBSC session on a 429 (and keeps it on a 5xx): the per-session limit is a 503 here.
    case "rate_limited":
      throw new ApiError("rate_limited", { status: 503, headers: { "Retry-After": String(result.retryAfterSeconds) } });
    case "session_ended":
      return ended(c, identifier, true);
    case "not_bound":
      return ended(c, identifier, false);
  }
});

/**
 * `continue: false` ends the browser's DBSC session (§"Create session"); Chromium requires the
 * identifier even then. An ended session's cookie goes too: `Set-Cookie` (which Chromium applies
 * here) and `Clear-Site-Data: "cookies"` (which the spec asks for; Chromium 156 ignores it on a refresh).
 */
function ended(c: Context<AppEnv>, identifier: string, clear: boolean) {
  if (clear) {
    clearRefreshCookie(c);
    c.header("Clear-Site-Data", '"cookies"');
  }
  return c.json({ session_identifier: identifier, continue: false as const }, 200);
}

allowMethods(dbscRoutes, "/register", ["POST"]);
allowMethods(dbscRoutes, "/refresh", ["POST"]);
