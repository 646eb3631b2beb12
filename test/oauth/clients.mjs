// Test-only introspection clients: INTROSPECTION_CLIENTS maps client_id -> SHA-256 hex of its secret.
import { createHash } from "node:crypto";

export const TEST_CLIENT = { id: "resource-server", secret: "test-only-introspection-secret-0123456789" };

export const TEST_INTROSPECTION_CLIENTS = JSON.stringify({
  [TEST_CLIENT.id]: createHash("sha256").update(TEST_CLIENT.secret).digest("hex"),
});
