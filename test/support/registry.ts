import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { CLOCK, type Clock } from "../../src/registry/clock";
import type { SessionRegistry } from "../../src/registry/session-registry";

/**
 * Seams into a user's registry, reached inside the object with `runInDurableObject`: never over
 * RPC, so nothing here is part of the registry's surface.
 */

/** The registry stub of a user, as the Worker addresses it. */
export const registry = (userId: string) => env.SESSION_REGISTRY.get(env.SESSION_REGISTRY.idFromName(userId));

/**
 * Replaces part of the registry's `env` for this user only. The registry reads its config and its
 * D1 binding from `this.env` at call time, and config is parsed once per env object, so a swap
 * changes policy (or breaks D1) for this user's object and nothing else. `null` restores it.
 */
export async function swapRegistryEnv(userId: string, patch: Partial<Env> | null): Promise<void> {
  await runInDurableObject(registry(userId), (instance: SessionRegistry) => {
    const self = instance as unknown as { env: Env };
    self.env = patch === null ? env : { ...self.env, ...patch };
  });
}

/** Per-user configuration: vars as wrangler would pass them (strings). */
export function configure(userId: string, vars: Record<string, string>): Promise<void> {
  return swapRegistryEnv(userId, vars as Partial<Env>);
}

/** A D1 binding whose every method throws, as an outage looks from the caller. */
export function failingD1(error: () => Error = () => new Error("D1 is down (injected)")): D1Database {
  return new Proxy(env.DB, {
    get: () => () => {
      throw error();
    },
  });
}

/**
 * Holds one user's registry's D1 batches (its outbox's mirror writes) until `release()`: D1 that
 * is slow, not down. `reached()` resolves once a batch has arrived and is held. The hold is made
 * inside the object, since a promise made here could not be awaited there. With `landed`, the
 * batch is written first and its answer held: D1 has it, the registry does not know yet.
 */
export async function holdRegistryD1(
  userId: string,
  { landed = false }: { landed?: boolean } = {},
): Promise<{ reached(): Promise<void>; release(): Promise<void> }> {
  type Held = { env: Env; heldD1?: { arrived: boolean; release(): void } };
  await runInDurableObject(registry(userId), (instance: SessionRegistry) => {
    const self = instance as unknown as Held;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const hold = { arrived: false, release };
    self.heldD1 = hold;
    const held = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "batch")
          return async (statements: D1PreparedStatement[]) => {
            const written = landed ? await target.batch(statements) : null;
            hold.arrived = true;
            await released;
            return written ?? target.batch(statements);
          };
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    self.env = { ...self.env, DB: held };
  });
  const inside = <T>(read: (hold: NonNullable<Held["heldD1"]>) => T) =>
    runInDurableObject(registry(userId), (instance: SessionRegistry) => read((instance as unknown as Held).heldD1!));
  return {
    reached: () => vi.waitFor(async () => expect(await inside((hold) => hold.arrived)).toBe(true)),
    release: () => inside((hold) => hold.release()),
  };
}

/**
 * Crashes one user's registry as a dead process would (`ctx.abort()`): what it committed stays,
 * its memory and every call in flight are lost, and the next call constructs it anew.
 */
export async function crashRegistry(userId: string): Promise<void> {
  await runInDurableObject(registry(userId), (_instance, state) => state.abort("crash (injected)")).catch(() => undefined);
}

/** When the registry's alarm is set for (null if none): read inside the object, which starts it if it had stopped. */
export function registryAlarmAt(userId: string): Promise<number | null> {
  return runInDurableObject(registry(userId), (_instance, state) => state.storage.getAlarm());
}

/** Breaks (or, with `down: false`, restores) D1 for one user's registry: its outbox, not the Worker. */
export function setRegistryD1(userId: string, down: boolean, error?: () => Error): Promise<void> {
  return down ? swapRegistryEnv(userId, { DB: failingD1(error) }) : swapRegistryEnv(userId, { DB: env.DB });
}

/** Sets the registry's clock (see src/registry/clock.ts); `null` gives it the system clock back. */
export async function setRegistryClock(userId: string, clock: Clock | null): Promise<void> {
  await runInDurableObject(registry(userId), (instance: SessionRegistry) => {
    instance[CLOCK] = clock ?? (() => Date.now());
  });
}

/**
 * A registry clock that stands still at the moment it was set plus `offsetMs` (0 at first), and
 * moves only when the test says. The Worker keeps real time, so access tokens stay inside their
 * lifetime while the registry walks a session past its idle deadline; and a still clock makes
 * every deadline exact, however long the test's requests take.
 */
export async function movableRegistryClock(userId: string): Promise<{ moveTo(offsetMs: number): void }> {
  const base = Date.now();
  let offset = 0;
  await setRegistryClock(userId, () => base + offset);
  return {
    moveTo(offsetMs: number) {
      offset = offsetMs;
    },
  };
}

/** Rows of the registry's own SQLite, for tests that check what it stored. */
export function registrySql<T extends Record<string, SqlStorageValue>>(
  userId: string,
  query: string,
  ...bindings: unknown[]
): Promise<T[]> {
  return runInDurableObject(registry(userId), (_instance, state) => state.storage.sql.exec<T>(query, ...bindings).toArray());
}

/**
 * Waits until the user's sign-ins have been confirmed and everything the registry holds for D1 is
 * there: a sign-in's D1 write follows its confirmation (`signInAnswered`, which the Worker sends
 * through `waitUntil` once the answer has left, so a test's fetch can return first).
 */
export async function registrySettled(userId: string): Promise<void> {
  await vi.waitFor(async () => {
    const [row] = await registrySql<{ waiting: number }>(
      userId,
      "SELECT COUNT(*) AS waiting FROM sessions WHERE (confirmed_at IS NULL AND revoked_at IS NULL) OR version > mirrored_version",
    );
    expect(row!.waiting).toBe(0);
  });
}

/**
 * Seam: every registry call goes through `env.SESSION_REGISTRY.get(id)` (registryFor). The stub it
 * returns here fails the named methods (all of them when none are named) and passes the rest to
 * the real Durable Object; it replaces the RPC hop, the production handling of its failure runs.
 */
export function breakRegistry(fault: () => Error, methods?: string[]) {
  const namespace = env.SESSION_REGISTRY;
  const get = namespace.get.bind(namespace);
  return vi.spyOn(namespace, "get").mockImplementation((id) => {
    const real = get(id) as unknown as Record<string | symbol, (...args: unknown[]) => unknown>;
    return new Proxy(real, {
      get(target, property) {
        if (typeof property === "string" && (!methods || methods.includes(property))) return () => Promise.reject(fault());
        const value = target[property];
        // Reflect.apply, not value.bind: on an RPC stub, `.bind` would itself be sent as a remote call.
        return typeof value === "function" ? (...args: unknown[]) => Reflect.apply(value, target, args) : value;
      },
    }) as never;
  });
}
