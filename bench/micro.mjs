// The micro-benchmarks: every variant measured inside one workerd process, in interleaved rounds.
import { percentile, round } from "./stats.mjs";

/** The variants, in the order the table lists them. `key` names the operation in worker/variants.ts. */
export const VARIANTS = [
  { key: "stateless", label: "(1) stateless: verify only" },
  { key: "consumer_stateless", label: "(1b) consumer stateless: verifyLocally (JWKS)" },
  { key: "floor", label: "(2) floor: verify + no-op DO RPC" },
  { key: "strict", label: "(3) strict: verify + registry sessionCheck(sid)" },
  { key: "strict_rpc", label: "(3b) consumer strict: SessionService.verify over RPC" },
  { key: "dpop_strict", label: "(3d) strict, DPoP-bound: proof checks + registry key, jti, liveness" },
  { key: "cached", label: "(4) consumer cached: verifyLocally + LivenessCache (5 s)" },
  { key: "d1", label: "(5) per-request D1: verify + SELECT sessions" },
  { key: "better_auth", label: "(6) Better Auth getSession (D1, no cookie cache)" },
  { key: "refresh", label: "(7) refresh: tag + DO rotation + sign" },
  { key: "dpop_refresh", label: "(7d) refresh, DPoP-bound: + proof checks, key and jti in the DO" },
  { key: "signin", label: "(8) sign-in: login route (limits, D1 user, PBKDF2, signIn, sign)" },
  { key: "pbkdf2", label: "    bare PBKDF2-SHA256, 100,000 iterations" },
  { key: "users_by_email", label: "    sign-in part: D1 user lookup by email" },
  { key: "create_session", label: "    sign-in part: registry signIn (+ D1 mirror)" },
  { key: "mirror_write", label: "    of which: the D1 mirror upsert alone" },
  { key: "strict_s10", label: "strict, user with 10 live sessions" },
  { key: "strict_s100", label: "strict, user with 100 live sessions" },
  { key: "list_s1", label: "list sessions, 1 live session" },
  { key: "list_s10", label: "list sessions, 10 live sessions" },
  { key: "list_s100", label: "list sessions, 100 live sessions" },
];

/**
 * Every batch runs for `targetMs` (time-bounded, so no calibration is needed): the worker's clock
 * ticks in whole milliseconds, so a 30 ms batch carries at most ~3% quantisation error, with no
 * sign preference. One warm-up round first, so cold objects and first-query costs are not counted.
 */
export async function runMicro(post, state, { rounds, targetMs, log }) {
  await post("/round", { state, batches: VARIANTS.map(({ key }) => ({ name: key, ms: 1 })) });
  const samples = Object.fromEntries(VARIANTS.map(({ key }) => [key, []]));
  const totals = Object.fromEntries(VARIANTS.map(({ key }) => [key, { ops: 0, ms: 0 }]));
  for (let r = 0; r < rounds; r++) {
    // Round-robin with a rotating start, so no variant always runs first or after the same neighbour.
    const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length].key);
    const results = await post("/round", { state, batches: order.map((name) => ({ name, ms: targetMs })) });
    if (results.reduce((sum, x) => sum + x.ms, 0) === 0) throw new Error("the worker's clock did not advance: batch timing is impossible");
    for (const { name, n, ms } of results) {
      samples[name].push((ms * 1000) / n);
      totals[name].ops += n;
      totals[name].ms += ms;
    }
    if ((r + 1) % 10 === 0) log(`round ${r + 1}/${rounds}`);
  }

  // The same ratios taken round by round (both batches of a pair ran within one round, a second or
  // so apart), then the median: a check on the ratio of p50s that slow drifts in load cannot move.
  const pairedMedian = (a, b) =>
    percentile(
      samples[a].map((x, i) => x / samples[b][i]),
      50,
    );
  const pairedRatios = {
    strict_over_floor: round(pairedMedian("strict", "floor"), 3),
    strict_over_d1_per_request: round(pairedMedian("strict", "d1"), 3),
    strict_over_better_auth: round(pairedMedian("strict", "better_auth"), 3),
    cached_over_stateless: round(pairedMedian("cached", "stateless"), 3),
    signin_over_pbkdf2: round(pairedMedian("signin", "pbkdf2"), 3),
    dpop_strict_over_strict: round(pairedMedian("dpop_strict", "strict"), 3),
    dpop_refresh_over_refresh: round(pairedMedian("dpop_refresh", "refresh"), 3),
  };

  const variants = {};
  for (const { key, label } of VARIANTS) {
    variants[key] = {
      label,
      ops_per_batch: round(totals[key].ops / samples[key].length),
      batches: samples[key].length,
      p50_us: round(percentile(samples[key], 50)),
      p99_us: round(percentile(samples[key], 99)),
      ops_per_s: round((totals[key].ops * 1000) / totals[key].ms, 0),
    };
  }
  return { variants, pairedRatios };
}
