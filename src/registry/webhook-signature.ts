/**
 * Webhook signatures, in the scheme Stripe and Svix use:
 *
 *   Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * Signing the timestamp with the body lets a receiver refuse replays: it recomputes the HMAC over
 * the raw bytes it received, compares in constant time, and rejects a `t` more than five minutes
 * from its own clock. `Webhook-Id` (the event id) lets it drop the duplicates that retries make.
 */
export const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

const encoder = new TextEncoder();

function hmacKey(secret: string, usage: "sign" | "verify"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

export async function signatureHeader(secret: string, body: string, timestamp: number): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret, "sign"), encoder.encode(`${timestamp}.${body}`));
  return `t=${timestamp},v1=${[...new Uint8Array(mac)].map((byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

/** The receiver's check, for consumers written on Workers; `crypto.subtle.verify` compares in constant time. */
export async function verifySignatureHeader(secret: string, header: string, body: string, nowSeconds: number): Promise<boolean> {
  const t = /(?:^|,)t=(\d{1,12})(?:,|$)/.exec(header)?.[1];
  if (!t || Math.abs(nowSeconds - Number(t)) > SIGNATURE_TOLERANCE_SECONDS) return false;
  const key = await hmacKey(secret, "verify");
  for (const [, hex] of header.matchAll(/(?:^|,)v1=([0-9a-f]{64})(?=,|$)/g)) {
    const mac = new Uint8Array(hex!.match(/../g)!.map((pair) => parseInt(pair, 16)));
    if (await crypto.subtle.verify("HMAC", key, mac, encoder.encode(`${t}.${body}`))) return true;
  }
  return false;
}
