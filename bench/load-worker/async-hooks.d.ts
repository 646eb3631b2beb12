// workerd's node:async_hooks (nodejs_compat), as far as counting.ts uses it; the project carries no
// @types/node, and this is the only Node module the bench's Workers import.
declare module "node:async_hooks" {
  export class AsyncLocalStorage<T> {
    getStore(): T | undefined;
    run<R>(store: T, callback: () => R): R;
  }
}
