import { describe, expect, it } from "vitest";
import { call } from "../../support/http";

describe("healthz", () => {
  it("answers 200", async () => {
    const response = await call("/healthz");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });
});
