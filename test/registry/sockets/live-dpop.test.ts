import { describe, expect, it } from "vitest";
import { dpopKey, expectDpopChallenge, signInBound, signUpBound, withProof } from "../../support/dpop";
import { expectProblem, signUp } from "../../support/http";
import { connect, upgrade } from "../../support/socket";

const LIVE = "https://auth.test/v1/sessions/live";

/** A DPoP-bound session's live channel: browsers cannot set a DPoP header, so the proof is a third subprotocol entry. */
describe("the live channel for a DPoP-bound session", () => {
  it("should announce a bound sign-in to the user's other devices with binding dpop", async () => {
    const laptop = await signUp();
    const socket = await connect(laptop.accessToken);
    await signInBound(laptop.email, await dpopKey());
    const created = await socket.next();
    expect(created).toMatchObject({ type: "session_created", session: { binding: "dpop", current: false } });
    socket.socket.close(1000);
  });

  it("should upgrade with the proof as a dpop. entry, for GET of the live URL (https or wss), and echo only sessions.v1", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    for (const htu of [LIVE, "wss://auth.test/v1/sessions/live"]) {
      const proof = await key.proof("GET", htu, { accessToken: device.accessToken });
      const response = await upgrade(device.accessToken, `sessions.v1, bearer.${device.accessToken}, dpop.${proof}`);
      expect(response.status).toBe(101);
      expect(response.headers.get("Sec-WebSocket-Protocol")).toBe("sessions.v1");
      response.webSocket!.accept();
      response.webSocket!.close(1000);
    }
  });

  it("should refuse a bound token without a proof, with a replayed one, and after the session ended", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    expectDpopChallenge(await upgrade(device.accessToken), "invalid_token");
    const proof = await key.proof("GET", LIVE, { accessToken: device.accessToken });
    const protocols = `sessions.v1, bearer.${device.accessToken}, dpop.${proof}`;
    const first = await upgrade(device.accessToken, protocols);
    expect(first.status).toBe(101);
    first.webSocket!.accept();
    first.webSocket!.close(1000);
    const replayed = await upgrade(device.accessToken, protocols);
    expectDpopChallenge(replayed, "invalid_dpop_proof");
    expect(replayed.webSocket).toBeNull();

    const otherKey = await dpopKey();
    const other = await signInBound(device.email, otherKey);
    expect((await withProof(`/v1/sessions/${device.sessionId}`, other.accessToken, otherKey, { method: "DELETE" })).status).toBe(204);
    const ended = await upgrade(
      device.accessToken,
      `sessions.v1, bearer.${device.accessToken}, dpop.${await key.proof("GET", LIVE, { accessToken: device.accessToken })}`,
    );
    expectDpopChallenge(ended, "invalid_token");
    await expectProblem(ended, 401, "invalid_token");
  });
});
