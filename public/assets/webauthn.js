// @ts-check
/**
 * Passkeys in the browser, without a library: the server's options JSON becomes
 * `navigator.credentials` arguments with WebAuthn Level 3's own helpers
 * (`PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON`, and
 * `credential.toJSON()`), and a small by-hand conversion where a browser lacks them.
 */

/** @param {string} text */
const fromBase64url = (text) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)).buffer;
/** @param {ArrayBuffer} bytes */
const toBase64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

/** @typedef {{ id: string; type?: string; transports?: string[] }} DescriptorJSON */

/** @param {DescriptorJSON[] | undefined} list @returns {PublicKeyCredentialDescriptor[]} */
const descriptors = (list) =>
  (list ?? []).map((c) => ({
    type: "public-key",
    id: fromBase64url(c.id),
    transports: /** @type {AuthenticatorTransport[]} */ (c.transports ?? []),
  }));

/** Whether this browser can use passkeys at all (a secure context with WebAuthn). */
export function passkeysSupported() {
  return typeof PublicKeyCredential === "function" && typeof navigator.credentials?.get === "function";
}

/** Whether passkeys can be offered in the email field's autofill (conditional mediation). */
export async function conditionalMediationAvailable() {
  return passkeysSupported() && typeof PublicKeyCredential.isConditionalMediationAvailable === "function"
    ? PublicKeyCredential.isConditionalMediationAvailable()
    : false;
}

/** @param {any} json @returns {PublicKeyCredentialCreationOptions} */
function creationOptions(json) {
  const native = /** @type {any} */ (PublicKeyCredential).parseCreationOptionsFromJSON;
  if (typeof native === "function") return native(json);
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    user: { ...json.user, id: fromBase64url(json.user.id) },
    excludeCredentials: descriptors(json.excludeCredentials),
  };
}

/** @param {any} json @returns {PublicKeyCredentialRequestOptions} */
function requestOptions(json) {
  const native = /** @type {any} */ (PublicKeyCredential).parseRequestOptionsFromJSON;
  if (typeof native === "function") return native(json);
  return { ...json, challenge: fromBase64url(json.challenge), allowCredentials: descriptors(json.allowCredentials) };
}

/** What `credential.toJSON()` gives (WebAuthn L3 §5.1.8), by hand where it is missing. @param {PublicKeyCredential} credential */
function credentialJSON(credential) {
  if (typeof (/** @type {any} */ (credential).toJSON) === "function") return /** @type {any} */ (credential).toJSON();
  const response = /** @type {any} */ (credential.response);
  const base = {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment ?? null,
    clientExtensionResults: credential.getClientExtensionResults(),
  };
  if (response.attestationObject) {
    return {
      ...base,
      response: {
        clientDataJSON: toBase64url(response.clientDataJSON),
        attestationObject: toBase64url(response.attestationObject),
        transports: response.getTransports?.() ?? [],
      },
    };
  }
  return {
    ...base,
    response: {
      clientDataJSON: toBase64url(response.clientDataJSON),
      authenticatorData: toBase64url(response.authenticatorData),
      signature: toBase64url(response.signature),
      ...(response.userHandle ? { userHandle: toBase64url(response.userHandle) } : {}),
    },
  };
}

/** Makes a passkey from registration options; resolves the JSON to post. @param {any} optionsJSON */
export async function createPasskey(optionsJSON) {
  const credential = /** @type {PublicKeyCredential | null} */ (
    await navigator.credentials.create({ publicKey: creationOptions(optionsJSON) })
  );
  if (!credential) throw new DOMException("No passkey was made", "NotAllowedError");
  return credentialJSON(credential);
}

/**
 * Asks for an assertion. `conditional` offers the passkeys in the autofill of an
 * `autocomplete="… webauthn"` field instead of a dialog, and waits until one is picked;
 * abort it (signal) before any other request, or the browser refuses that one.
 * @param {any} optionsJSON @param {{ conditional?: boolean; signal?: AbortSignal }} [how]
 */
export async function usePasskey(optionsJSON, how = {}) {
  const credential = /** @type {PublicKeyCredential | null} */ (
    await navigator.credentials.get({
      publicKey: requestOptions(optionsJSON),
      ...(how.conditional ? { mediation: /** @type {CredentialMediationRequirement} */ ("conditional") } : {}),
      ...(how.signal ? { signal: how.signal } : {}),
    })
  );
  if (!credential) throw new DOMException("No passkey was used", "NotAllowedError");
  return credentialJSON(credential);
}
