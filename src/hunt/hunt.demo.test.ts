import { expect, test } from "bun:test";
import { seedDemo } from "../demo/seed.ts";
import { testApp } from "../testing.ts";
import { DEMO_PUZZLES } from "./hunt.demo.ts";

test("seed --demo loads a playable hunt under both presets, once", async () => {
  const t = await testApp();
  try {
    await seedDemo(t.s);
    const again = await seedDemo(t.s);
    expect(again.created).toEqual([]);
    const list = (await t.client().json("GET", "/api/v1/events")).body.events;
    expect(list.map((e: { slug: string; preset: string; isDefault: boolean }) => [e.slug, e.preset, e.isDefault])).toEqual([
      ["demo-hunt", "default", true],
      ["demo-enigma7", "enigma7", false],
    ]);
    const p = await t.player("tester");
    for (const slug of ["demo-hunt", "demo-enigma7"]) {
      const cur = await p.json("GET", `/api/v1/events/${slug}/hunt/current`);
      expect(cur.body.status).toBe("playing");
      expect(cur.body.progress.total).toBe(10);
      expect(cur.body.puzzle.story).toBe(DEMO_PUZZLES[0].story);
      const r = await p.json("POST", `/api/v1/events/${slug}/hunt/answer`, { answer: DEMO_PUZZLES[0].answers[0] });
      expect(r.body.outcome).toBe("correct");
    }
  } finally {
    t.cleanup();
  }
}, 30_000);
