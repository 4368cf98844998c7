/**
 * Test fixture: an app with one event of N puzzles whose secrets are
 * distinctive strings, so a test can search every player response for them.
 */
import { T0, testApp } from "../testing.ts";

export const HOUR = 3_600_000;
export const MIN = 60_000;

export const answerOf = (i: number) => `Quokka${i}Zebra`;
export const closeOf = (i: number) => `nearmiss${i}wombat`;
export const hintOf = (i: number, j: number) => `hinttext-${i}-${j}-platypus`;
export const titleOf = (i: number) => `Puzzle title ${i} kangaroo`;
export const bodyOf = (i: number) => `Body of puzzle ${i} echidna`;
export const storyOf = (i: number) => `Story block ${i} dingo`;

export interface HuntFixtureOpts {
  preset?: "default" | "enigma7";
  settings?: Record<string, unknown>;
  puzzles?: number;
  hints?: number;
  /** Start offset from T0 (default 1 h, so "not started" is testable). */
  startIn?: number;
  duration?: number;
  freezeAt?: number | null;
  overrides?: Record<string, string>;
}

export async function huntFixture(opts: HuntFixtureOpts = {}) {
  const t = await testApp(opts.overrides);
  const org = await t.organiser();
  const startsAt = T0 + (opts.startIn ?? HOUR);
  const endsAt = startsAt + (opts.duration ?? 48 * HOUR);
  const ev = await org.json("POST", "/api/v1/events", {
    slug: "hunt",
    title: "Test hunt",
    startsAt,
    endsAt,
    freezeAt: opts.freezeAt ?? null,
    preset: opts.preset ?? "default",
    settings: opts.settings ?? {},
    isDefault: true,
  });
  if (ev.status !== 201) throw new Error(`create event: ${ev.status} ${JSON.stringify(ev.body)}`);
  const puzzleIds: number[] = [];
  for (let i = 1; i <= (opts.puzzles ?? 3); i++) {
    const r = await org.json("POST", "/api/v1/events/hunt/puzzles", {
      title: titleOf(i),
      body: bodyOf(i),
      story: storyOf(i),
      answers: [answerOf(i)],
      closeAnswers: [closeOf(i)],
      hints: Array.from({ length: opts.hints ?? 2 }, (_, j) => ({ text: hintOf(i, j), costPoints: 10 * (j + 1) })),
    });
    if (r.status !== 201) throw new Error(`add puzzle: ${r.status} ${JSON.stringify(r.body)}`);
    puzzleIds.push(r.body.puzzle.id);
  }
  let ipn = 0;
  /** A player on its own IP (so per-IP limits do not couple tests). */
  const player = (name?: string) => t.player(name, `10.1.${Math.floor(++ipn / 250)}.${ipn % 250}`);
  const secrets = (n = opts.puzzles ?? 3) => {
    const out: string[] = [];
    for (let i = 1; i <= n; i++) out.push(answerOf(i), answerOf(i).toLowerCase(), closeOf(i));
    return out;
  };
  const playerAt = (name: string, ip: string) => t.player(name, ip);
  return { ...t, playerAt, org, eventId: ev.body.event.id as number, startsAt, endsAt, puzzleIds, player, secrets, start: () => t.s.clock.advance(startsAt - t.s.clock.now()) };
}

export type HuntFixture = Awaited<ReturnType<typeof huntFixture>>;
