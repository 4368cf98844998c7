/** Organiser API over the job queue: list, inspect, counts, retry, cancel. */
import { z } from "zod";
import { JOB_STATUSES } from "../db/schema/index.ts";
import { AppError } from "../lib/errors.ts";
import { route } from "../lib/route.ts";
import type { Services } from "../services.ts";

// Query values arrive as strings; only plain decimal digits are numbers here
// (no "1e3", " 5", "0x10"), so a bad filter is a 400, never a silent default.
const int = (max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, "expected a whole number")
    .transform(Number)
    .pipe(z.number().int().min(0).max(max));

const IdParams = z.strictObject({ id: z.string().regex(/^[1-9]\d{0,15}$/, "expected a job id").transform(Number) });

export function queueRoutes(s: Services) {
  const mustGet = (id: number) => {
    const job = s.queue.get(id);
    if (!job) throw new AppError("not_found", `No job ${id}.`);
    return job;
  };
  return [
    // Before /jobs/:id so "counts" is never read as an id.
    route({
      method: "get",
      path: "/api/v1/admin/jobs/counts",
      auth: "organiser",
      summary: "Job counts per status, and per kind and status",
      tags: ["queue"],
      handler: () => s.queue.counts(),
    }),
    route({
      method: "get",
      path: "/api/v1/admin/jobs",
      auth: "organiser",
      summary: "List jobs, newest first (payloads and results only in the detail view)",
      tags: ["queue"],
      query: z.strictObject({
        status: z.enum(JOB_STATUSES).optional(),
        kind: z.string().min(1).max(200).optional(),
        limit: int(500).pipe(z.number().min(1)).optional(),
        offset: int(1_000_000_000).optional(),
      }),
      handler: (_c, { query }) => {
        const limit = query.limit ?? 50;
        const offset = query.offset ?? 0;
        return { ...s.queue.list({ status: query.status, kind: query.kind, limit, offset }), limit, offset };
      },
    }),
    route({
      method: "get",
      path: "/api/v1/admin/jobs/:id",
      auth: "organiser",
      summary: "One job with its payload, result and error",
      tags: ["queue"],
      params: IdParams,
      handler: (_c, { params }) => ({ job: mustGet(params.id) }),
    }),
    route({
      method: "post",
      path: "/api/v1/admin/jobs/:id/retry",
      auth: "organiser",
      summary: "Run a FAILED, DEAD or CANCELLED job again (a QUEUED one is made due now); 409 while RUNNING",
      tags: ["queue"],
      params: IdParams,
      handler: async (_c, { params }) => ({ job: await s.queue.retry(params.id) }),
    }),
    route({
      method: "post",
      path: "/api/v1/admin/jobs/:id/cancel",
      auth: "organiser",
      summary: "Cancel a QUEUED job, or ask a RUNNING one to stop; 409 once finished",
      tags: ["queue"],
      params: IdParams,
      handler: async (_c, { params }) => ({ job: await s.queue.cancel(params.id) }),
    }),
  ];
}
