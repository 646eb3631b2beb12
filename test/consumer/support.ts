import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { generateKeyPair, SignJWT } from "jose";
import { type RequireSessionOptions, requireSession, type SessionServiceBinding, type SessionVariables } from "../../consumer";

export const TOKENS = { issuer: "https://auth.example.com", audience: "https://api.example.com" } as const;

/**
 * A controllable clock for the middleware (jose's `currentDate` idea): no sleeping in tests. It
 * starts at its first reading, so it is never earlier than the `iat` of tokens minted before the
 * first request, however long the test took to get there.
 */
export function clock() {
  let startMs: number | undefined;
  let offsetMs = 0;
  return { now: () => (startMs ??= Date.now()) + offsetMs, advance: (ms: number) => void (offsetMs += ms) };
}

/** The real binding, with call counts, and a switch that makes it fail like an unreachable service. */
export function countingBinding() {
  const counts = { verify: 0, fetch: 0 };
  const state = { broken: false };
  const binding: SessionServiceBinding = {
    verify: (token) => {
      counts.verify++;
      return state.broken ? Promise.reject(new Error("network connection lost")) : env.SESSION_SERVICE.verify(token);
    },
    fetch: (input, init) => {
      counts.fetch++;
      return state.broken ? Promise.reject(new Error("network connection lost")) : env.SESSION_SERVICE.fetch(input, init);
    },
    listSessions: (userId) => env.SESSION_SERVICE.listSessions(userId),
    revokeSession: (u, s, r) => env.SESSION_SERVICE.revokeSession(u, s, r),
    revokeAllSessions: (u, r) => env.SESSION_SERVICE.revokeAllSessions(u, r),
  };
  return { binding, counts, state };
}

/**
 * A consumer app with one protected route, built in the test so its clock and binding are
 * controlled. The request sends `Authorization: Bearer <token>`, or the header given.
 */
export function consumerApp(options: Omit<RequireSessionOptions, "issuer" | "audience">) {
  const app = new Hono<{ Variables: SessionVariables }>();
  app.get("/", requireSession({ ...TOKENS, ...options }), (c) => c.json(c.get("session")));
  return (token?: string, authorization = token === undefined ? undefined : `Bearer ${token}`) =>
    app.request("/", { headers: authorization === undefined ? {} : { Authorization: authorization } });
}

/** A well-formed access token signed by a key the service never published. */
export async function tokenFromUnknownKey(kid = "not-a-service-key") {
  const { privateKey } = await generateKeyPair("EdDSA");
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: "ses_AAAAAAAAAAAAAAAAAAAAAA" })
    .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt" })
    .setIssuer(TOKENS.issuer)
    .setAudience(TOKENS.audience)
    .setSubject("usr_AAAAAAAAAAAAAAAAAAAAAA")
    .setJti("at_x")
    .setIssuedAt(iat)
    .setExpirationTime(iat + 600)
    .sign(privateKey);
}
