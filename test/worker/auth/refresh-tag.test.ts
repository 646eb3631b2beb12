import { describe, expect, it } from "vitest";
import { history } from "../../support/devices";
import { call, expectProblem, me, refresh, type SignedIn, signInOn } from "../../support/http";
import { expectOAuthError, oauthPost } from "../../support/oauth";

/**
 * A genuine refresh token with one character of its tag (the last part, 43 characters of an
 * HMAC-SHA256) changed past its first few: still canonical base64url, with the session's real ids
 * and generation. Only a comparison of the whole tag tells it from the genuine one; one that
 * compared a prefix would let anyone who knows a session id end it in about 2^24 guesses.
 */
const POSITIONS = [4, 21, 41];
function withTagCharacterChanged(token: string, position: number): string {
  const at = token.lastIndexOf(".") + 1 + position;
  return token.slice(0, at) + (token[at] === "A" ? "B" : "A") + token.slice(at + 1);
}

/** The token endpoint's refresh grant (RFC 6749 §6), as a public client: a refused token is `invalid_grant`. */
async function expectGrantRefused(refreshToken: string) {
  const form = { grant_type: "refresh_token", refresh_token: refreshToken };
  await expectOAuthError(await oauthPost("/v1/oauth/token", form, null), 400, "invalid_grant");
}

async function expectUntouched(watcher: SignedIn, session: { sessionId: string; accessToken: string }) {
  expect((await me(session.accessToken)).status).toBe(200);
  const types = (await history(watcher.accessToken)).filter((event) => event.session_id === session.sessionId).map((event) => event.type);
  expect(types).not.toContain("refresh_token_reuse");
  expect(types).not.toContain("session_revoked");
}

describe("the refresh token's tag is compared in full", () => {
  it("should refuse the current token with one tag character changed on refresh, the token endpoint, cookie logout and OAuth revoke, ending nothing", async () => {
    const [laptop, phone] = (await signInOn("laptop", "phone")) as [SignedIn, SignedIn];
    for (const position of POSITIONS) {
      const forged = withTagCharacterChanged(phone.refreshToken, position);
      expect(forged).not.toBe(phone.refreshToken);
      await expectProblem(await refresh(forged), 401, "invalid_refresh_token");
      await expectGrantRefused(forged);
      const logout = await call("/v1/auth/logout", { method: "POST", cookie: `__Host-refresh_token=${forged}` });
      expect(logout.status).toBe(204);
      expect((await oauthPost("/v1/oauth/revoke", { token: forged })).status).toBe(200);
      await expectUntouched(laptop, phone);
    }
    // The genuine token was not rotated by any of it.
    expect((await refresh(phone.refreshToken)).status).toBe(200);
  });

  it("should refuse a previous-generation token with one tag character changed, on refresh and the token endpoint, and not take it for reuse", async () => {
    const [laptop, phone] = (await signInOn("laptop", "phone")) as [SignedIn, SignedIn];
    const rotated = (await (await refresh(phone.refreshToken)).json()) as { access_token: string; refresh_token: string };
    for (const position of POSITIONS) {
      const forged = withTagCharacterChanged(phone.refreshToken, position);
      await expectProblem(await refresh(forged), 401, "invalid_refresh_token");
      await expectGrantRefused(forged);
      await expectUntouched(laptop, { sessionId: phone.sessionId, accessToken: rotated.access_token });
    }
    expect((await refresh(rotated.refresh_token)).status).toBe(200);
  });
});
