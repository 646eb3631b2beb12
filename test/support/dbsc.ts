import { expect } from "vitest";
import { base64url } from "../../src/shared/encoding";
import { call, freshIp, PASSWORD, refreshCookieOf, USER_AGENTS, uniqueEmail } from "./http";

/**
 * The browser's side of DBSC (w3c/webappsec-dbsc), as Chromium 156 plays it: a key made with
 * WebCrypto (ES256 signs raw r‖s, as a JWS wants), `dbsc+jwt` proofs sent raw in
 * `Secure-Session-Response`, no `Authorization` header, the session id raw in `Sec-Secure-Session-Id`.
 */

export type DbscAlg = "ES256" | "RS256";

export interface DbscBrowserKey {
  alg: DbscAlg;
  publicJwk: Record<string, string>;
  /** A `dbsc+jwt`: the key in the header unless `jwk: false` (refresh proofs carry none); `header` bends members. */
  sign(payload: Record<string, unknown>, options?: { jwk?: boolean; header?: Record<string, unknown> }): Promise<string>;
}

const text = (value: unknown) => base64url(new TextEncoder().encode(JSON.stringify(value)));

export async function dbscKey(alg: DbscAlg = "ES256"): Promise<DbscBrowserKey> {
  const params =
    alg === "ES256"
      ? { name: "ECDSA", namedCurve: "P-256" }
      : { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" };
  const pair = (await crypto.subtle.generateKey(params, true, ["sign", "verify"])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  const publicJwk: Record<string, string> =
    alg === "ES256" ? { crv: "P-256", kty: "EC", x: jwk.x!, y: jwk.y! } : { e: jwk.e!, kty: "RSA", n: jwk.n! };
  const algorithm = alg === "ES256" ? { name: "ECDSA", hash: "SHA-256" } : { name: "RSASSA-PKCS1-v1_5" };
  return {
    alg,
    publicJwk,
    async sign(payload, options = {}) {
      const header: Record<string, unknown> = {
        alg,
        ...(options.jwk === false ? {} : { jwk: publicJwk }),
        typ: "dbsc+jwt",
        ...options.header,
      };
      for (const [name, value] of Object.entries(header)) if (value === undefined) delete header[name];
      const input = `${text(header)}.${text(payload)}`;
      const signature = await crypto.subtle.sign(algorithm, pair.privateKey, new TextEncoder().encode(input));
      return `${input}.${base64url(signature)}`;
    },
  };
}

/** `Secure-Session-Registration: (ES256 RS256);path="…";challenge="…"`, read as a browser would. */
export function registrationOffer(response: Response): { algorithms: string[]; path: string; challenge: string } | null {
  const value = response.headers.get("Secure-Session-Registration");
  const match = value ? /^\(([A-Z0-9 ]+)\);path="([^"]+)";challenge="([^"]+)"$/.exec(value) : null;
  return match ? { algorithms: match[1]!.split(" "), path: match[2]!, challenge: match[3]! } : null;
}

/** `Secure-Session-Challenge: "<challenge>";id="<session identifier>"`. */
export function challengeOf(response: Response): { challenge: string; id: string } | null {
  const value = response.headers.get("Secure-Session-Challenge");
  const match = value ? /^"([^"]+)";id="([^"]+)"$/.exec(value) : null;
  return match ? { challenge: match[1]!, id: match[2]! } : null;
}

export interface CookieSession {
  userId: string;
  sessionId: string;
  accessToken: string;
  email: string;
  cookie: string;
  offer: NonNullable<ReturnType<typeof registrationOffer>>;
}

/** A cookie-transport sign-up (or, with `email`, a login), as the devices page makes it. */
export async function cookieSignIn(email?: string): Promise<CookieSession> {
  const path = email === undefined ? "/v1/auth/signup" : "/v1/auth/login";
  const address = email ?? uniqueEmail("dbsc");
  const response = await call(path, {
    method: "POST",
    json: { email: address, password: PASSWORD, token_transport: "cookie" },
    headers: { "User-Agent": USER_AGENTS.laptop, "CF-Connecting-IP": freshIp() },
  });
  expect(response.status).toBe(email === undefined ? 201 : 200);
  const body = (await response.json()) as any;
  const offer = registrationOffer(response);
  expect(offer).not.toBeNull();
  return {
    userId: body.user.id,
    sessionId: body.session.id,
    accessToken: body.access_token,
    email: address,
    cookie: refreshCookieOf(response)!.value,
    offer: offer!,
  };
}

const cookieHeader = (cookie: string | null): Record<string, string> =>
  cookie === null ? {} : { Cookie: `__Host-refresh_token=${encodeURIComponent(cookie)}` };

/** The registration POST: the proof raw (Chromium) unless `quoted`, the cookie the sign-in set. */
export function postRegistration(path: string, cookie: string | null, proof: string | null, options: { quoted?: boolean } = {}) {
  const headers: Record<string, string> = { ...cookieHeader(cookie), "Sec-Fetch-Mode": "no-cors" };
  if (proof !== null) headers["Secure-Session-Response"] = options.quoted ? `"${proof}"` : proof;
  return call(path, { method: "POST", headers });
}

/** A registered session: the DBSC identifier, the bound cookie, and the challenge sent ahead. */
export interface BoundSession extends CookieSession {
  key: DbscBrowserKey;
  identifier: string;
  ahead: string;
  instructions: any;
  registration: Response;
}

export async function registerDbsc(session: CookieSession, key: DbscBrowserKey): Promise<BoundSession> {
  const proof = await key.sign({ jti: session.offer.challenge });
  const response = await postRegistration(session.offer.path, session.cookie, proof);
  expect(response.status).toBe(200);
  const instructions = (await response.json()) as any;
  const ahead = challengeOf(response)!;
  expect(ahead.id).toBe(instructions.session_identifier);
  return {
    ...session,
    key,
    identifier: instructions.session_identifier,
    ahead: ahead.challenge,
    instructions,
    cookie: refreshCookieOf(response)!.value,
    registration: response,
  };
}

/** The refresh POST as Chromium sends it: the id raw, a proof when it holds a challenge, the cookie when it still has one. */
export function postRefresh(identifier: string, proof: string | null, cookie: string | null = null, headers: Record<string, string> = {}) {
  return call("/v1/auth/dbsc/refresh", {
    method: "POST",
    headers: {
      "Sec-Secure-Session-Id": identifier,
      ...(proof === null ? {} : ({ "Secure-Session-Response": proof } as Record<string, string>)),
      ...cookieHeader(cookie),
      ...headers,
    },
  });
}

/** `POST /v1/auth/refresh` with the cookie, as the page does for an access token. */
export function cookieRefresh(cookie: string) {
  return call("/v1/auth/refresh", { method: "POST", headers: cookieHeader(cookie) });
}
