import { describe, expect, it } from "vitest";
import { app } from "../../../src/worker/app";
import { openApiDocument } from "../../../src/worker/http/openapi";
import { call } from "../../support/http";

describe("the OpenAPI document", () => {
  it("should serve at /openapi.json the document generated from the routes, committed as docs/openapi.json (`npm run openapi` rewrites it)", async () => {
    const response = await call("/openapi.json");
    expect(response.status).toBe(200);
    const served = await response.json();
    expect(served).toEqual(JSON.parse(JSON.stringify(openApiDocument(app))));
    // Written by the host through vitest's snapshot channel, never under CI=true: there a stale file fails.
    await expect(`${JSON.stringify(served, null, 2)}\n`).toMatchFileSnapshot("../../../docs/openapi.json");
  });
});
