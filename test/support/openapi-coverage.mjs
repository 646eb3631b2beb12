import { readFileSync } from "node:fs";

/**
 * A vitest reporter: at the end of the run, how much of docs/openapi.json the suite received
 * (test/support/openapi.ts records each documented response a test got) and what it never did.
 */
export default class OpenApiCoverage {
  #received = new Set();
  #modules = 0;

  onTestModuleEnd(module) {
    this.#modules++;
    for (const entry of module.meta().openApiReceived ?? []) this.#received.add(entry);
  }

  onTestRunEnd() {
    // A run of a few files says nothing about the suite's coverage.
    if (this.#received.size === 0) return;
    const doc = JSON.parse(readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8"));
    const documented = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        for (const status of Object.keys(operation.responses)) documented.push(`${method.toUpperCase()} ${path} ${status}`);
      }
    }
    const operationOf = (response) => response.split(" ").slice(0, 2).join(" ");
    const operations = new Set(documented.map(operationOf));
    const coveredOperations = new Set([...this.#received].filter((r) => documented.includes(r)).map(operationOf));
    const missing = documented.filter((response) => !this.#received.has(response));
    // A status every operation documents and none received (500, the answer to an unhandled error) is said once.
    const statusOf = (response) => response.split(" ")[2];
    const nowhere = [...new Set(missing.map(statusOf))].filter((status) =>
      [...operations].every((operation) => missing.includes(`${operation} ${status}`)),
    );
    const missingByOperation = new Map();
    for (const response of missing) {
      if (nowhere.includes(statusOf(response))) continue;
      const operation = operationOf(response);
      missingByOperation.set(operation, [...(missingByOperation.get(operation) ?? []), statusOf(response)]);
    }
    const lines = [
      `OpenAPI coverage (${this.#modules} test files): ${coveredOperations.size}/${operations.size} operations, ` +
        `${documented.length - missing.length}/${documented.length} documented responses received`,
      ...nowhere.map((status) => `  every operation documents ${status}, none received it`),
      `  not received:${missingByOperation.size === 0 ? " none" : ""}`,
      ...[...missingByOperation].map(
        ([operation, statuses]) =>
          `    ${operation} ${statuses.join(", ")}${coveredOperations.has(operation) ? "" : " (operation never called)"}`,
      ),
    ];
    console.log(`\n${lines.join("\n")}`);
  }
}
