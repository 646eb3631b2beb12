import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { expect } from "vitest";
import { call, freshIp, ORIGIN, PASSWORD, refreshCookieOf, type SignedIn, USER_AGENTS, uniqueEmail } from "./http";

/**
 * A DPoP client's key (RFC 9449), and proofs made with it: honest ones, and every defect a test
 * needs (each field of `ProofOptions` bends one thing an honest client would get right).
 */
export interface ProofOptions {
  accessToken?: string;
  nonce?: string;
  /** Seconds; defaults to now. */
  iat?: number;
  jti?: string;
  /** Replaces (or, as `undefined`, removes) claims and header members after the honest ones are set. */
  payload?: Record<string, unknown>;
  header?: Record<string, unknown>;
  /** Sign with this key instead (the header still names this client's public key). */
  signingKey?: CryptoKey | Uint8Array;
}

export interface DpopKey {
  alg: "ES256" | "EdDSA";
  publicJwk: JWK;
  privateJwk: JWK;
  /** RFC 7638 thumbprint, as `cnf.jkt` names it. */
  jkt: string;
  /** A proof for `method` and `url` (a path is taken on the test origin). */
  proof(method: string, url: string, options?: ProofOptions): Promise<string>;
}

export const ath = async (accessToken: string) =>
  base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(accessToken))));

export const absolute = (url: string) => (url.startsWith("/") ? `${ORIGIN}${url}` : url);

export async function dpopKey(alg: "ES256" | "EdDSA" = "ES256"): Promise<DpopKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  const jkt = await calculateJwkThumbprint(publicJwk, "sha256");
  return {
    alg,
    publicJwk,
    privateJwk,
    jkt,
    async proof(method, url, options = {}) {
      const claims: Record<string, unknown> = {
        jti: options.jti ?? crypto.randomUUID(),
        htm: method,
        htu: absolute(url),
        iat: options.iat ?? Math.floor(Date.now() / 1000),
        ...(options.accessToken !== undefined ? { ath: await ath(options.accessToken) } : {}),
        ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
        ...options.payload,
      };
      const header: Record<string, unknown> = { alg, typ: "dpop+jwt", jwk: publicJwk, ...options.header };
      for (const record of [claims, header])
        for (const [name, value] of Object.entries(record)) if (value === undefined) delete record[name];
      return new SignJWT(claims).setProtectedHeader(header as never).sign(options.signingKey ?? privateKey);
    },
  };
}

/** A bound sign-up (body transport unless told): the proof is for this very request. */
export async function signUpBound(
  key: DpopKey,
  options: { transport?: "body" | "cookie"; email?: string; device?: keyof typeof USER_AGENTS } = {},
): Promise<SignedIn & { cookie: string | null; body: any }> {
  return startBound("/v1/auth/signup", key, options, 201);
}

export async function signInBound(
  email: string,
  key: DpopKey,
  options: { transport?: "body" | "cookie"; device?: keyof typeof USER_AGENTS } = {},
): Promise<SignedIn & { cookie: string | null; body: any }> {
  return startBound("/v1/auth/login", key, { ...options, email }, 200);
}

async function startBound(
  path: string,
  key: DpopKey,
  options: { transport?: "body" | "cookie"; email?: string; device?: keyof typeof USER_AGENTS },
  status: number,
) {
  const email = options.email ?? uniqueEmail("dpop");
  const ip = freshIp();
  const response = await call(path, {
    method: "POST",
    json: { email, password: PASSWORD, token_transport: options.transport ?? "body" },
    headers: { "User-Agent": USER_AGENTS[options.device ?? "laptop"], "CF-Connecting-IP": ip, DPoP: await key.proof("POST", path) },
  });
  expect(response.status).toBe(status);
  const body = (await response.json()) as any;
  const cookie = refreshCookieOf(response)?.value ?? null;
  return {
    userId: body.user.id,
    sessionId: body.session.id,
    accessToken: body.access_token,
    refreshToken: body.refresh_token ?? cookie,
    email,
    ip,
    cookie,
    body,
  };
}

/** `POST /v1/auth/refresh` with a body token, and a proof by `key` unless it is null. */
export async function refreshWithProof(refreshToken: string, key: DpopKey | null, options: ProofOptions = {}) {
  const headers: Record<string, string> = key ? { DPoP: await key.proof("POST", "/v1/auth/refresh", options) } : {};
  return call("/v1/auth/refresh", { method: "POST", json: { refresh_token: refreshToken }, headers });
}

/** A protected request with `Authorization: DPoP` and a proof for it (ath included) unless told otherwise. */
export async function withProof(
  path: string,
  accessToken: string,
  key: DpopKey | null,
  init: RequestInit & { json?: unknown; scheme?: "DPoP" | "Bearer"; proof?: ProofOptions; dpop?: string } = {},
) {
  const method = init.method ?? "GET";
  const headers = new Headers(init.headers);
  headers.set("Authorization", `${init.scheme ?? "DPoP"} ${accessToken}`);
  const dpop = init.dpop ?? (key ? await key.proof(method, path, { accessToken, ...init.proof }) : undefined);
  if (dpop !== undefined) headers.set("DPoP", dpop);
  return call(path, { ...init, method, headers });
}

/** The JSON payload of a JWT, unverified (tests read what the service put in its own tokens). */
export function claimsOf(jwt: string): Record<string, any> {
  return JSON.parse(new TextDecoder().decode(base64url.decode(jwt.split(".")[1]!)));
}

/** The `WWW-Authenticate` a DPoP refusal must carry (RFC 9449 §7.1). */
export function expectDpopChallenge(response: Response, error: "invalid_dpop_proof" | "invalid_token" | "use_dpop_nonce") {
  expect(response.status).toBe(401);
  expect(response.headers.get("WWW-Authenticate")).toBe(`DPoP error="${error}", algs="ES256 EdDSA Ed25519"`);
}

export { PASSWORD };
