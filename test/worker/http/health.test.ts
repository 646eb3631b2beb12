import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("healthz", () => {
  it("answers 200", async () => {
    const response = await exports.default.fetch("https://auth.test/healthz");
    expect(response.status).toBe(200);
  });
});
