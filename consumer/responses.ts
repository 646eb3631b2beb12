/** The same problem+json shape as the session service (RFC 9457), so clients branch on one set of codes. */
export function problem(status: number, code: string, title: string, headers: Record<string, string>): Response {
  return new Response(JSON.stringify({ type: `urn:edge-sessions:problem:${code}`, title, status, code }), {
    status,
    headers: { "Content-Type": "application/problem+json", "Cache-Control": "no-store", ...headers },
  });
}

/** RFC 6750 §3: a missing, invalid, expired or revoked bearer token. */
export function invalidToken(): Response {
  return problem(401, "invalid_token", "The access token is missing, invalid, expired or revoked", {
    "WWW-Authenticate": 'Bearer error="invalid_token"',
  });
}

/**
 * RFC 9470 §3: the token is genuine, but the user's last proof is too old (or not of a method the
 * action asks for). The same header and code as the service's own step-up answer.
 */
export function insufficientUserAuthentication(maxAgeSeconds: number): Response {
  return problem(401, "step_up_required", "A more recent proof of who you are is required", {
    "WWW-Authenticate": `Bearer error="insufficient_user_authentication", max_age=${maxAgeSeconds}`,
  });
}

/** Fail closed: a token that could not be checked is refused, with a hint to retry. */
export function sessionServiceUnavailable(): Response {
  return problem(503, "session_service_unavailable", "The session service could not be reached", { "Retry-After": "1" });
}
