// Every table of the SQLite store. drizzle-kit reads this file to generate
// migrations (npm run db:generate); add each domain's schema file here.
export * from "./auth.ts";
export * from "./hunt.ts";
export * from "./analytics.ts";
export * from "./arena.ts";
export * from "./realtime.ts";
export * from "./queue.ts";
