import { describe, expect, it } from "vitest";
import { base64url } from "../../src/shared/encoding";
import { deriveSuccessor, hasGenuineTag, mintFirstRefreshToken, parseRefreshToken, refreshKeys } from "../../src/shared/refresh-token";

/**
 * The refresh-token format of docs/storage-schema.md ("Refresh tokens"), computed here from that
 * description with WebCrypto alone: a change to the derivation would sign every user out at the
 * next deploy (their tokens would stop verifying), so the derivation is pinned, not only its round trip.
 */
const SECRET = base64url(new Uint8Array(32).map((_, i) => i + 1));
const USER = "usr_AAAAAAAAAAAAAAAAAAAAAA";
const SESSION = "ses_BBBBBBBBBBBBBBBBBBBBBB";

async function documentedKey(info: string): Promise<CryptoKey> {
  const material = Uint8Array.from(atob(SECRET.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const base = await crypto.subtle.importKey("raw", material, "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode(info) },
    base,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
}
const hmac = async (key: CryptoKey, text: string) => base64url(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text)));

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** The token with one character of one part changed: its lowest bit flipped (for the last character, a spare bit). */
function changed(raw: string, part: number, at: number): string {
  const parts = raw.split(".");
  const text = parts[part]!;
  const index = at < 0 ? text.length + at : at;
  parts[part] = text.slice(0, index) + ALPHABET[ALPHABET.indexOf(text[index]!) ^ 1] + text.slice(index + 1);
  return parts.join(".");
}

describe("the refresh-token format", () => {
  it("should tag and derive successors exactly as documented: HKDF-SHA256 keys, HMAC-SHA256 tag and secret", async () => {
    const keys = await refreshKeys(SECRET);
    const first = await mintFirstRefreshToken(keys, USER, SESSION);
    const [user, session, generation, secret, tag] = first.raw.split(".");
    expect([user, session, generation]).toEqual([USER, SESSION, "0"]);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const tagKey = await documentedKey("refresh-token-tag/v1");
    expect(tag).toBe(await hmac(tagKey, `${USER}.${SESSION}.0.${secret}`));

    const second = await deriveSuccessor(keys, first);
    const successorSecret = await hmac(await documentedKey("refresh-token-successor/v1"), first.raw);
    expect(second.raw).toBe(`${USER}.${SESSION}.1.${successorSecret}.${await hmac(tagKey, `${USER}.${SESSION}.1.${successorSecret}`)}`);
    expect(second).toMatchObject({ userId: USER, sessionId: SESSION, generation: 1, secret: successorSecret });
    expect(await hasGenuineTag(keys, second)).toBe(true);
  });

  it("should refuse a REFRESH_TOKEN_SECRET that is missing, not base64url, or under 32 bytes", async () => {
    const why = "must be at least 32 bytes of base64url";
    for (const secret of [undefined, "", "not base64url!", base64url(new Uint8Array(31))])
      await expect(refreshKeys(secret), String(secret)).rejects.toMatchObject({ setting: "REFRESH_TOKEN_SECRET", why });
    await expect(refreshKeys(base64url(new Uint8Array(32)))).resolves.toBeDefined();
  });

  it("should parse only the one spelling of a token of the documented shape", async () => {
    const keys = await refreshKeys(SECRET);
    const token = await deriveSuccessor(keys, await mintFirstRefreshToken(keys, USER, SESSION));
    expect(parseRefreshToken(token.raw)).toMatchObject({ raw: token.raw, userId: USER, sessionId: SESSION, generation: 1 });
    const [u, s, , secret, tag] = token.raw.split(".") as [string, string, string, string, string];
    const refused: [string, unknown][] = [
      ["not a string", 42],
      ["over 256 characters", `${token.raw}${"A".repeat(256 - token.raw.length + 1)}`],
      ["a leading zero in the generation", `${u}.${s}.01.${secret}.${tag}`],
      ["a generation of ten digits", `${u}.${s}.1234567890.${secret}.${tag}`],
      ["a negative generation", `${u}.${s}.-1.${secret}.${tag}`],
      ["no generation", `${u}.${s}..${secret}.${tag}`],
      ["text before the token", `x${token.raw}`],
      ["text after the token", `${token.raw}x`],
      ["a user id of another prefix", `${u.replace("usr_", "ses_")}.${s}.1.${secret}.${tag}`],
      ["a session id one character short", `${u}.${s.slice(0, -1)}.1.${secret}.${tag}`],
      ["a secret with its spare bits changed", changed(token.raw, 3, -1)],
      ["a tag with its spare bits changed", changed(token.raw, 4, -1)],
      ["a tag one character short", token.raw.slice(0, -1)],
      ["six parts", `${token.raw}.${tag}`],
    ];
    expect(refused.filter(([, raw]) => parseRefreshToken(raw) !== null).map(([name]) => name)).toEqual([]);
    // A nine-digit generation is the largest there is.
    expect(parseRefreshToken(`${u}.${s}.123456789.${secret}.${tag}`)).toMatchObject({ generation: 123_456_789 });
  });

  it("should take a tag as genuine only if every character of it is right", async () => {
    const keys = await refreshKeys(SECRET);
    const token = await mintFirstRefreshToken(keys, USER, SESSION);
    expect(await hasGenuineTag(keys, token)).toBe(true);
    for (const at of [0, 4, 21, 41])
      expect(await hasGenuineTag(keys, parseRefreshToken(changed(token.raw, 4, at))!), String(at)).toBe(false);
    // A genuine tag moved onto another body (another generation) is not genuine either.
    expect(await hasGenuineTag(keys, { ...token, generation: 1 })).toBe(false);
    const otherKeys = await refreshKeys(base64url(new Uint8Array(32).fill(9)));
    expect(await hasGenuineTag(otherKeys, token)).toBe(false);
  });
});

describe("the derived keys", () => {
  it("should never be exportable, and only sign: a bug that leaked a key object could not leak the key", async () => {
    const keys = await refreshKeys(SECRET);
    for (const key of [keys.tag, keys.successor, keys.device]) {
      expect(key.extractable).toBe(false);
      expect(key.usages).toEqual(["sign"]);
      await expect(crypto.subtle.exportKey("raw", key)).rejects.toThrow();
    }
  });

  it("should sign device credentials with the documented key (HKDF info device-token/v1), not a third secret", async () => {
    const keys = await refreshKeys(SECRET);
    const text = "device-token/v1|usr_AAAAAAAAAAAAAAAAAAAAAA|0|1|n";
    const sign = (key: CryptoKey) => crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text));
    expect(new Uint8Array(await sign(keys.device))).toEqual(new Uint8Array(await sign(await documentedKey("device-token/v1"))));
  });
});
