import type { Context } from "hono";
import type { DpopProof } from "../../contract/dpop";
import type { AppEnv } from "../env";
import { presentedDpop, proofRefused } from "../tokens/dpop-http";

/**
 * Binding at sign-in (RFC 9449 §5, as the token request of this API): a signup or login that
 * carries a `DPoP` proof for itself binds the new session to the proof's key for its whole life.
 * A proof that fails is refused (400) before any password work, never ignored: a client that asked
 * for a bound session must not get a bearer one without noticing.
 */
export async function signInProof(c: Context<AppEnv>): Promise<DpopProof | undefined> {
  const presented = await presentedDpop(c.env, c.req.raw.headers, { method: c.req.method, url: c.req.url });
  if (presented === null) return undefined;
  if (presented.proof === null) throw await proofRefused(c.env, presented.verdict, 400);
  return presented.proof;
}

/** `token_type` of an answer with an access token: "DPoP" for a bound session (RFC 9449 §5). */
export function tokenType(jkt: string | null | undefined): "DPoP" | "Bearer" {
  return jkt ? "DPoP" : "Bearer";
}
