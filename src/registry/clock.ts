/**
 * The registry's clock. Symbol-keyed, so it is not part of the RPC surface (only string-named
 * methods cross RPC); tests reach it inside the object with `runInDurableObject` and set it to
 * walk a session past its grace window, idle timeout or expiry without sleeping.
 */
export const CLOCK = Symbol("registry clock");

export type Clock = () => number;

/** Reads the global clock at call time (never a captured `Date.now`), so any clock the runtime gives is used. */
export const systemClock: Clock = () => Date.now();
