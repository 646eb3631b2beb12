import { z } from "zod";
import { REFRESH_COOKIE_ATTRIBUTES, REFRESH_COOKIE_NAME } from "../auth/cookies";

/**
 * The DBSC session instructions (w3c/webappsec-dbsc §"Session instructions format"), the body of
 * a registration and of a successful refresh. Chromium 156 requires `scope.include_site` and a
 * non-empty `credentials` list (net/device_bound_sessions/session_json_utils.cc).
 */

export const DBSC_REGISTER_PATH = "/v1/auth/dbsc/register";
export const DBSC_REFRESH_PATH = "/v1/auth/dbsc/refresh";

export const DbscInstructions = z
  .object({
    session_identifier: z.string().meta({ description: "The DBSC session's id; the browser sends it back in `Sec-Secure-Session-Id`" }),
    refresh_url: z.literal(DBSC_REFRESH_PATH),
    scope: z
      .object({
        origin: z.string().meta({ description: "This service's origin" }),
        include_site: z.literal(false),
        scope_specification: z.array(z.object({ type: z.enum(["include", "exclude"]), domain: z.string(), path: z.string() }).strict()),
      })
      .strict()
      .meta({
        description:
          "The whole origin: the refresh cookie is sent on every path (Path=/), so every request of this origin is one the browser keeps it fresh for",
      }),
    credentials: z
      .array(
        z
          .object({ type: z.literal("cookie"), name: z.literal(REFRESH_COOKIE_NAME), attributes: z.literal(REFRESH_COOKIE_ATTRIBUTES) })
          .strict(),
      )
      .length(1),
  })
  .strict()
  .meta({
    id: "DbscSessionInstructions",
    description: "W3C DBSC session instructions: the bound cookie, its scope and where to refresh it",
  });

export const DbscTermination = z
  .object({ session_identifier: z.string(), continue: z.literal(false) })
  .strict()
  .meta({
    id: "DbscTermination",
    description: "The DBSC session is over (the session ended, or it is not bound): the browser stops refreshing",
  });

export function sessionInstructions(requestUrl: string, identifier: string): z.infer<typeof DbscInstructions> {
  const url = new URL(requestUrl);
  return {
    session_identifier: identifier,
    refresh_url: DBSC_REFRESH_PATH,
    scope: {
      origin: url.origin,
      include_site: false,
      // The DBSC endpoints themselves never wait for a refresh (the refresh URL is excluded anyway, §"Identify a session").
      scope_specification: [{ type: "exclude", domain: url.hostname, path: "/v1/auth/dbsc/" }],
    },
    credentials: [{ type: "cookie", name: REFRESH_COOKIE_NAME, attributes: REFRESH_COOKIE_ATTRIBUTES }],
  };
}
