/** The slots of the Int32Array the group commit shares with its sync thread (src/db/walsync.ts). */
export const REQ = 0;
export const DONE = 1;
export const FD = 2;
export const ERRNO = 3;
export const SLOTS = 4;
