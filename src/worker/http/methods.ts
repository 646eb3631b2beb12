import type { Hono } from "hono";
import { ApiError } from "../errors";

/**
 * Declares which methods a path answers to; any other method gets 405 with `Allow`.
 * Register it after the path's routes: a matched route answers first.
 */
export function allowMethods(app: Hono<any>, path: string, methods: readonly string[]): void {
  const allow = [...methods, ...(methods.includes("GET") ? ["HEAD"] : [])].join(", ");
  app.all(path, () => {
    throw new ApiError("method_not_allowed", { headers: { Allow: allow } });
  });
}
