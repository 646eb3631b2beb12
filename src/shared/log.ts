/**
 * The service's log lines: one JSON object per line, for Workers Logs and Logpush. Fields are ids,
 * counts and outcomes. Never a token, password, cookie, email or hash, and never an error's message:
 * a failed D1 statement's message holds its SQL and bound values (an email, a password hash), so
 * errors are logged by `errorFacts` only.
 */
type Level = "info" | "warn" | "error";
export type LogFields = Record<string, string | number | boolean | null | undefined | object>;

export function log(level: Level, msg: string, fields: LogFields = {}): void {
  const line = JSON.stringify({ level, msg, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/**
 * What may be logged of an error: its class, and the flags the platform sets on Durable Object and
 * RPC failures (https://developers.cloudflare.com/durable-objects/best-practices/error-handling/).
 */
export function errorFacts(error: unknown): { error: string; overloaded?: true; retryable?: true; remote?: true } {
  if (!(error instanceof Error)) return { error: typeof error };
  const flags = error as { overloaded?: unknown; retryable?: unknown; remote?: unknown };
  return {
    error: error.name === "Error" ? error.constructor.name : error.name,
    ...(flags.overloaded === true ? { overloaded: true } : {}),
    ...(flags.retryable === true ? { retryable: true } : {}),
    ...(flags.remote === true ? { remote: true } : {}),
  };
}
