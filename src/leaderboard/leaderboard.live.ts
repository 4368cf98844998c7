/**
 * Pushes leaderboard changes live. Every committed points entry becomes a
 * coalesced delta on `event:<id>` (a few per second at most, whatever the
 * solve rate); clients refetch the board over REST when one arrives. A delta
 * names the player and nothing else, so it leaks no score; while a freeze
 * hides changes it goes only to the organisers' twin topic.
 *
 * @example liveLeaderboard(s) // once, where services are built; returns the unsubscribe
 */
import type { EventsService } from "../events/events.service.ts";
import type { Clock } from "../lib/clock.ts";
import type { LedgerService } from "../ledger/ledger.service.ts";
import type { RealtimeService } from "../realtime/realtime.service.ts";

export function liveLeaderboard(deps: { ledger: LedgerService; realtime: RealtimeService; events: EventsService; clock: Clock }) {
  const { ledger, realtime, events, clock } = deps;
  return ledger.onLedger((entries) => {
    const now = clock.now();
    for (const e of entries) {
      if (e.currency !== "points") continue;
      const ev = events.get(e.eventId).row;
      const frozen = ev.freezeAt !== null && now >= ev.freezeAt && now < ev.endsAt;
      const topic = `event:${e.eventId}`;
      realtime.coalesce(frozen ? realtime.orgTopic(topic) : topic, `leaderboard:${e.playerId}`, { kind: "leaderboard", playerId: e.playerId });
    }
  });
}
