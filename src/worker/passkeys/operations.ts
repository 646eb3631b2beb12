import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { Passkey } from "../../contract/wire-schema";
import { MAX_DEVICE_TOKEN_LENGTH } from "../auth/device-token";
import { SIGN_IN_REFUSALS, signedIn } from "../auth/operations";
import { requireRecentAuthentication } from "../auth/step-up";
import { ACCESS_TOKEN, ACCESS_TOKEN_REFUSALS, DPOP_PROOF_HEADER, jsonRequest, NO_STORE, PUBLIC, problems } from "../http/openapi";
import { displayText, tokenTransport } from "../http/validation";
import { requireAccessToken } from "../sessions/guard";
import { authenticationResponse, registrationResponse } from "./validation";

/**
 * The passkey operations as the OpenAPI document describes them (the handlers in routes.ts read
 * their bodies with these same schemas). The options answers are SimpleWebAuthn's WebAuthn Level 3
 * `…OptionsJSON`, documented by the members a browser needs, open to the rest.
 */

export const registerBody = z.object({
  response: registrationResponse,
  name: displayText(64).nullish().meta({ description: "The passkey's name; absent: the device's name" }),
});
export const renameBody = z.object({ name: displayText(64).meta({ example: "Phone passkey" }) });
export const passkeySignInBody = z.object({
  response: authenticationResponse,
  device_name: displayText(64).nullish(),
  token_transport: tokenTransport,
  // As at login: this device's credential for the account, so a failure counts against its own budget.
  device_token: z.string().max(MAX_DEVICE_TOKEN_LENGTH).optional(),
});

const CreationOptions = z
  .looseObject({
    challenge: z.string(),
    rp: z.looseObject({ name: z.string(), id: z.string().optional() }),
    user: z.looseObject({ id: z.string(), name: z.string(), displayName: z.string() }),
    pubKeyCredParams: z.array(z.looseObject({ type: z.string(), alg: z.number().int() })),
    timeout: z.number().int().optional(),
    excludeCredentials: z.array(z.looseObject({ id: z.string(), type: z.string() })).optional(),
  })
  .meta({ id: "PublicKeyCredentialCreationOptionsJSON", description: "For `PublicKeyCredential.parseCreationOptionsFromJSON`" });

export const RequestOptions = z
  .looseObject({
    challenge: z.string(),
    rpId: z.string().optional(),
    timeout: z.number().int().optional(),
    userVerification: z.string().optional(),
    allowCredentials: z.array(z.looseObject({ id: z.string(), type: z.string() })).optional(),
  })
  .meta({ id: "PublicKeyCredentialRequestOptionsJSON", description: "For `PublicKeyCredential.parseRequestOptionsFromJSON`" });

const noStore = (description: string, schema: z.ZodType) => ({
  description,
  headers: { "Cache-Control": NO_STORE },
  content: { "application/json": { schema } },
});
const passkeyIdParam = z.object({
  id: z.string().meta({ description: "A credential id (base64url); one that is not the account's is 404" }),
});
const STEP_UP = "step_up_required" as const;
const common = { tags: ["passkeys"], security: ACCESS_TOKEN };

export const registrationOptionsRoute = createRoute({
  ...common,
  method: "post",
  path: "/registration/options",
  operationId: "passkeyRegistrationOptions",
  summary: "Start adding a passkey: the options for `navigator.credentials.create()`",
  description: "Needs a recent proof of who the user is (RFC 9470, `STEP_UP_MAX_AGE_SECONDS`).",
  middleware: [requireAccessToken, requireRecentAuthentication()],
  responses: {
    200: noStore("The creation options, with a single-use challenge for this session", CreationOptions),
    ...problems(
      ...ACCESS_TOKEN_REFUSALS,
      STEP_UP,
      "passkey_limit_reached",
      "payload_too_large",
      "registry_unavailable",
      "service_unavailable",
    ),
  },
});

export const registerPasskeyRoute = createRoute({
  ...common,
  method: "post",
  path: "/",
  operationId: "registerPasskey",
  summary: "Add a passkey: the authenticator's answer to the creation options",
  middleware: [requireAccessToken],
  request: { body: jsonRequest(registerBody) },
  responses: {
    201: { description: "The new passkey", content: { "application/json": { schema: Passkey } } },
    ...problems(
      "validation_failed",
      "passkey_rejected",
      ...ACCESS_TOKEN_REFUSALS,
      "passkey_limit_reached",
      "payload_too_large",
      "registry_unavailable",
      "service_unavailable",
    ),
  },
});

export const listPasskeysRoute = createRoute({
  ...common,
  method: "get",
  path: "/",
  operationId: "listPasskeys",
  summary: "The account's passkeys",
  middleware: [requireAccessToken],
  responses: {
    200: {
      description: "Every passkey of the account",
      content: { "application/json": { schema: z.object({ passkeys: z.array(Passkey) }).strict() } },
    },
    ...problems(...ACCESS_TOKEN_REFUSALS, "registry_unavailable", "service_unavailable"),
  },
});

export const renamePasskeyRoute = createRoute({
  ...common,
  method: "patch",
  path: "/{id}",
  operationId: "renamePasskey",
  summary: "Rename a passkey",
  middleware: [requireAccessToken],
  request: { params: passkeyIdParam, body: jsonRequest(renameBody) },
  responses: {
    200: { description: "The renamed passkey", content: { "application/json": { schema: Passkey } } },
    ...problems(
      "validation_failed",
      ...ACCESS_TOKEN_REFUSALS,
      "not_found",
      "payload_too_large",
      "registry_unavailable",
      "service_unavailable",
    ),
  },
});

export const removePasskeyRoute = createRoute({
  ...common,
  method: "delete",
  path: "/{id}",
  operationId: "removePasskey",
  summary: "Remove a passkey; it can no longer sign in",
  description: "Needs a recent proof of who the user is (RFC 9470). Sessions it signed in stay until ended.",
  middleware: [requireAccessToken, requireRecentAuthentication()],
  request: { params: passkeyIdParam },
  responses: {
    204: { description: "The passkey is removed" },
    ...problems(...ACCESS_TOKEN_REFUSALS, STEP_UP, "not_found", "payload_too_large", "registry_unavailable", "service_unavailable"),
  },
});

export const passkeySignInOptionsRoute = createRoute({
  method: "post",
  path: "/passkey/options",
  operationId: "passkeySignInOptions",
  summary: "Start a passkey sign-in: the options for `navigator.credentials.get()`",
  description: "Stateless until used: the challenge is signed, single-use once answered, and short-lived.",
  tags: ["accounts"],
  security: PUBLIC,
  responses: { 200: noStore("The request options", RequestOptions), ...problems("payload_too_large", "service_unavailable") },
});

export const passkeySignInRoute = createRoute({
  method: "post",
  path: "/passkey",
  operationId: "passkeySignIn",
  summary: "Sign in with a passkey: a new session on this device",
  description: "Limited and answered like a password sign-in; an unknown or unverifiable passkey is `invalid_credentials`.",
  tags: ["accounts"],
  security: PUBLIC,
  request: { body: jsonRequest(passkeySignInBody), headers: DPOP_PROOF_HEADER },
  responses: {
    200: signedIn("The new session"),
    ...problems(...SIGN_IN_REFUSALS),
  },
});
