import { z } from "zod";
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "../../contract/auth";

/**
 * The JSON a browser's `PublicKeyCredential.toJSON()` gives (WebAuthn Level 3 §5.1.8), bounded
 * before it reaches a registry: every binary member is canonical base64url, and no member can
 * be large enough to cost anything to parse. The registry verifies what the members say.
 */
const b64url = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[A-Za-z0-9_-]+$/, "must be base64url");

/** §7.1: credential ids are at most 1023 bytes (1364 base64url characters). */
const credentialId = b64url(1364);
const clientExtensionResults = z.record(z.string(), z.unknown()).default({});
const attachment = z.enum(["platform", "cross-platform"]).nullish();

export const authenticationResponse = z
  .object({
    id: credentialId,
    rawId: credentialId,
    type: z.literal("public-key"),
    response: z.object({
      clientDataJSON: b64url(4096),
      authenticatorData: b64url(4096),
      signature: b64url(1024),
      userHandle: b64url(128).nullish(),
    }),
    authenticatorAttachment: attachment,
    clientExtensionResults,
  })
  .refine((r) => r.id === r.rawId, { message: "id and rawId must be the same credential", path: ["rawId"] })
  .transform((r) => r as AuthenticationResponseJSON);

export const registrationResponse = z
  .object({
    id: credentialId,
    rawId: credentialId,
    type: z.literal("public-key"),
    response: z.object({
      clientDataJSON: b64url(4096),
      attestationObject: b64url(8192),
      authenticatorData: b64url(4096).optional(),
      publicKey: b64url(2048).optional(),
      publicKeyAlgorithm: z.number().int().optional(),
      transports: z.array(z.string().max(32)).max(8).optional(),
    }),
    authenticatorAttachment: attachment,
    clientExtensionResults,
  })
  .refine((r) => r.id === r.rawId, { message: "id and rawId must be the same credential", path: ["rawId"] })
  .transform((r) => r as RegistrationResponseJSON);
