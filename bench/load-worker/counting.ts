import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Counters for the load test's entry (index.ts): every D1 statement and every statement on a
 * registry's SQLite, attributed to the scope that ran it, a request kind in the Worker
 * ("GET /v1/me") or a registry method ("registry.refresh", "registry.alarm"). Module state: under
 * `wrangler dev` the Worker and its Durable Objects share one isolate, so one set of counters sees
 * both sides. An AsyncLocalStorage carries the scope across awaits, so interleaved calls in one
 * object are told apart.
 */
export interface Tally {
  /** Requests (Worker scopes) or calls (registry scopes) seen. */
  calls: number;
  d1Statements: number;
  d1Writes: number;
  sqlStatements: number;
  sqlWrites: number;
  sqlRowsWritten: number;
}

const scope = new AsyncLocalStorage<string>();
let tallies = new Map<string, Tally>();

export function tally(name: string): Tally {
  let t = tallies.get(name);
  if (!t) tallies.set(name, (t = { calls: 0, d1Statements: 0, d1Writes: 0, sqlStatements: 0, sqlWrites: 0, sqlRowsWritten: 0 }));
  return t;
}

/**
 * What runs outside every scope: a registry starting up (its constructor's schema check and load,
 * which workerd runs before the first call it serves). The Worker's side is always in a scope.
 */
export const OBJECT_START = "registry.(object start)";
const current = () => tally(scope.getStore() ?? OBJECT_START);

export const currentScope = (): string | undefined => scope.getStore();

export function inScope<R>(name: string, run: () => R): R {
  tally(name).calls++;
  return scope.run(name, run);
}

export function snapshot(): Record<string, Tally> {
  return Object.fromEntries(tallies);
}

export function reset(): void {
  tallies = new Map();
}

const WRITE = /^\s*(insert|update|delete|replace|create|drop|alter)\b/i;
const isWrite = (sql: string) => WRITE.test(sql);

/** Binds a native object's methods to it, so a Proxy can stand in for it (workerd checks `this`). */
function bound(target: object, prop: string | symbol): unknown {
  const value = Reflect.get(target, prop, target);
  return typeof value === "function" ? value.bind(target) : value;
}

/** Each counted statement's native statement and SQL: a batch must be given the native ones. */
const unwrapped = new WeakMap<object, { statement: D1PreparedStatement; sql: string }>();

function countedStatement(statement: D1PreparedStatement, sql: string): D1PreparedStatement {
  const proxy = new Proxy(statement, {
    get(target, prop) {
      if (prop === "bind") return (...values: unknown[]) => countedStatement(target.bind(...values), sql);
      if (prop === "first" || prop === "run" || prop === "all" || prop === "raw") {
        return (...args: unknown[]) => {
          const t = current();
          t.d1Statements++;
          if (isWrite(sql)) t.d1Writes++;
          return (target[prop] as (...a: unknown[]) => unknown)(...args);
        };
      }
      return bound(target, prop);
    },
  });
  unwrapped.set(proxy, { statement, sql });
  return proxy;
}

/** The D1 binding with every statement counted (a batch counts each of its statements). */
export function countedD1(db: D1Database): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => countedStatement(target.prepare(sql), sql);
      if (prop === "batch")
        return (statements: D1PreparedStatement[]) => {
          const t = current();
          t.d1Statements += statements.length;
          t.d1Writes += statements.filter((s) => isWrite(unwrapped.get(s)?.sql ?? "")).length;
          return target.batch(statements.map((s) => unwrapped.get(s)?.statement ?? s));
        };
      return bound(target, prop);
    },
  });
}

/**
 * Counts the statements, writes and rows written of a Durable Object's SQLite. Patched on the
 * object's own SqlStorage (workerd will not take a stand-in for its state), which the state hands
 * out as one object: checked, or the counts would silently miss what the object does.
 */
export function countSql(ctx: DurableObjectState): void {
  const sql = ctx.storage.sql;
  if (ctx.storage.sql !== sql) throw new Error("ctx.storage.sql is not one object: its statements cannot be counted");
  const exec = sql.exec.bind(sql);
  Object.defineProperty(sql, "exec", {
    value: (query: string, ...bindings: unknown[]) => {
      const cursor = exec(query, ...bindings);
      const t = current();
      t.sqlStatements++;
      if (isWrite(query)) {
        t.sqlWrites++;
        // A write without RETURNING has run by the time exec returns.
        t.sqlRowsWritten += cursor.rowsWritten;
      }
      return cursor;
    },
  });
}
