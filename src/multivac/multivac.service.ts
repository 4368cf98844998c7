/**
 * MultiVAC, the asynchronous pipeline of the SRE challenge as a live health
 * check of API → durable queue → worker → store: a datum posted is enqueued
 * (a durable job, so it survives a kill -9 between the answer and the
 * processing), a worker processes it, and the answer becomes the first datum
 * ever processed.
 */
import type { QueueService } from "../queue/queue.service.ts";
import type { Deps } from "../lib/context.ts";
import { AppError } from "../lib/errors.ts";
import { multivacStore } from "./multivac.store.ts";

export const MULTIVAC_JOB = "multivac.process";
export const INSUFFICIENT = "INSUFFICIENT DATA FOR MEANINGFUL ANSWER.";
export const MAX_DATUM = 10_000;
export const MAX_SLEEP_MS = 10_000;

export function multivacService(deps: Deps & { queue: QueueService }) {
  const { db, queue } = deps;
  const store = multivacStore(db);
  return {
    /** Enqueues the datum; resolves once the job is durably committed. */
    async submit(datum: string): Promise<number> {
      if (datum.length === 0) throw new AppError("validation_failed", "data: must not be empty");
      if (datum.length > MAX_DATUM) throw new AppError("validation_failed", `data: at most ${MAX_DATUM} characters`);
      return queue.add(MULTIVAC_JOB, { data: datum });
    },
    answer(): string {
      return store.first() ?? INSUFFICIENT;
    },
    processed: () => store.processed(),
    /** The job handler; idempotent (a second run of the same datum changes only the counter). */
    async process(payload: { data?: unknown }) {
      if (typeof payload?.data !== "string") throw new AppError("bad_request", "job payload has no data");
      const datum = payload.data;
      await db.write(() => store.recordProcessed(datum));
      return { processed: true };
    },
  };
}

export type MultivacService = ReturnType<typeof multivacService>;

/** Registers the worker side; call once per process, like the other domains' jobs. */
export function registerMultivacJobs(s: { queue: QueueService; multivac: MultivacService }) {
  s.queue.register(MULTIVAC_JOB, (job) => s.multivac.process(job.payload), { concurrency: 4 });
}
