import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { genuineTokenOf, type Rotation, rotationOf } from "../../../src/registry/rotation";
import { signUp } from "../../support/http";

/**
 * The rotation decision alone (src/registry/rotation.ts), on hand-made rows: what a presented
 * refresh token is to its session. The HTTP journeys are in test/worker/auth/refresh.test.ts; the
 * edges of the grace window are pinned here, where the clock is a number.
 */
const GRACE_MS = 10_000;
const ROTATED_AT = 1_700_000_000_000;
const hash = (label: number) => new Uint8Array(32).fill(label);

/** A session at generation 3: its current token hashes to 3, the one it replaced to 2. */
const row = {
  refresh_generation: 3,
  refresh_hash: hash(3).buffer,
  previous_refresh_hash: hash(2).buffer,
  rotated_at: ROTATED_AT,
};
const current = { token: { generation: 3 }, hash: hash(3), successorHash: hash(4) };
// The previous token's successor is the current token: a retry in grace gets that same one again.
const previous = { token: { generation: 2 }, hash: hash(2), successorHash: hash(3) };

describe("the rotation decision", () => {
  it("should take a retry of the previous token exactly at rotated_at + grace as grace, and 1 ms later as reuse", () => {
    expect(rotationOf(row, previous, ROTATED_AT + GRACE_MS, GRACE_MS)).toBe("grace");
    expect(rotationOf(row, previous, ROTATED_AT + GRACE_MS + 1, GRACE_MS)).toBe("reuse");
    expect(rotationOf(row, previous, ROTATED_AT, GRACE_MS)).toBe("grace");
    expect(rotationOf(row, previous, ROTATED_AT + 1, 0)).toBe("reuse");
  });

  it("should yield the successor for the current token, whenever it is presented", () => {
    for (const now of [ROTATED_AT, ROTATED_AT + GRACE_MS + 1, ROTATED_AT + 86_400_000])
      expect(rotationOf(row, current, now, GRACE_MS)).toBe("current");
    expect(rotationOf({ ...row, previous_refresh_hash: null, rotated_at: null }, current, ROTATED_AT, GRACE_MS)).toBe("current");
  });

  it("should call a genuine earlier token reuse whenever it is not the previous token in grace", () => {
    const cases: [string, Parameters<typeof rotationOf>[0], Parameters<typeof rotationOf>[1]][] = [
      ["two generations back, inside the window", row, { token: { generation: 1 }, hash: hash(1), successorHash: hash(2) }],
      ["the previous generation with another hash", row, { ...previous, hash: hash(9) }],
      ["the previous token whose successor is no longer current", row, { ...previous, successorHash: hash(9) }],
      ["the previous token of a session that kept no previous hash", { ...row, previous_refresh_hash: null }, previous],
      ["the previous token of a session that was never rotated", { ...row, rotated_at: null }, previous],
    ];
    const decided = cases.map(([name, session, presented]) => [name, rotationOf(session, presented, ROTATED_AT + 1, GRACE_MS)]);
    expect(decided).toEqual(cases.map(([name]) => [name, "reuse" satisfies Rotation]));
  });

  it("should call anything else invalid: the current generation with another hash, a later generation", () => {
    expect(rotationOf(row, { ...current, hash: hash(9) }, ROTATED_AT, GRACE_MS)).toBe("invalid");
    expect(rotationOf(row, { token: { generation: 4 }, hash: hash(4), successorHash: hash(5) }, ROTATED_AT, GRACE_MS)).toBe("invalid");
    // A later generation carrying the current hash is not the current token either.
    expect(rotationOf(row, { ...current, token: { generation: 4 } }, ROTATED_AT, GRACE_MS)).toBe("invalid");
  });
});

describe("the registry's own check of a presented refresh token", () => {
  it("should take only a parseable token of its own user with a genuine tag", async () => {
    const device = await signUp();
    const other = await signUp();
    const secret = env.REFRESH_TOKEN_SECRET;
    expect(await genuineTokenOf(secret, device.refreshToken, device.userId)).toMatchObject({ sessionId: device.sessionId });
    // The Worker routes by the token's user, so only a routing mistake would bring another user's token here.
    expect(await genuineTokenOf(secret, device.refreshToken, other.userId)).toBeNull();
    expect(await genuineTokenOf(secret, device.refreshToken, null)).toBeNull();
    expect(await genuineTokenOf(secret, "not a refresh token", device.userId)).toBeNull();
  });
});
