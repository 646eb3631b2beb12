import { base64url, digestsEqual, fromBase64url, randomBytes } from "../../shared/encoding";
import { normalisePassword } from "./password-policy";

export { assertStrongPassword } from "./password-policy";

/**
 * PBKDF2-SHA256 through WebCrypto. Workers refuses more than 100,000 iterations in production
 * (workerd locally does not), so this is the ceiling, and a test pins it.
 */
export const PBKDF2_ITERATIONS = 100_000;
export const WORKERS_PBKDF2_LIMIT = 100_000;
const SALT_BYTES = 16;
const HASH_BITS = 256;
const PREFIX = "pbkdf2_sha256";

export async function pbkdf2(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, HASH_BITS);
  return new Uint8Array(bits);
}

/**
 * `pbkdf2_sha256$<iterations>$<salt>$<hash>` with base64url parts: self-describing, so iterations
 * can change later. The hash is over the password's NFKC form (NIST SP 800-63B-4 §3.1.1.2).
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await pbkdf2(normalisePassword(password), salt, PBKDF2_ITERATIONS);
  return `${PREFIX}$${PBKDF2_ITERATIONS}$${base64url(salt)}$${base64url(hash)}`;
}

/**
 * The presented password's NFKC form first. Hashes stored before normalisation were computed over
 * the text as typed; for every password already in NFKC form (all ASCII, and composed text such as
 * most keyboards send) that is the same hash, so only a password that NFKC changes gets a second
 * try, as typed. That try can only match an old hash: a new hash is over some NFKC(p), and a
 * presented text equal to NFKC(p) is itself in NFKC form and never gets the second try. An unknown
 * email runs the same code against the dummy hash, so the work (one or two runs) is the same.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [prefix, iterationsText, saltText, hashText] = stored.split("$");
  const iterations = Number(iterationsText);
  const salt = saltText ? fromBase64url(saltText) : null;
  const expected = hashText ? fromBase64url(hashText) : null;
  if (prefix !== PREFIX || !Number.isInteger(iterations) || iterations < 1 || iterations > WORKERS_PBKDF2_LIMIT || !salt || !expected)
    return false;
  const normalised = normalisePassword(password);
  if (digestsEqual(await pbkdf2(normalised, salt, iterations), expected)) return true;
  return normalised !== password && digestsEqual(await pbkdf2(password, salt, iterations), expected);
}

/**
 * A sign-in for an unknown email still pays for one full PBKDF2 run against this hash,
 * so response time does not reveal whether an account exists.
 */
export const DUMMY_PASSWORD_HASH = `${PREFIX}$${PBKDF2_ITERATIONS}$${"A".repeat(22)}$${"A".repeat(43)}`;
