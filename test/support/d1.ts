import { env } from "cloudflare:workers";
import { vi } from "vitest";

/**
 * D1 that fails where an outage or a constraint really fails it: at execution, not at `prepare()`.
 * The error quotes the SQL and every bound value, as drizzle's `DrizzleQueryError` ("Failed query:
 * …\nparams: …") and D1's own messages can, so a log line that carries an error's message, or a
 * line of its stack, carries the email or password hash it was bound with.
 */
export interface ExecutionFault {
  /** The messages of every error thrown, so a test can check they held what must not be logged. */
  thrown: string[];
}

/** Which statements fail: by their SQL, lower-cased. */
export type StatementFilter = (sql: string) => boolean;

const MARKER = "INJECTED-D1-FAULT";
/** Appears in every injected error's message, and so in any log line that copies one. */
export const INJECTED_FAULT_MARKER = MARKER;

function failure(fault: ExecutionFault, statements: { sql: string; values: unknown[] }[]): Promise<never> {
  const message = statements.map(({ sql, values }) => `D1_ERROR: ${MARKER}\nFailed query: ${sql}\nparams: ${values.join(",")}`).join("\n");
  fault.thrown.push(message);
  return Promise.reject(new Error(message));
}

/** Wraps a real statement: binding works, running fails when the filter says so. */
class FailingStatement {
  constructor(
    readonly real: D1PreparedStatement,
    readonly sql: string,
    readonly values: unknown[],
    readonly fails: boolean,
    readonly fault: ExecutionFault,
  ) {}
  bind(...values: unknown[]) {
    return new FailingStatement(this.real.bind(...values), this.sql, values, this.fails, this.fault);
  }
  first(column?: string) {
    return this.fails ? failure(this.fault, [this]) : column === undefined ? this.real.first() : this.real.first(column);
  }
  run() {
    return this.fails ? failure(this.fault, [this]) : this.real.run();
  }
  all() {
    return this.fails ? failure(this.fault, [this]) : this.real.all();
  }
  raw(options?: { columnNames?: boolean }) {
    return this.fails ? failure(this.fault, [this]) : this.real.raw(options as { columnNames: true });
  }
}

function failingPrepare(prepare: (sql: string) => D1PreparedStatement, when: StatementFilter, fault: ExecutionFault) {
  return (sql: string) => new FailingStatement(prepare(sql), sql, [], when(sql.toLowerCase()), fault) as unknown as D1PreparedStatement;
}

function failingBatch(batch: D1Database["batch"], fault: ExecutionFault) {
  return (statements: D1PreparedStatement[]) => {
    const wrapped = statements as unknown as FailingStatement[];
    if (wrapped.some((statement) => statement instanceof FailingStatement && statement.fails)) return failure(fault, wrapped);
    return batch(wrapped.map((statement) => (statement instanceof FailingStatement ? statement.real : (statement as never))));
  };
}

/**
 * The Worker's D1 (`c.env.DB` is this very `env.DB` in the pool) fails matching statements at
 * execution; undone by `vi.restoreAllMocks()`.
 */
export function failWorkerD1AtExecution(when: StatementFilter = () => true): ExecutionFault {
  const fault: ExecutionFault = { thrown: [] };
  const prepare = env.DB.prepare.bind(env.DB);
  const batch = env.DB.batch.bind(env.DB);
  vi.spyOn(env.DB, "prepare").mockImplementation(failingPrepare(prepare, when, fault));
  vi.spyOn(env.DB, "batch").mockImplementation(failingBatch(batch, fault) as D1Database["batch"]);
  return fault;
}

/** A D1 binding for one registry (`swapRegistryEnv(userId, { DB })`) whose matching statements fail at execution. */
export function executionFailingD1(fault: ExecutionFault, when: StatementFilter = () => true): D1Database {
  const prepare = env.DB.prepare.bind(env.DB);
  const batch = env.DB.batch.bind(env.DB);
  return { prepare: failingPrepare(prepare, when, fault), batch: failingBatch(batch, fault) } as unknown as D1Database;
}
