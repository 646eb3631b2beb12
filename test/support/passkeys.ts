import { expect } from "vitest";
import { call, freshIp, ORIGIN, type SignedIn, USER_AGENTS } from "./http";
import { type Bend, SoftAuthenticator } from "./soft-authenticator";

export { FLAG, SoftAuthenticator } from "./soft-authenticator";

/** A software authenticator on the tests' origin (the relying party vitest.config.ts configures). */
export const authenticator = (opts: SoftAuthenticator["opts"] = {}) => new SoftAuthenticator(ORIGIN, opts);

/** The claims of an access token, read without verifying (the service verified it when it signed it). */
export function claimsOf(accessToken: string): Record<string, any> {
  return JSON.parse(atob(accessToken.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
}

export async function registrationOptions(device: SignedIn): Promise<Response> {
  return call("/v1/passkeys/registration/options", { method: "POST", token: device.accessToken });
}

/** Asks for registration options, has the authenticator answer them (bent as asked), and posts the answer. */
export async function tryRegister(device: SignedIn, auth: SoftAuthenticator, bend: Bend = {}, name?: string): Promise<Response> {
  const options = await registrationOptions(device);
  expect(options.status).toBe(200);
  const response = await auth.create(await options.json(), bend);
  return call("/v1/passkeys", { method: "POST", token: device.accessToken, json: { response, ...(name ? { name } : {}) } });
}

/** Registers a passkey for a signed-in device; answers the stored `Passkey`. */
export async function registerPasskey(device: SignedIn, auth = authenticator(), name?: string): Promise<{ id: string; name: string }> {
  const response = await tryRegister(device, auth, {}, name);
  expect(response.status).toBe(201);
  return response.json();
}

export async function signInOptions(): Promise<{ challenge: string; rpId: string; allowCredentials?: { id: string }[] }> {
  const response = await call("/v1/auth/passkey/options", { method: "POST" });
  expect(response.status).toBe(200);
  return response.json();
}

/** A passkey sign-in: fresh options, the authenticator's assertion (bent as asked), then POST /v1/auth/passkey. */
export async function passkeySignIn(auth: SoftAuthenticator, bend: Bend = {}, ip = freshIp()): Promise<Response> {
  const assertion = await auth.get(await signInOptions(), bend);
  return postAssertion(assertion, ip);
}

export function postAssertion(assertion: unknown, ip = freshIp()): Promise<Response> {
  return call("/v1/auth/passkey", {
    method: "POST",
    json: { response: assertion, token_transport: "body" },
    headers: { "User-Agent": USER_AGENTS.phone, "CF-Connecting-IP": ip },
  });
}

/** Signs in with a passkey and answers the device as `signIn` would. */
export async function signInWithPasskey(auth: SoftAuthenticator, email = ""): Promise<SignedIn> {
  const response = await passkeySignIn(auth);
  expect(response.status).toBe(200);
  const body: any = await response.json();
  return { userId: body.user.id, sessionId: body.session.id, accessToken: body.access_token, refreshToken: body.refresh_token, email };
}

/** A step-up with a passkey: this session's options, the assertion, then POST /v1/auth/reauthenticate. */
export async function reauthenticateWithPasskey(device: SignedIn, auth: SoftAuthenticator, bend: Bend = {}): Promise<Response> {
  const options = await call("/v1/auth/reauthenticate/options", { method: "POST", token: device.accessToken });
  expect(options.status).toBe(200);
  const response = await auth.get(await options.json(), bend);
  return call("/v1/auth/reauthenticate", { method: "POST", token: device.accessToken, json: { response } });
}

export function reauthenticateWithPassword(device: SignedIn, password: string): Promise<Response> {
  return call("/v1/auth/reauthenticate", { method: "POST", token: device.accessToken, json: { password } });
}
