/**
 * Every setting of hunt-rules.md with its default, the two presets, and the
 * per-puzzle overrides. An event stores only what the organiser set; the
 * effective settings are defaults ⊕ preset ⊕ event overrides (⊕ puzzle
 * overrides for scoring).
 */
import { z } from "zod";

export const NormalizeMode = z.enum(["full", "lower", "exact"]);
export type NormalizeMode = z.infer<typeof NormalizeMode>;

const Tier = z.strictObject({ upTo: z.number().int().min(1).optional(), points: z.number().int().min(0).max(1_000_000) });
export type Tier = z.infer<typeof Tier>;

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** The scoring settings a puzzle may override; an event sets them too (one list, one set of bounds). */
const scoringFields = {
  scoring: z.enum(["time", "order"]).optional(),
  basePoints: int(0, 1_000_000).optional(),
  minPoints: int(0, 1_000_000).optional(),
  decayPerMinute: int(0, 1_000_000).optional(),
  orderTiers: z.array(Tier).min(1).max(100).optional(),
  closeAnswerPenalty: int(0, 1_000_000).optional(),
  closeDistance: int(0, 100).optional(),
};

/** Everything an organiser may set per event (all optional: unset means preset/default). */
export const EventSettingsInput = z.strictObject({
  ...scoringFields,
  hintCostPoints: int(0, 1_000_000).optional(),
  answersPerMinute: int(1, 1_000_000).optional(),
  /** null: no per-IP limit (a whole LAN behind one NAT address; benchmarks). */
  answersPerMinutePerIp: int(1, 10_000_000).nullable().optional(),
  xpPerTick: int(0, 1_000_000).optional(),
  xpTickMinutes: int(1, 1_000_000).optional(),
  xpPerSolve: int(0, 1_000_000).optional(),
  xpCap: int(0, 1_000_000_000).nullable().optional(),
  powerupCosts: z.strictObject({ close_enough: int(0, 1_000_000).optional(), hint: int(0, 1_000_000).optional(), skip: int(0, 1_000_000).optional() }).optional(),
  normalize: NormalizeMode.optional(),
  listIdlePlayers: z.boolean().optional(),
});
export type EventSettingsInput = z.infer<typeof EventSettingsInput>;

export interface EventSettings {
  scoring: "time" | "order";
  basePoints: number;
  minPoints: number;
  decayPerMinute: number;
  orderTiers: Tier[];
  closeAnswerPenalty: number;
  closeDistance: number;
  hintCostPoints: number;
  answersPerMinute: number;
  answersPerMinutePerIp: number | null;
  xpPerTick: number;
  xpTickMinutes: number;
  xpPerSolve: number;
  /** null: no cap. */
  xpCap: number | null;
  powerupCosts: { close_enough: number; hint: number; skip: number };
  normalize: NormalizeMode;
  listIdlePlayers: boolean;
}

export const DEFAULT_TIERS: Tier[] = [{ upTo: 10, points: 100 }, { upTo: 20, points: 90 }, { upTo: 30, points: 85 }, { points: 75 }];

export const DEFAULT_SETTINGS: EventSettings = {
  scoring: "time",
  basePoints: 100,
  minPoints: 10,
  decayPerMinute: 1,
  orderTiers: DEFAULT_TIERS,
  closeAnswerPenalty: 10,
  closeDistance: 2,
  hintCostPoints: 10,
  answersPerMinute: 10,
  answersPerMinutePerIp: 60,
  xpPerTick: 10,
  xpTickMinutes: 60,
  xpPerSolve: 0,
  xpCap: null,
  powerupCosts: { close_enough: 95, hint: 50, skip: 75 },
  normalize: "full",
  listIdlePlayers: false,
};

export type Preset = "default" | "enigma7";

/** The rules IEEE-VIT Enigma 7 ran (hunt-rules.md, "The enigma7 preset"). */
export const PRESETS: Record<Preset, Partial<EventSettings>> = {
  default: {},
  enigma7: { scoring: "order", orderTiers: DEFAULT_TIERS, hintCostPoints: 10, xpPerTick: 10, xpTickMinutes: 60, xpPerSolve: 5, xpCap: 100, powerupCosts: { hint: 50, skip: 75, close_enough: 95 }, closeAnswerPenalty: 10, normalize: "lower" },
};

export function effectiveSettings(preset: Preset, overrides: EventSettingsInput): EventSettings {
  const base = { ...DEFAULT_SETTINGS, ...PRESETS[preset] };
  const out: EventSettings = { ...base, powerupCosts: { ...base.powerupCosts } };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    if (k === "powerupCosts") Object.assign(out.powerupCosts, Object.fromEntries(Object.entries(v as object).filter(([, x]) => x !== undefined)));
    else (out as unknown as Record<string, unknown>)[k] = v;
  }
  return out;
}

/** Per-puzzle scoring overrides. */
export const PuzzleScoringInput = z.strictObject(scoringFields);
export type PuzzleScoringInput = z.infer<typeof PuzzleScoringInput>;

export type PuzzleSettings = Pick<EventSettings, "scoring" | "basePoints" | "minPoints" | "decayPerMinute" | "orderTiers" | "closeAnswerPenalty" | "closeDistance" | "normalize">;

export function puzzleSettings(ev: EventSettings, scoring: PuzzleScoringInput, normalize: NormalizeMode | null): PuzzleSettings {
  const out: PuzzleSettings = {
    scoring: ev.scoring,
    basePoints: ev.basePoints,
    minPoints: ev.minPoints,
    decayPerMinute: ev.decayPerMinute,
    orderTiers: ev.orderTiers,
    closeAnswerPenalty: ev.closeAnswerPenalty,
    closeDistance: ev.closeDistance,
    normalize: normalize ?? ev.normalize,
  };
  for (const [k, v] of Object.entries(scoring)) if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  return out;
}
