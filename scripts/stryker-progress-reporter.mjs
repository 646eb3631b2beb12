// A Stryker reporter that appends each mutant's result to reports/mutation/<group>.jsonl as soon
// as it is known: a run stopped part-way (they take hours on a small machine) still leaves the
// results of every mutant it tested, which scripts/mutation.mjs can summarise.
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { declareClassPlugin, PluginKind } from "@stryker-mutator/api/plugin";

class ProgressReporter {
  #file = `reports/mutation/${process.env.MUTATION_GROUP}.jsonl`;

  onMutationTestingPlanReady() {
    mkdirSync("reports/mutation", { recursive: true });
    writeFileSync(this.#file, "");
  }

  onMutantTested(result) {
    const { id, fileName, mutatorName, replacement, location, status, statusReason, killedBy, coveredBy } = result;
    const line = { id, fileName, mutatorName, replacement, location, status, statusReason, killedBy, coveredBy };
    appendFileSync(this.#file, `${JSON.stringify(line)}\n`);
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.Reporter, "progress-jsonl", ProgressReporter)];
