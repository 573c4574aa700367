// The "other process" of the Apollo paging check: books new slots and cancels some of the
// original reservations in one room, until stopped; prints `cancelled <id>` for each
// cancellation it was answered for, so the check knows which originals did not stay.
// Usage: node churn.mjs BASE_URL ROOM_ID ORIGINALS_JSON_FILE OFFSET_MINUTES (its bookings
// start that long after an original's start and last 10 minutes).
import { readFileSync } from 'node:fs';

const [base, room, file, offset] = process.argv.slice(2);
const originals = JSON.parse(readFileSync(file, 'utf8')); // [{id, start}] in start order
const gql = async (query, variables) => {
  const r = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return r.json();
};
const BOOK = 'mutation($i: BookRoomInput!) { bookRoom(input: $i) { id } }';
const CANCEL = 'mutation($id: ID!) { cancelReservation(id: $id) { id } }';
let stop = false;
process.on('SIGTERM', () => { stop = true; });
// Walk the room from both ends toward the middle, so changes land before, at and after
// wherever the pager is: cancel every tenth original (another tenth for a later offset), book
// into the free half hours.
for (let k = 0; !stop && k < originals.length; k++) {
  const i = k % 2 === 0 ? k / 2 : originals.length - 1 - (k - 1) / 2;
  const o = originals[i];
  if (i % 10 === (Number(offset) < 40 ? 2 : 7)) {
    const v = await gql(CANCEL, { id: o.id });
    if (v.data?.cancelReservation) console.log(`cancelled ${o.id}`);
  }
  const start = new Date(Date.parse(o.start) + Number(offset) * 60_000);
  const end = new Date(start.getTime() + 10 * 60_000);
  const v = await gql(BOOK, {
    i: { roomId: room, start: start.toISOString(), end: end.toISOString(),
         organizerName: 'Churn', organizerEmail: 'churn@example.com' },
  });
  if (v.errors) { console.error(`booking refused: ${JSON.stringify(v.errors)}`); process.exit(1); }
  await new Promise((r) => setTimeout(r, 2));
}
console.log('done');
