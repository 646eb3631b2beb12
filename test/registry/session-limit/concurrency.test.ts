import { describe, expect, it } from "vitest";
import { history, liveSessionIds, login } from "../../support/devices";
import { call, signUp } from "../../support/http";
import { configure } from "../../support/registry";

/** The session list as seen by whichever of these tokens still belongs to a live session. */
async function sessionsSeenByAnyLive(tokens: string[]) {
  for (const token of tokens) {
    if ((await call("/v1/me", { token })).status === 200) return { token, sessions: await liveSessionIds(token) };
  }
  throw new Error("no live session left");
}

describe("the session limit under simultaneous sign-ins", () => {
  for (const policy of ["evict_oldest", "evict_least_recently_used", "reject"]) {
    it(`should end twenty simultaneous logins of one user with exactly max_sessions live sessions (${policy})`, async () => {
      const first = await signUp();
      await configure(first.userId, { MAX_SESSIONS: "5", SESSION_LIMIT_POLICY: policy });
      const responses = await Promise.all(Array.from({ length: 20 }, () => login(first.email)));
      const statuses = responses.map((response) => response.status);
      const bodies = (await Promise.all(responses.map((response) => response.json()))) as any[];
      if (policy === "reject") {
        expect(statuses.filter((status) => status === 200)).toHaveLength(4);
        expect(statuses.filter((status) => status === 409)).toHaveLength(16);
      } else {
        expect(statuses).toEqual(Array(20).fill(200));
      }
      const tokens = [first.accessToken, ...bodies.map((body) => body.access_token).filter(Boolean)];
      const { token, sessions } = await sessionsSeenByAnyLive(tokens.reverse());
      expect(sessions).toHaveLength(5);
      const evicted = (await history(token)).filter((event) => event.type === "session_revoked");
      expect(evicted).toHaveLength(policy === "reject" ? 0 : 16);
    });
  }
});
