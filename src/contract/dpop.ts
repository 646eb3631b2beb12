/**
 * What crosses to the registry about a DPoP proof (RFC 9449): the Worker has checked everything a
 * proof can show by itself (docs/api.md, "DPoP"); the registry checks what needs the user's state:
 * that the key is the session's, and that the `jti` has not been seen.
 */
export interface DpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key, base64url. */
  jkt: string;
  jti: string;
  /** The proof's `iat`, in seconds. */
  iat: number;
  /** When the server nonce the proof carries was issued (milliseconds), or null without a valid one. */
  nonceAt: number | null;
}

/** RFC 7638 SHA-256 thumbprints, base64url: 43 characters. */
export const JWK_THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;
