/**
 * Demo data: a few accounts now; the hunt and arena issues add a demo hunt
 * and problems here. Idempotent: running it twice changes nothing.
 */
import type { Services } from "../services.ts";
import { seedDemoHunt } from "../hunt/hunt.demo.ts";
import { seedDemoProblems } from "../arena/arena.demo.ts";

export const DEMO_PASSWORD = "gauntlet-demo-pass";
export const DEMO_ORGANISER = { username: "organiser", password: "gauntlet-demo-organiser" };
export const DEMO_PLAYERS = ["alice", "bob", "carol", "dave"];

export async function seedDemo(s: Services): Promise<{ created: string[] }> {
  const created: string[] = [];
  const ensure = async (username: string, password: string, role: "player" | "organiser") => {
    if (s.auth.store.findByKey(username)) return;
    await s.auth.createUser({ username, password, role });
    created.push(username);
  };
  await ensure(DEMO_ORGANISER.username, DEMO_ORGANISER.password, "organiser");
  for (const p of DEMO_PLAYERS) await ensure(p, DEMO_PASSWORD, "player");
  created.push(...(await seedDemoHunt(s)));
  created.push(...(await seedDemoProblems(s.arena.problems)));
  return { created };
}
