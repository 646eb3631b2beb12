/**
 * How an access token is carried and spelt, for the service and the consumer alike: the service
 * imports this module (the consumer imports nothing from the service), so neither accepts a token
 * string the other refuses.
 */

/** Longer than any access token can be: refused before any parsing. */
const MAX_AUTHORIZATION_HEADER = 4096;
/**
 * RFC 6750 §2.1 (`Bearer`) and RFC 9449 §7.1 (`DPoP`): `credentials = scheme 1*SP b64token`; the
 * scheme is case-insensitive (RFC 9110 §11.1).
 */
const AUTHORIZATION = /^(Bearer|DPoP) +([A-Za-z0-9._~+/-]+=*)$/i;

/** The token of an `Authorization: Bearer` or `DPoP` header and its scheme, or null when the header is neither. */
export function presentedToken(authorization: string | undefined): { dpop: boolean; token: string } | null {
  if (authorization === undefined || authorization.length > MAX_AUTHORIZATION_HEADER) return null;
  const match = AUTHORIZATION.exec(authorization);
  return match ? { dpop: match[1]!.toLowerCase() === "dpop", token: match[2]! } : null;
}

/**
 * RFC 7515 §7.1: three parts, each unpadded base64url (§2) and canonical (RFC 4648 §3.5: the bits
 * the last character carries past the last byte are zero). jose decodes leniently (padding, the
 * standard alphabet, spare trailing bits), so without this one token would have several spellings
 * that all verify, and anything keyed on the string could be side-stepped by re-spelling it.
 */
export function isCanonicalCompactJws(token: string): boolean {
  const parts = token.split(".");
  return parts.length === 3 && parts.every(isCanonicalBase64url);
}

function isCanonicalBase64url(part: string): boolean {
  // A length of 1 mod 4 is less than one byte: no spelling of anything (and atob would throw).
  if (!/^[A-Za-z0-9_-]+$/.test(part) || part.length % 4 === 1) return false;
  // Decoding and encoding again gives the one canonical spelling of the same bytes.
  const bytes = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  return btoa(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "") === part;
}
