import { ApiError } from "../errors";

/** Runs a D1 call; if D1 fails, the request fails with 503 rather than a 500 or a half-done write. */
export async function withDatabase<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiError) throw error;
    console.error(JSON.stringify({ level: "error", msg: "D1 call failed", error: String(error) }));
    throw new ApiError("service_unavailable", "The database is unavailable", { "Retry-After": "1" });
  }
}
