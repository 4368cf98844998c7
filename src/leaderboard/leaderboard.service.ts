/**
 * Ranks: points descending, then the earlier time of the last
 * points-changing entry, then player id. With freezeAt set, everyone but
 * organisers sees the board as it stood at freezeAt until the event ends;
 * a player always sees their own current points.
 *
 * The live page is kept in process (one instance) or in Redis (several
 * instances, computed once for all of them) while no ledger entry is added.
 * With Redis, the costly parts are computed once for all instances and kept
 * there briefly: the frozen ranking (for FROZEN_CACHE_MS
 * from its computation, as in one process) and each live page, keyed by the
 * newest ledger entry so that a points change is seen at once, as without
 * the cache. What no ledger entry records (a first wrong answer listing a
 * player, a ban, a rename) reaches a cached live page within LIVE_PAGE_MS,
 * the bound the total and the own rank already have (UNRANKED_CACHE_MS). The
 * caller's own rank and points are never cached.
 */
import type { EventsService } from "../events/events.service.ts";
import type { Deps, SessionUser } from "../lib/context.ts";
import { sharedCache } from "../lib/sharedcache.ts";
import { leaderboardStore, type RankRow } from "./leaderboard.store.ts";

const FROZEN_CACHE_MS = 2000;
const LIVE_PAGE_MS = 1000;
/** Organisers and banned accounts are few and change rarely; their list is re-read at most once a second. */
const UNRANKED_CACHE_MS = 1000;

export function leaderboardService(deps: Deps & { events: EventsService }) {
  const { db, clock, events, redis, log } = deps;
  const store = leaderboardStore(db);
  const shared = redis ? sharedCache(redis, log, { prefix: "lb:" }) : null;
  // A frozen board changes only when someone is banned or re-roled; a short cache is exact enough.
  const frozenCache = new Map<number, { until: number; key: string; rows: RankRow[]; index: Map<number, number> }>();

  let unranked = { at: -Infinity, ids: [] as number[] };
  const unrankedIds = () => {
    const t = performance.now();
    if (t - unranked.at > UNRANKED_CACHE_MS) unranked = { at: t, ids: store.unrankedIds() };
    return unranked.ids;
  };
  const totals = new Map<number, { at: number; n: number }>();

  /** Ranked players ahead of a standing: the index count less the unranked ones ahead. */
  function rankOf(eventId: number, includeIdle: boolean, s: { points: number; pointsAt: number; playerId: number }) {
    const others = store.standingsOf(eventId, includeIdle, unrankedIds());
    const before = (o: { points: number; pointsAt: number; playerId: number }) =>
      o.points > s.points || (o.points === s.points && (o.pointsAt < s.pointsAt || (o.pointsAt === s.pointsAt && o.playerId < s.playerId)));
    return store.ahead(eventId, includeIdle, s) - others.filter(before).length + 1;
  }

  function total(eventId: number, includeIdle: boolean) {
    const t = performance.now();
    const hit = totals.get(eventId);
    if (hit && t - hit.at < UNRANKED_CACHE_MS) return hit.n;
    const n = store.listed(eventId, includeIdle) - store.standingsOf(eventId, includeIdle, unrankedIds()).length;
    totals.set(eventId, { at: t, n });
    return n;
  }

  async function frozenRanking(eventId: number, freezeAt: number, includeIdle: boolean) {
    const key = `frozen:${eventId}:${freezeAt}:${includeIdle ? 1 : 0}`;
    const hit = frozenCache.get(eventId);
    if (hit && hit.key === key && performance.now() < hit.until) return hit;
    let rows: RankRow[];
    let until = performance.now() + FROZEN_CACHE_MS;
    if (shared) {
      // Kept here only for what is left of its time in Redis, so it is never older than FROZEN_CACHE_MS.
      const v = await shared.get(key, FROZEN_CACHE_MS, () => ({ at: Date.now(), rows: store.rankingAt(eventId, freezeAt, includeIdle) }));
      rows = v.rows;
      until = performance.now() + Math.min(FROZEN_CACHE_MS, Math.max(0, v.at + FROZEN_CACHE_MS - Date.now()));
    } else rows = store.rankingAt(eventId, freezeAt, includeIdle);
    const v = { until, key, rows, index: new Map(rows.map((r, i) => [r.playerId, i])) };
    frozenCache.set(eventId, v);
    return v;
  }

  // Without Redis, the same rule in process: a page is kept while no ledger entry was added (and LIVE_PAGE_MS at most).
  const localPages = new Map<string, { head: number; at: number; rows: RankRow[] }>();
  const LOCAL_PAGES_MAX = 256;

  async function livePage(eventId: number, includeIdle: boolean, limit: number, offset: number): Promise<RankRow[]> {
    // Read before the page: a page stored under this head is at least as new as it.
    const head = store.ledgerHead();
    const key = `live:${eventId}:${includeIdle ? 1 : 0}:${limit}:${offset}`;
    if (shared) return await shared.get(`${key}:${head}`, LIVE_PAGE_MS, () => store.page(eventId, includeIdle, limit, offset));
    const t = performance.now();
    const hit = localPages.get(key);
    if (hit && hit.head === head && t - hit.at < LIVE_PAGE_MS) return hit.rows;
    const rows = store.page(eventId, includeIdle, limit, offset);
    if (!hit && localPages.size >= LOCAL_PAGES_MAX) localPages.delete(localPages.keys().next().value!);
    localPages.set(key, { head, at: t, rows });
    return rows;
  }

  const rowOut = (r: RankRow, rank: number) => ({ rank, playerId: r.playerId, username: r.username, points: r.points, pointsAt: r.pointsAt });

  return {
    /** Stats of the shared cache (null without Redis). */
    sharedStats: () => shared?.stats ?? null,

    async board(ref: string, viewer: SessionUser | null, limit = 100, offset = 0) {
      const ev = events.get(ref);
      const now = clock.now();
      const includeIdle = ev.settings.listIdlePlayers;
      const e = ev.row;
      const frozen = e.freezeAt !== null && now >= e.freezeAt && now < e.endsAt && viewer?.role !== "organiser";
      const head = { event: { id: e.id, slug: e.slug, title: e.title }, now, frozen, freezeAt: e.freezeAt };
      if (frozen) {
        const f = await frozenRanking(e.id, e.freezeAt!, includeIdle);
        let me = null;
        if (viewer) {
          const own = store.standing(e.id, viewer.id);
          const i = f.index.get(viewer.id);
          if (own && i !== undefined) me = { rank: i + 1, playerId: viewer.id, username: viewer.username, points: own.points, frozenPoints: f.rows[i].points, pointsAt: own.pointsAt };
          else if (own) me = { rank: null, playerId: viewer.id, username: viewer.username, points: own.points, frozenPoints: null, pointsAt: own.pointsAt };
        }
        return { ...head, total: f.rows.length, offset, ranks: f.rows.slice(offset, offset + limit).map((r, i) => rowOut(r, offset + i + 1)), me };
      }
      const ranks = (await livePage(e.id, includeIdle, limit, offset)).map((r, i) => rowOut(r, offset + i + 1));
      let me = null;
      if (viewer) {
        const own = store.standing(e.id, viewer.id);
        if (own) {
          const ranked = viewer.role === "player" && (own.listed || includeIdle);
          me = {
            rank: ranked ? rankOf(e.id, includeIdle, { points: own.points, pointsAt: own.pointsAt, playerId: viewer.id }) : null,
            playerId: viewer.id,
            username: viewer.username,
            points: own.points,
            pointsAt: own.pointsAt,
          };
        }
      }
      return { ...head, total: total(e.id, includeIdle), offset, ranks, me };
    },
  };
}

export type LeaderboardService = ReturnType<typeof leaderboardService>;
