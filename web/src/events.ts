/** The event the player is looking at, its live topic, and the announcements feed. */
import { signal } from "@preact/signals";
import { live } from "./live.ts";
import { announce, user } from "./state.ts";
import { pick } from "./ui.tsx";

export interface Announcement {
  id?: number;
  title?: string;
  body: string;
  createdAt?: number;
}

export const announcements = signal<Announcement[]>([]);
/** Bumped on every live message about the current event so screens can refetch. */
export const eventPulse = signal(0);
export const lastEventMessage = signal<{ type: string; data: any } | null>(null);

let current: { key: string; id: number | string; off: () => void } | null = null;

export function normalizeAnnouncement(a: any): Announcement {
  return { id: pick(a, "id"), title: pick(a, "title"), body: String(pick(a, "body", "message", "text") ?? ""), createdAt: pick(a, "createdAt", "at", "time") };
}

/** Listen to event:<id> for as long as the user is inside that event. */
export function watchEvent(key: string, id: number | string, refetchAnnouncements: () => void) {
  if (current?.key === key) return;
  current?.off();
  announcements.value = [];
  const off = live.subscribe(
    `event:${id}`,
    (data, meta) => {
      const type = String(meta.type ?? "");
      const a = type.includes("announcement") ? (data.announcement ?? data) : data?.announcement;
      if (a) {
        const n = normalizeAnnouncement(a);
        if (n.id === undefined || !announcements.value.some((x) => x.id === n.id)) {
          announcements.value = [n, ...announcements.value];
          announce(n.body, "announcement", { title: n.title ?? "Announcement" });
        }
      }
      lastEventMessage.value = { type, data };
      eventPulse.value++;
    },
    () => {
      refetchAnnouncements();
      eventPulse.value++;
    },
  );
  // During a freeze, leaderboard deltas go only to the organisers' twin topic.
  const offOrg = user.value?.role === "organiser" ? live.subscribe(`event:${id}:org`, () => eventPulse.value++) : () => {};
  current = {
    key,
    id,
    off: () => {
      off();
      offOrg();
    },
  };
}
