import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectProblem, signInOn } from "../support/http";

// A Worker made from the packed tarball in a scratch project (test/consumer/packed-worker.mjs), its
// SESSIONS binding pointing at this service's SessionService entrypoint.
function packedConsumer(token?: string) {
  return env.PACKED_CONSUMER.fetch("https://consumer.test/me", { headers: token ? { Authorization: `Bearer ${token}` } : {} });
}

describe("the packed consumer package", () => {
  it("should ship the built JavaScript and declarations, and no TypeScript source", () => {
    const { files } = env.TEST_PACKED_CONSUMER;
    expect(files).toEqual(expect.arrayContaining(["LICENSE", "README.md", "package.json", "dist/index.js", "dist/index.d.ts"]));
    const stray = files.filter(
      (file) => !["LICENSE", "README.md", "package.json"].includes(file) && !/^dist\/[a-z-]+\.(js|d\.ts)$/.test(file),
    );
    expect(stray).toEqual([]);
  });

  it("should type-check a project that imports it, whether it resolves modules like a bundler or like Node", () => {
    // "" is a clean tsc run; anything else is the diagnostics, shown here when this fails.
    expect(env.TEST_PACKED_CONSUMER.typecheck).toEqual({ bundler: "", nodenext: "" });
  });

  it("should, installed from its tarball, accept a live session in strict mode and refuse it on the request after its revocation", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    const live = await packedConsumer(phone!.accessToken);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ userId: phone!.userId, sessionId: phone!.sessionId, liveness: "confirmed", mode: "strict" });

    // The laptop signs the phone out through the public API, as a user would.
    expect((await call(`/v1/sessions/${phone!.sessionId}`, { method: "DELETE", token: laptop!.accessToken })).status).toBe(204);

    const refused = await packedConsumer(phone!.accessToken);
    expect(refused.headers.get("WWW-Authenticate")).toBe('Bearer error="invalid_token"');
    await expectProblem(refused, 401, "invalid_token");
    expect((await packedConsumer(laptop!.accessToken)).status).toBe(200);
  });

  it("should refuse a request without a token", async () => {
    await expectProblem(await packedConsumer(), 401, "invalid_token");
  });
});
