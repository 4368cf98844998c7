/**
 * Read-only queries behind the organiser's anti-cheat report. They read the
 * hunt's attempt log, ledger and action log; nothing here writes, and the
 * report only ever goes to organisers.
 */
import type { Db } from "../db/db.ts";

export interface SharedWrong {
  puzzleId: number;
  puzzleTitle: string;
  answer: string;
  players: number;
  usernames: string[];
  firstAt: number;
  lastAt: number;
}
export interface SharedIp {
  ip: string;
  count: number;
  usernames: string[];
}
export interface Burst {
  playerId: number;
  username: string;
  solves: number;
  from: number;
  to: number;
}

const names = (s: string | null) => (s ? s.split("\u001f") : []);

export function antiCheatStore(db: Db) {
  // A pair of different players giving the same wrong answer to a puzzle within the window.
  const sharedWrongQ = db.reader.query(
    `WITH pairs AS (
       SELECT a.puzzle_id, a.normalized, a.player_id AS p1, b.player_id AS p2, CASE WHEN a.at < b.at THEN a.at ELSE b.at END AS t1, CASE WHEN a.at > b.at THEN a.at ELSE b.at END AS t2
       FROM attempts a JOIN attempts b
         ON b.puzzle_id = a.puzzle_id AND b.normalized = a.normalized AND b.player_id > a.player_id
        AND b.at BETWEEN a.at - ?2 AND a.at + ?2
       WHERE a.event_id = ?1 AND b.event_id = ?1 AND a.outcome = 'wrong' AND b.outcome = 'wrong'
     ), members AS (
       SELECT puzzle_id, normalized, p1 AS pid, t1, t2 FROM pairs UNION SELECT puzzle_id, normalized, p2, t1, t2 FROM pairs
     )
     SELECT m.puzzle_id AS puzzleId, p.title AS puzzleTitle, m.normalized AS answer, count(DISTINCT m.pid) AS players,
            (SELECT string_agg(username, char(31)) FROM (SELECT DISTINCT u.username FROM members m2 JOIN users u ON u.id = m2.pid
               WHERE m2.puzzle_id = m.puzzle_id AND m2.normalized = m.normalized ORDER BY u.username LIMIT 20) AS names) AS usernames,
            min(m.t1) AS firstAt, max(m.t2) AS lastAt
     FROM members m JOIN puzzles p ON p.id = m.puzzle_id
     GROUP BY m.puzzle_id, m.normalized, p.title
     ORDER BY players DESC, "firstAt"
     LIMIT ?3`,
  );
  // Accounts that answered or acted from the same address.
  const sharedIpQ = db.reader.query(
    `WITH seen AS (
       SELECT ip, player_id FROM attempts WHERE event_id = ?1 AND ip IS NOT NULL
       UNION SELECT ip, player_id FROM action_log WHERE event_id = ?1 AND ip IS NOT NULL
       UNION SELECT l.ip, l.player_id FROM action_log l JOIN hunt_players h ON h.event_id = ?1 AND h.player_id = l.player_id
             WHERE l.event_id IS NULL AND l.kind IN ('login', 'signup') AND l.ip IS NOT NULL
     )
     SELECT s.ip AS ip, count(DISTINCT s.player_id) AS count,
            (SELECT string_agg(username, char(31)) FROM (SELECT DISTINCT u.username FROM seen s2 JOIN users u ON u.id = s2.player_id
               WHERE s2.ip = s.ip ORDER BY u.username LIMIT 20) AS names) AS usernames
     FROM seen s GROUP BY s.ip HAVING count(DISTINCT s.player_id) >= ?2
     ORDER BY count DESC LIMIT ?3`,
  );
  // Solves that start a run of at least N solves within the window; the longest run per player.
  const burstsQ = db.reader.query(
    `WITH s AS (
       SELECT player_id, at,
              count(*) OVER (PARTITION BY player_id ORDER BY at RANGE BETWEEN CURRENT ROW AND ?2 FOLLOWING) AS n,
              max(at) OVER (PARTITION BY player_id ORDER BY at RANGE BETWEEN CURRENT ROW AND ?2 FOLLOWING) AS until
       FROM ledger WHERE event_id = ?1 AND kind = 'solve'
     ), best AS (
       SELECT player_id, n, at, until, row_number() OVER (PARTITION BY player_id ORDER BY n DESC, at) AS r FROM s WHERE n >= ?3
     )
     SELECT b.player_id AS playerId, u.username AS username, b.n AS solves, b.at AS "from", b.until AS "to"
     FROM best b JOIN users u ON u.id = b.player_id WHERE b.r = 1
     ORDER BY b.n DESC, b.at LIMIT ?4`,
  );
  return {
    sharedWrongAnswers(eventId: number, windowMs: number, limit: number): SharedWrong[] {
      return (sharedWrongQ.all(eventId, windowMs, limit) as Array<Omit<SharedWrong, "usernames"> & { usernames: string | null }>).map((r) => ({ ...r, usernames: names(r.usernames) }));
    },
    sharedIps(eventId: number, minAccounts: number, limit: number): SharedIp[] {
      return (sharedIpQ.all(eventId, minAccounts, limit) as Array<Omit<SharedIp, "usernames"> & { usernames: string | null }>).map((r) => ({ ...r, usernames: names(r.usernames) }));
    },
    solveBursts(eventId: number, windowMs: number, minSolves: number, limit: number): Burst[] {
      return burstsQ.all(eventId, windowMs, minSolves, limit) as Burst[];
    },
  };
}
