// better-queue's in-memory store (a dependency of better-queue, without types).
declare module "better-queue-memory" {
  import type BetterQueue from "better-queue";
  const MemoryStore: new () => BetterQueue.Store<any>;
  export default MemoryStore;
}
