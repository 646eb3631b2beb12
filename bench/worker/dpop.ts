import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import type { DpopProof } from "../../src/contract/dpop";
import { base64url, sha256 } from "../../src/shared/encoding";

/**
 * The DPoP-bound variants' client side: a P-256 key held in this isolate (a CryptoKey cannot
 * travel in the JSON state the driver hands back), and pools of proofs signed before a batch's
 * timer starts, so a measurement counts the server's checks and never the client's signing.
 */
export const DPOP_RESOURCE_URL = "https://api.example.com/orders/42";
export const DPOP_REFRESH_URL = "https://auth.example.com/v1/auth/refresh";
/** Comfortably more proofs than one 30 ms batch can use (a bound check takes over 0.5 ms). */
const POOL_SIZE = 200;

interface BoundClient {
  privateKey: CryptoKey;
  jwk: JWK;
  jkt: string;
}

let client: BoundClient | null = null;
const pools = new Map<string, string[]>();

export async function boundClient(): Promise<BoundClient> {
  if (client) return client;
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = await exportJWK(publicKey);
  client = { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, "sha256") };
  return client;
}

/** The proof that binds a benchmark session at its sign-in (as the login route passes it to signIn). */
export async function signInProof(): Promise<DpopProof> {
  const { jkt } = await boundClient();
  return { jkt, jti: crypto.randomUUID(), iat: Math.floor(Date.now() / 1000), nonceAt: null };
}

async function proof(method: string, url: string, accessToken?: string): Promise<string> {
  const { privateKey, jwk } = await boundClient();
  const claims: Record<string, unknown> = { jti: crypto.randomUUID(), htm: method, htu: url, iat: Math.floor(Date.now() / 1000) };
  if (accessToken) claims.ath = base64url(await sha256(accessToken));
  return new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk }).sign(privateKey);
}

/** Fills `name`'s pool with fresh proofs (outside the timed loop). */
export async function fillPool(name: string, method: string, url: string, accessToken?: string): Promise<void> {
  const pool: string[] = [];
  for (let i = 0; i < POOL_SIZE; i++) pool.push(await proof(method, url, accessToken));
  pools.set(name, pool);
}

export function nextProof(name: string): string {
  const next = pools.get(name)?.pop();
  if (next === undefined) throw new Error(`the ${name} proof pool ran dry: raise POOL_SIZE`);
  return next;
}
