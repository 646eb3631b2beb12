/**
 * From the research prototype (docs: the passkey notes of issue 15), unchanged but for formatting.
 * A software WebAuthn authenticator for tests: WebCrypto only (runs in workerd, Node 20+, browsers).
 * It plays browser + authenticator: takes the JSON options a server sends (WebAuthn L3
 * PublicKeyCredentialCreationOptionsJSON / RequestOptionsJSON) and returns the JSON a browser's
 * `credential.toJSON()` gives (RegistrationResponseJSON / AuthenticationResponseJSON).
 * Attestation "none", ES256 (COSE EC2 P-256) only. Every field can be bent for negative tests.
 */

const enc = new TextEncoder();
export const b64url = (bytes: Uint8Array | ArrayBuffer): string => {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};
export const fromB64url = (s: string): Uint8Array<ArrayBuffer> =>
  Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const concat = (...parts: Uint8Array[]): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
const sha256 = async (data: Uint8Array) => new Uint8Array(await crypto.subtle.digest("SHA-256", data));
const u32 = (n: number) => new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);

// --- Minimal CBOR encoder (RFC 8949): unsigned/negative ints, byte and text strings, maps. ---
type Cbor = number | string | Uint8Array | Map<number | string, Cbor> | { [k: string]: Cbor };
const head = (major: number, n: number): Uint8Array<ArrayBuffer> => {
  const m = major << 5;
  if (n < 24) return new Uint8Array([m | n]);
  if (n < 0x100) return new Uint8Array([m | 24, n]);
  if (n < 0x10000) return new Uint8Array([m | 25, n >> 8, n & 255]);
  return concat(new Uint8Array([m | 26]), u32(n));
};
export function cbor(v: Cbor): Uint8Array<ArrayBuffer> {
  if (typeof v === "number") return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === "string") {
    const b = enc.encode(v);
    return concat(head(3, b.length), b);
  }
  if (v instanceof Uint8Array) return concat(head(2, v.length), v);
  const entries = v instanceof Map ? [...v.entries()] : Object.entries(v);
  return concat(head(5, entries.length), ...entries.flatMap(([k, x]) => [cbor(k), cbor(x)]));
}

/** WebCrypto's ECDSA signature is IEEE P1363 r||s; WebAuthn wants ASN.1 DER SEQUENCE { INTEGER r, INTEGER s }. */
export function p1363ToDer(sig: Uint8Array): Uint8Array<ArrayBuffer> {
  const int = (x: Uint8Array) => {
    let i = 0;
    while (i < x.length - 1 && x[i] === 0) i++;
    const v = x.subarray(i);
    const body = v[0]! & 0x80 ? concat(new Uint8Array([0]), v) : v;
    return concat(new Uint8Array([0x02, body.length]), body);
  };
  const seq = concat(int(sig.subarray(0, 32)), int(sig.subarray(32)));
  return concat(new Uint8Array([0x30, seq.length]), seq);
}

export const FLAG = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40, ED: 0x80 } as const;

export interface StoredCredential {
  id: Uint8Array<ArrayBuffer>;
  rpId: string;
  userHandle: string | undefined;
  keyPair: CryptoKeyPair;
  signCount: number;
}
/** Knobs for negative cases; each defaults to what an honest authenticator would do. */
export interface Bend {
  origin?: string;
  rpIdForHash?: string;
  challenge?: string;
  type?: string;
  flags?: number;
  signCount?: number;
  corruptSignature?: boolean;
  credentialId?: string;
}

export class SoftAuthenticator {
  readonly credentials: StoredCredential[] = [];
  readonly origin: string;
  readonly opts: { aaguid?: Uint8Array; flags?: number; counterStep?: number };
  constructor(origin: string, opts: SoftAuthenticator["opts"] = {}) {
    this.origin = origin;
    this.opts = opts;
  } // erasable syntax only
  private get flags() {
    return this.opts.flags ?? FLAG.UP | FLAG.UV | FLAG.BE | FLAG.BS;
  }

  /** navigator.credentials.create(): "none" attestation, packed by hand in CBOR. */
  async create(options: { challenge: string; rp: { id?: string }; user: { id: string } }, bend: Bend = {}) {
    const rpId = options.rp.id ?? new URL(this.origin).hostname;
    const keyPair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const id = crypto.getRandomValues(new Uint8Array(32));
    const raw = new Uint8Array((await crypto.subtle.exportKey("raw", keyPair.publicKey)) as ArrayBuffer); // 0x04 || x || y
    const cose = cbor(
      new Map<number, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, raw.slice(1, 33)],
        [-3, raw.slice(33, 65)],
      ]),
    );
    const signCount = bend.signCount ?? 0;
    const authData = concat(
      await sha256(enc.encode(bend.rpIdForHash ?? rpId)),
      new Uint8Array([(bend.flags ?? this.flags) | FLAG.AT]),
      u32(signCount),
      this.opts.aaguid ?? new Uint8Array(16),
      new Uint8Array([id.length >> 8, id.length & 255]),
      id,
      cose,
    );
    const clientDataJSON = this.clientData(bend.type ?? "webauthn.create", bend.challenge ?? options.challenge, bend.origin);
    const attestationObject = cbor({ fmt: "none", attStmt: {}, authData });
    this.credentials.push({ id, rpId, userHandle: options.user.id, keyPair, signCount });
    const spki = (await crypto.subtle.exportKey("spki", keyPair.publicKey)) as ArrayBuffer;
    return {
      id: b64url(id),
      rawId: b64url(id),
      type: "public-key" as const,
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        authenticatorData: b64url(authData),
        publicKey: b64url(spki),
        publicKeyAlgorithm: -7,
        transports: ["internal" as const, "hybrid" as const],
      },
      authenticatorAttachment: "platform" as const,
      clientExtensionResults: { credProps: { rk: true } },
    };
  }

  /** navigator.credentials.get(): picks an allowed credential, or (discoverable) the newest for the RP. */
  async get(options: { challenge: string; rpId?: string; allowCredentials?: { id: string }[] }, bend: Bend = {}) {
    const rpId = options.rpId ?? new URL(this.origin).hostname;
    const allowed = options.allowCredentials?.map((c) => c.id) ?? [];
    const cred = [...this.credentials].reverse().find((c) => c.rpId === rpId && (allowed.length === 0 || allowed.includes(b64url(c.id))));
    if (!cred) throw new Error("NotAllowedError: no credential for this RP");
    cred.signCount += this.opts.counterStep ?? 1;
    const signCount = bend.signCount ?? cred.signCount;
    const authData = concat(await sha256(enc.encode(bend.rpIdForHash ?? rpId)), new Uint8Array([bend.flags ?? this.flags]), u32(signCount));
    const clientDataJSON = this.clientData(bend.type ?? "webauthn.get", bend.challenge ?? options.challenge, bend.origin);
    const signed = concat(authData, await sha256(clientDataJSON));
    const p1363 = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, cred.keyPair.privateKey, signed));
    if (bend.corruptSignature) p1363[10]! ^= 0x01;
    const id = bend.credentialId ?? b64url(cred.id);
    return {
      id,
      rawId: id,
      type: "public-key" as const,
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(p1363ToDer(p1363)),
        ...(cred.userHandle ? { userHandle: cred.userHandle } : {}),
      },
      authenticatorAttachment: "platform" as const,
      clientExtensionResults: {},
    };
  }

  private clientData(type: string, challenge: string, origin = this.origin) {
    return enc.encode(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }
}
