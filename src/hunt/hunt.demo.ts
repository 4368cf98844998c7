/**
 * The demo hunt of `gauntlet seed --demo`: ten small puzzles tied together by
 * a story, loaded twice, under the default preset (the default event, already
 * running so someone can play at once) and under enigma7. Idempotent.
 */
import type { Services } from "../services.ts";

const DAY = 86_400_000;

export const DEMO_PUZZLES: Array<{ title: string; story: string; body: string; answers: string[]; closeAnswers?: string[]; hints: string[] }> = [
  { title: "The Lighthouse", story: "A storm has knocked out the lighthouse on Gauntlet Point. The keeper left a note.", body: "I have a face and two hands, but no arms or legs. What am I?", answers: ["clock", "a clock"], closeAnswers: ["watch"], hints: ["It tells you something every minute.", "Tick, tock."] },
  { title: "The Keeper's Ledger", story: "Inside, the keeper's ledger is written in a simple shift.", body: "Decode (Caesar, shift 3): **ODPS**", answers: ["lamp"], hints: ["Shift each letter back by three.", "O → L"] },
  { title: "Stairs", story: "The spiral stairs count up to the lamp room.", body: "1, 1, 2, 3, 5, 8, 13, … What comes next?", answers: ["21", "twenty-one"], hints: ["Add the two before.", "Fibonacci."] },
  { title: "The Lamp Room", story: "The great lens is dark. A plaque names its maker.", body: "The French physicist who gave lighthouses their stepped lens (surname).", answers: ["fresnel"], closeAnswers: ["fresnell"], hints: ["Augustin-Jean …", "It starts with F."] },
  { title: "Morse from the Sea", story: "A ship blinks at you through the rain.", body: "`... --- ...`", answers: ["sos"], hints: ["Three short, three long, three short.", "International distress signal."] },
  { title: "The Tide Table", story: "The keeper's tide table has one entry circled.", body: "The Moon pulls the oceans. Write the chemical formula of what it pulls.", answers: ["h2o"], hints: ["Two hydrogens.", "And one oxygen."] },
  { title: "Foghorn", story: "The foghorn's dial is locked by a word.", body: "Anagram: **SILENT**, but it is what you do to a foghorn.", answers: ["listen"], closeAnswers: ["enlist", "tinsel"], hints: ["Use your ears.", "L…"] },
  { title: "The Chart", story: "An old chart shows where the keeper went.", body: "Latitude 0°. What line is this?", answers: ["equator", "the equator"], hints: ["It divides north from south.", "E…"] },
  { title: "The Bottle", story: "A message in a bottle washes up, signed with a single letter repeated.", body: "What has keys but opens no locks?", answers: ["piano", "a piano", "keyboard"], hints: ["It makes music.", "88 of them."] },
  { title: "Relight", story: "You have everything. Say the word and the light returns.", body: "Opposite of dark.", answers: ["light"], closeAnswers: ["bright"], hints: ["It is in the title of this place.", "L…"] },
];

export async function seedDemoHunt(s: Services): Promise<string[]> {
  const created: string[] = [];
  const now = s.clock.now();
  const defs = [
    { slug: "demo-hunt", title: "Demo hunt: the Lighthouse", preset: "default" as const, isDefault: true },
    { slug: "demo-enigma7", title: "Demo hunt: the Lighthouse (Enigma 7 rules)", preset: "enigma7" as const, isDefault: false },
  ];
  for (const d of defs) {
    if (s.events.store.eventBySlug(d.slug)) continue;
    // Already running, so a person can play the moment the seed finishes.
    await s.events.create({ ...d, description: "Ten puzzles to try Gauntlet with.", startsAt: now - 60_000, endsAt: now + 14 * DAY, registration: "open" });
    for (const p of DEMO_PUZZLES) {
      await s.events.addPuzzle(d.slug, { title: p.title, story: p.story, body: p.body, answers: p.answers, closeAnswers: p.closeAnswers ?? [], hints: p.hints.map((text) => ({ text })) });
    }
    created.push(`event ${d.slug}`);
  }
  return created;
}
