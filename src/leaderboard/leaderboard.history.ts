/**
 * Score over time for the top of the board: each of the first `limit`
 * players' cumulative points at every change, from the event's start. It
 * follows the board's own rules: during a freeze a player sees the frozen
 * top and no change after the freeze, except in their own line.
 */
import type { SessionUser } from "../lib/context.ts";
import type { Db } from "../db/db.ts";
import type { LeaderboardService } from "./leaderboard.service.ts";
import { leaderboardHistoryStore } from "./leaderboard.history.store.ts";

export interface Series {
  playerId: number;
  username: string;
  points: [number, number][];
}

export function leaderboardHistory(deps: { db: Db; leaderboard: LeaderboardService }) {
  const store = leaderboardHistoryStore(deps.db);
  return async (ref: string, viewer: SessionUser | null, limit: number) => {
    const board = await deps.leaderboard.board(ref, viewer, limit, 0);
    const top = board.ranks;
    const cut = board.frozen && board.freezeAt !== null ? board.freezeAt : board.now;
    const steps = store.steps(board.event.id, top.map((r) => r.playerId), board.now);
    const series: Series[] = top.map((r) => {
      const until = r.playerId === viewer?.id ? board.now : cut;
      let sum = 0;
      const points: [number, number][] = [];
      for (const s of steps) {
        if (s.playerId !== r.playerId || s.at > until) continue;
        sum += s.amount;
        points.push([s.at, sum]);
      }
      return { playerId: r.playerId, username: r.username, points };
    });
    return { event: board.event, now: board.now, frozen: board.frozen, series };
  };
}
