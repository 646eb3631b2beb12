// Test-only introspection client, fresh for every run (like the signing keys): INTROSPECTION_CLIENTS
// maps client_id -> SHA-256 hex of its secret; the tests get the clear secret through a test-only binding.
import { createHash, randomBytes } from "node:crypto";

export function newIntrospectionClient() {
  const client = { id: "resource-server", secret: randomBytes(32).toString("base64url") };
  return {
    INTROSPECTION_CLIENTS: JSON.stringify({ [client.id]: createHash("sha256").update(client.secret).digest("hex") }),
    TEST_INTROSPECTION_CLIENT: client,
  };
}
