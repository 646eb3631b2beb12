import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { StepUpProof } from "../../contract/auth";
import { usersRepository } from "../../db/users";
import { configFrom } from "../../shared/config";
import { describePlace } from "../devices/device";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { readJson } from "../http/body";
import { failClosed } from "../http/fail-closed";
import { allowMethods } from "../http/methods";
import { ACCESS_TOKEN, ACCESS_TOKEN_REFUSALS, jsonRequest, NO_STORE, openApiRoutes, problems } from "../http/openapi";
import { presentedPassword } from "../http/validation";
import { admitSignIn } from "../limits/limits";
import { RequestOptions } from "../passkeys/operations";
import { authenticationOptions } from "../passkeys/options";
import { authenticationResponse } from "../passkeys/validation";
import { requireAccessToken } from "../sessions/guard";
import { registryFor } from "../sessions/registry-client";
import { signAccessToken } from "../tokens/access";
import { loadKeySet } from "../tokens/keys";
import { tokenType } from "./binding";
import { deviceOf, MAX_DEVICE_TOKEN_LENGTH } from "./device-token";
import { verifyPassword } from "./password";

/** The password or a passkey assertion, exactly one (unknown fields are ignored, as everywhere). */
const reauthenticateBody = z
  .object({
    password: presentedPassword.optional(),
    response: authenticationResponse.optional(),
    device_token: z.string().max(MAX_DEVICE_TOKEN_LENGTH).optional(),
  })
  .refine((body) => (body.password === undefined) !== (body.response === undefined), {
    message: "send password or a passkey response, not both",
    path: ["password"],
  });

/**
 * Step-up without a new session (RFC 9470): the signed-in user proves who they are again, with the
 * password or a passkey, and the calling session's `auth_time` and `amr` are renewed in its
 * registry; the answer is a new access token for the same session. Better Auth's passkey sign-in
 * "always creates a new session", which is what this avoids: the session, its device entry and its
 * refresh token stay as they are.
 */
export const reauthenticateRoutes = openApiRoutes<AppEnv>();

const common = { tags: ["accounts"], security: ACCESS_TOKEN, middleware: [requireAccessToken] };

const StepUpToken = z
  .object({
    access_token: z.string().meta({ description: "A new access token for the same session, with a fresh `auth_time` and `amr`" }),
    token_type: z.enum(["Bearer", "DPoP"]),
    expires_in: z.number().int().positive(),
  })
  .strict()
  .meta({ id: "StepUpToken" });

const reauthenticationOptions = createRoute({
  ...common,
  method: "post",
  path: "/reauthenticate/options",
  operationId: "reauthenticationOptions",
  summary: "Start a passkey step-up: options listing the account's passkeys",
  responses: {
    200: {
      description: "The request options",
      headers: { "Cache-Control": NO_STORE },
      content: { "application/json": { schema: RequestOptions } },
    },
    ...problems(...ACCESS_TOKEN_REFUSALS, "not_found", "payload_too_large", "registry_unavailable", "service_unavailable"),
  },
});

const reauthenticate = createRoute({
  ...common,
  method: "post",
  path: "/reauthenticate",
  operationId: "reauthenticate",
  summary: "Prove who you are again (RFC 9470 step-up), in the same session",
  description: "With the password or an assertion answering `/reauthenticate/options`. Limited like a sign-in.",
  request: { body: jsonRequest(reauthenticateBody) },
  responses: {
    200: {
      description: "A new access token",
      headers: { "Cache-Control": NO_STORE },
      content: { "application/json": { schema: StepUpToken } },
    },
    ...problems(
      "validation_failed",
      ...ACCESS_TOKEN_REFUSALS,
      "invalid_credentials",
      "payload_too_large",
      "rate_limited",
      "registry_unavailable",
      "service_unavailable",
    ),
  },
});

/** The assertion options for a passkey step-up: the account's passkeys, and a challenge for this session only. */
reauthenticateRoutes.openapi(reauthenticationOptions, async (c) => {
  const { userId, actor } = c.var.caller;
  const challenge = await failClosed("registry", () => registryFor(c.env, userId).sessionPasskeyChallenge(actor, "reauthentication"));
  if (!challenge.ok) throw new ApiError(challenge.code);
  if (challenge.passkeys.length === 0) throw new ApiError("not_found", { detail: "This account has no passkeys; use the password" });
  c.header("Cache-Control", "no-store");
  return c.json(await authenticationOptions(configFrom(c.env).relyingParty, challenge.challenge, challenge.passkeys), 200);
});

/**
 * Limited like a sign-in (the same limiter calls): the attempt counts against the address, and a
 * wrong password or a refused assertion against the account. The caller must be live before the
 * password is even checked.
 */
reauthenticateRoutes.openapi(reauthenticate, async (c) => {
  const body = await readJson(c, reauthenticateBody);
  const { userId, sessionId, actor } = c.var.caller;
  const registry = registryFor(c.env, userId);
  const [live, user] = await Promise.all([
    failClosed("registry", () => registry.sessionCheck(actor)),
    failClosed("database", () => usersRepository(c.env.DB).findById(userId)),
  ]);
  if (!live.ok || !user) throw new ApiError("invalid_token");
  const keys = await loadKeySet(c.env.JWT_SIGNING_KEYS);
  // A known device (its cookie or `device_token`) draws on its own failure budget, as at login.
  const attempt = await admitSignIn(c, user.email, await deviceOf(c, user, body.device_token));
  let proof: StepUpProof;
  if (body.password !== undefined) {
    let valid: boolean;
    try {
      valid = await verifyPassword(body.password, user.passwordHash);
    } catch (error) {
      await attempt.settle("succeeded");
      throw error;
    }
    if (!valid) {
      await attempt.settle("failed");
      throw new ApiError("invalid_credentials");
    }
    proof = { method: "password", credentialsSeenAt: user.passwordChangedAt ?? 0 };
  } else {
    proof = { method: "passkey", response: body.response! };
  }
  let result: Awaited<ReturnType<typeof registry.sessionReauthenticate>>;
  try {
    // By its id, not `actor`: sessionCheck above admitted this request's DPoP proof, and a second
    // admission would refuse the same jti as a replay (as changePassword does).
    result = await failClosed("registry", () => registry.sessionReauthenticate(sessionId, proof, describePlace(c.req.raw)));
  } catch (error) {
    await attempt.settle("succeeded");
    throw error;
  }
  await attempt.settle(!result.ok && result.code === "invalid_credentials" ? "failed" : "succeeded");
  if (!result.ok)
    throw new ApiError(
      result.code,
      result.code === "invalid_credentials" && proof.method === "passkey" ? { detail: "The passkey could not be verified" } : {},
    );
  const config = configFrom(c.env);
  const accessToken = await signAccessToken(keys, config, {
    userId,
    sessionId,
    auth: result.auth,
    jkt: c.var.caller.claims.cnf?.jkt ?? null,
  });
  c.header("Cache-Control", "no-store");
  return c.json(
    {
      access_token: accessToken,
      token_type: tokenType(c.var.caller.claims.cnf?.jkt ?? null),
      expires_in: config.accessTokenTtlSeconds,
    },
    200,
  );
});

allowMethods(reauthenticateRoutes, "/reauthenticate", ["POST"]);
allowMethods(reauthenticateRoutes, "/reauthenticate/options", ["POST"]);
