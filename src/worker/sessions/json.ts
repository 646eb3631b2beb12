import { z } from "zod";
import { iso } from "../../contract/session";
import { Session } from "../../contract/wire-schema";

/** The contract's `User`. */
export const User = z
  .object({
    id: z.string().meta({ example: "usr_0123456789abcdefghijkl" }),
    email: z.string().meta({ description: "Trimmed and lower-cased", example: "ada@example.com" }),
    created_at: z.iso.datetime(),
  })
  .strict()
  .meta({ id: "User" });

export function userJson(user: { id: string; email: string; createdAt: number }): z.output<typeof User> {
  return { id: user.id, email: user.email, created_at: iso(user.createdAt) };
}

const tokenFields = {
  access_token: z.string().meta({ description: "A JWT (RFC 9068 `at+jwt`) for `Authorization: Bearer`, or `DPoP` for a bound session" }),
  token_type: z
    .enum(["Bearer", "DPoP"])
    .meta({ description: '"DPoP" for a session bound to a DPoP key (its tokens carry `cnf.jkt`, RFC 9449 §5)' }),
  expires_in: z.number().int().positive().meta({ description: "Seconds until the access token expires" }),
  refresh_token: z
    .string()
    .optional()
    .meta({ description: 'Only with `"token_transport": "body"` (or a refresh by body); otherwise the token is in the cookie' }),
};

/** The contract's `AuthResult`: a new session and its tokens. */
export const AuthResult = z
  .object({ user: User, session: Session, ...tokenFields })
  .strict()
  .meta({ id: "AuthResult" });

/** A refresh's answer: new tokens for the same session. */
export const TokenResult = z.object(tokenFields).strict().meta({ id: "TokenResult" });

/** `GET /v1/me`. */
export const Me = z.object({ user: User, session: Session }).strict();

/** How many sessions a sign-out ended. */
export const Revoked = z.object({ revoked: z.number().int().nonnegative() }).strict();
