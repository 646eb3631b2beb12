import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { generateKeyPair, SignJWT } from "jose";
import { type RequireSessionOptions, requireSession, type SessionServiceBinding, type SessionVariables } from "../../consumer/index";

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

/**
 * The real binding, with call counts and what was asked of it, and switches: `broken` makes it fail
 * like an unreachable service, `jwksStatus` makes the JWKS answer that status instead, and
 * `holdVerify` holds the next verify call until the returned function releases it.
 */
export function countingBinding() {
  const counts = { verify: 0, fetch: 0 };
  const state = { broken: false, jwksStatus: null as number | null };
  const fetches: { url: string; accept: string | null }[] = [];
  let held: Promise<void> | null = null;
  const binding: SessionServiceBinding = {
    verify: async (token, request) => {
      counts.verify++;
      const gate = held;
      held = null;
      if (gate) await gate;
      if (state.broken) return Promise.reject(new Error("network connection lost"));
      return request === undefined ? env.SESSION_SERVICE.verify(token) : env.SESSION_SERVICE.verify(token, request);
    },
    fetch: (input, init) => {
      counts.fetch++;
      fetches.push({ url: String(input), accept: new Headers(init?.headers).get("Accept") });
      if (state.broken) return Promise.reject(new Error("network connection lost"));
      if (state.jwksStatus !== null) return Promise.resolve(new Response("unavailable", { status: state.jwksStatus }));
      return env.SESSION_SERVICE.fetch(input, init);
    },
    listSessions: (userId) => env.SESSION_SERVICE.listSessions(userId),
    revokeSession: (u, s, r) => env.SESSION_SERVICE.revokeSession(u, s, r),
    revokeAllSessions: (u, r) => env.SESSION_SERVICE.revokeAllSessions(u, r),
  };
  const holdVerify = () => {
    let release!: () => void;
    held = new Promise<void>((resolve) => {
      release = resolve;
    });
    return release;
  };
  return { binding, counts, state, fetches, holdVerify };
}

/** Where the consumer app answers (`app.request` resolves paths against it): what its DPoP proofs name. */
export const CONSUMER_URL = "http://localhost/";

/**
 * A consumer app with one protected route, built in the test so its clock and binding are controlled.
 * Sends `Bearer <token>`, or with `dpop` (a proof for GET CONSUMER_URL) `DPoP <token>` and the proof,
 * or with `authorization` that header as given.
 */
export function consumerApp(options: Omit<RequireSessionOptions, "issuer" | "audience">) {
  const app = new Hono<{ Variables: SessionVariables }>();
  app.get("/", requireSession({ ...TOKENS, ...options }), (c) => c.json(c.get("session")));
  return (token?: string, dpop?: string | null, authorization?: string) => {
    const headers: Record<string, string> = {};
    if (token) headers.Authorization = `${dpop === undefined ? "Bearer" : "DPoP"} ${token}`;
    if (authorization !== undefined) headers.Authorization = authorization;
    if (dpop) headers.DPoP = dpop;
    return app.request("/", { headers });
  };
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
