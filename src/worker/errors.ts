import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ConfigurationError } from "../shared/config";
import { errorFacts, log } from "../shared/log";
import { DPOP_ALGORITHMS } from "./tokens/dpop";

/** Every stable error code the API can answer with. Clients branch on these, never on titles. */
export type ErrorCode =
  | "validation_failed"
  | "invalid_request"
  | "payload_too_large"
  | "method_not_allowed"
  | "not_found"
  | "invalid_credentials"
  | "step_up_required"
  | "passkey_rejected"
  | "passkey_limit_reached"
  | "email_taken"
  | "notice_answered"
  | "invalid_notice_link"
  | "weak_password"
  | "invalid_token"
  | "invalid_refresh_token"
  | "invalid_client"
  | "invalid_dpop_proof"
  | "use_dpop_nonce"
  | "dbsc_challenge"
  | "invalid_dbsc_proof"
  | "dbsc_registration_refused"
  | "unsupported_grant_type"
  | "csrf_rejected"
  | "session_limit_reached"
  | "rate_limited"
  | "account_disabled"
  | "admin_unauthorized"
  | "upgrade_required"
  | "registry_unavailable"
  | "service_unavailable"
  | "internal_error";

/** Each code's status and title (the OpenAPI document lists them too). */
export const errorTitles: Record<ErrorCode, [ContentfulStatusCode, string]> = {
  validation_failed: [400, "The request is not valid"],
  invalid_request: [400, "The OAuth request is malformed"],
  payload_too_large: [413, "The request body is too large"],
  method_not_allowed: [405, "Method not allowed"],
  not_found: [404, "Not found"],
  invalid_credentials: [401, "Invalid email or password"],
  step_up_required: [401, "A more recent proof of who you are is required"],
  passkey_rejected: [400, "The passkey registration was not accepted"],
  passkey_limit_reached: [409, "This account has the maximum number of passkeys"],
  email_taken: [409, "An account with this email already exists"],
  notice_answered: [409, "This notice was answered already"],
  invalid_notice_link: [400, "The link is not valid or has expired"],
  weak_password: [400, "The new password is too weak"],
  invalid_token: [401, "The access token is missing, invalid, expired or revoked"],
  invalid_refresh_token: [401, "The refresh token is invalid, expired, revoked or reused"],
  invalid_client: [401, "Client authentication failed"],
  invalid_dpop_proof: [401, "The DPoP proof is missing or invalid"],
  use_dpop_nonce: [401, "The DPoP proof must carry the server's nonce"],
  dbsc_challenge: [403, "Sign this challenge with the session's DBSC key"],
  invalid_dbsc_proof: [401, "The DBSC proof is not by the session's key"],
  dbsc_registration_refused: [400, "The DBSC registration was not accepted"],
  unsupported_grant_type: [400, "The grant type is not supported"],
  csrf_rejected: [403, "Cross-origin request refused"],
  session_limit_reached: [409, "Too many active sessions"],
  rate_limited: [429, "Too many requests"],
  account_disabled: [403, "This account is disabled"],
  admin_unauthorized: [401, "Admin credential missing or wrong"],
  upgrade_required: [426, "This endpoint only speaks WebSocket"],
  registry_unavailable: [503, "The session registry could not be reached"],
  service_unavailable: [503, "The service is temporarily unavailable"],
  internal_error: [500, "Internal error"],
};

export interface ApiErrorOptions {
  /** When the code's usual status does not fit the endpoint (a DPoP refusal is 400 at sign-in, 401 on a protected route). */
  status?: ContentfulStatusCode;
  /** A sentence for a person (RFC 9457 `detail`); the title says what the code means. */
  detail?: string | undefined;
  headers?: Record<string, string>;
  /** Extension members of the problem object (RFC 9457 §3.2), such as `errors` or `max_sessions`. */
  extra?: Record<string, unknown>;
}

/** The one error type handlers throw; `app.onError` turns it into RFC 9457 problem+json. */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly title: string;
  readonly detail: string | undefined;
  readonly headers: Record<string, string>;
  readonly extra: Record<string, unknown>;

  constructor(
    readonly code: ErrorCode,
    options: ApiErrorOptions = {},
  ) {
    const [status, title] = errorTitles[code];
    super(options.detail ?? title);
    this.status = options.status ?? status;
    this.title = title;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
    this.extra = options.extra ?? {};
  }
}

/** 503 for a dependency that could not answer: the client may retry in a second. */
export function unavailable(code: "registry_unavailable" | "service_unavailable", detail?: string): ApiError {
  return new ApiError(code, { detail, headers: { "Retry-After": "1" } });
}

export function problemBody(error: ApiError) {
  return {
    type: `urn:edge-sessions:problem:${error.code}`,
    title: error.title,
    status: error.status,
    code: error.code,
    ...(error.detail === undefined ? {} : { detail: error.detail }),
    ...error.extra,
  };
}

export function problemResponse(error: ApiError): Response {
  const headers = new Headers({ "Content-Type": "application/problem+json", "Cache-Control": "no-store", ...error.headers });
  const challenge = defaultChallenge(error);
  if (challenge !== null && !headers.has("WWW-Authenticate")) headers.set("WWW-Authenticate", challenge);
  return new Response(JSON.stringify(problemBody(error)), { status: error.status, headers });
}

/**
 * RFC 6750 §3: a refused bearer token is announced in WWW-Authenticate; RFC 9449 §7.1: so is a
 * refused DPoP proof, with the algorithms accepted. A handler that knows the request's scheme sets
 * its own (a DPoP-bound token refused as `invalid_token` is challenged as DPoP).
 */
function defaultChallenge(error: ApiError): string | null {
  if (error.status !== 401) return null;
  if (error.code === "invalid_token") return 'Bearer error="invalid_token"';
  if (error.code === "invalid_dpop_proof" || error.code === "use_dpop_nonce") return dpopChallenge(error.code);
  return null;
}

/** `WWW-Authenticate: DPoP error="…", algs="…"` (RFC 9449 §7.1). */
export function dpopChallenge(error: "invalid_token" | "invalid_dpop_proof" | "use_dpop_nonce"): string {
  return `DPoP error="${error}", algs="${DPOP_ALGORITHMS.join(" ")}"`;
}

/**
 * Any error as the API answers it: an `ApiError` as it is; a bad setting as 503 with one log line
 * naming it (never its value); anything else as a logged 500 with no internals in the body.
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ConfigurationError) {
    log("error", "invalid configuration", { setting: error.setting, why: error.why });
    return new ApiError("service_unavailable", { detail: "The service is misconfigured" });
  }
  if (error instanceof HTTPException && error.status < 500) {
    return new ApiError(error.status === 413 ? "payload_too_large" : "validation_failed", { detail: error.message });
  }
  log("error", "unhandled error", { ...errorFacts(error), frames: stackFrames(error) });
  return new ApiError("internal_error");
}

/**
 * Where an error was thrown, without what it says: the message may quote what failed, and it may
 * span lines (drizzle's "Failed query: …\nparams: <email>,<hash>"), so the stack's head is cut off
 * whole and only `at …` frame lines are kept.
 */
function stackFrames(error: unknown): string {
  if (!(error instanceof Error) || typeof error.stack !== "string") return "";
  const head = String(error);
  const body = error.stack.startsWith(head) ? error.stack.slice(head.length) : error.stack;
  return body
    .split("\n")
    .filter((line) => /^\s+at /.test(line))
    .join("\n");
}
