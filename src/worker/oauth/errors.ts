import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type ApiError, type ErrorCode, errorTitles } from "../errors";

/**
 * Under `/v1/oauth/` every error speaks OAuth (RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 7662 §2.3,
 * RFC 9449 §5): `application/json` `{ error, error_description }`, which OAuth clients such as
 * oauth4webapi read, where problem+json would be refused as "not JSON". The service's own `code`
 * stays beside it, so logs and clients of both styles see the same stable code.
 */
const OAUTH_ERRORS: Partial<Record<ErrorCode, string>> = {
  validation_failed: "invalid_request",
  invalid_request: "invalid_request",
  payload_too_large: "invalid_request",
  method_not_allowed: "invalid_request",
  not_found: "invalid_request",
  invalid_client: "invalid_client",
  invalid_refresh_token: "invalid_grant",
  invalid_dpop_proof: "invalid_dpop_proof",
  use_dpop_nonce: "use_dpop_nonce",
  unsupported_grant_type: "unsupported_grant_type",
  invalid_token: "invalid_token",
  // RFC 6749 §4.1.2.1 names these for the authorization endpoint; they are what a client retries on.
  rate_limited: "temporarily_unavailable",
  registry_unavailable: "temporarily_unavailable",
  service_unavailable: "temporarily_unavailable",
  internal_error: "server_error",
};

/** RFC 6749 §5.2: `invalid_grant` is 400 (the problem API's `invalid_refresh_token` is 401). */
const OAUTH_STATUS: Partial<Record<ErrorCode, ContentfulStatusCode>> = { invalid_refresh_token: 400 };

/** The RFC 6749 / RFC 9449 `error` a code is answered with under `/v1/oauth/`. */
export function oauthErrorOf(code: ErrorCode): string {
  return OAUTH_ERRORS[code] ?? "invalid_request";
}

/** Its status there (a thrower may still set another, e.g. 400 for a refused DPoP proof). */
export function oauthStatusOf(code: ErrorCode): ContentfulStatusCode {
  return OAUTH_STATUS[code] ?? errorTitles[code][0];
}

export function isOAuthPath(path: string): boolean {
  return path.startsWith("/v1/oauth/");
}

export function oauthErrorResponse(error: ApiError): Response {
  const status = OAUTH_STATUS[error.code] ?? error.status;
  const body = {
    error: oauthErrorOf(error.code),
    error_description: error.detail ?? error.title,
    code: error.code,
  };
  const headers = new Headers({ "Content-Type": "application/json", "Cache-Control": "no-store", Pragma: "no-cache", ...error.headers });
  // RFC 6749 §5.2: a 401 invalid_client names the scheme; the handler sets it (client-auth.ts).
  return new Response(JSON.stringify(body), { status, headers });
}
