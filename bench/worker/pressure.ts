import { checkAccessToken, verifyAccessToken } from "../../src/worker/tokens/check";

export interface PressurePoint {
  mode: "strict" | "registry";
  callers: number;
  ms: number;
  checks: number;
  checks_per_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  errors: Record<string, number>;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] ?? Number.NaN;
}

/**
 * One user's registry under `callers` concurrent callers for `ms`: each caller checks the same
 * session's token in a loop, awaiting each answer. `strict` is the whole check (checkAccessToken);
 * `registry` is its registry call alone, so the signature's CPU is not counted. Per-call latency is
 * read with performance.now(), whose whole-millisecond ticks are coarse but fine at this scale.
 */
export async function pressure(
  env: BenchEnv,
  token: string,
  mode: "strict" | "registry",
  callers: number,
  ms: number,
): Promise<PressurePoint> {
  const signature = await verifyAccessToken(env, token);
  if (!signature.ok) throw new Error("pressure token refused");
  const { sub, sid } = signature.claims;
  const stub = () => env.SESSION_REGISTRY.get(env.SESSION_REGISTRY.idFromName(sub));
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const started = performance.now();
  const one = async () => {
    if (mode === "registry") {
      const live = await stub().sessionCheck(sid);
      return live.ok ? null : live.code;
    }
    const status = await checkAccessToken(env, token);
    return status.ok ? null : status.code;
  };
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() - started < ms) {
        const at = performance.now();
        let failure: string | null;
        try {
          failure = await one();
        } catch (error) {
          const flags = error as { overloaded?: boolean };
          failure = flags.overloaded ? "overloaded" : error instanceof Error ? error.name : "thrown";
        }
        latencies.push(performance.now() - at);
        if (failure) errors[failure] = (errors[failure] ?? 0) + 1;
      }
    }),
  );
  const elapsed = performance.now() - started;
  return {
    mode,
    callers,
    ms: Math.round(elapsed),
    checks: latencies.length,
    checks_per_s: Math.round((latencies.length * 1000) / elapsed),
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    max_ms: Math.max(...latencies),
    errors,
  };
}
