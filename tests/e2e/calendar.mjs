// The room calendar feed read by ical.js, the iCalendar parser of Mozilla Thunderbird's
// calendar: what a real calendar client imports. Starts roombook, books reservations whose
// titles and organizers need escaping and folding, and checks every event reads back as booked.
//
//   node tests/e2e/calendar.mjs [path/to/roombook]    (default: target/debug/roombook)
import ICAL from 'ical.js';
import { startRoombook } from './server.mjs';

const bin = process.argv[2] ?? 'target/debug/roombook';
const [server, base] = await startRoombook(bin);

async function gql(query, variables = {}) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

let failed = 0;
try {
  const { createRoom } = await gql('mutation { createRoom(input: {name: "Blue, 2nd floor; east", capacity: 8}) { id } }');
  const day = new Date(Date.now() + 2 * 86400000);
  day.setUTCHours(9, 0, 0, 0);
  const wanted = [
    { title: 'Planning; budget, hiring \\ roadmap — a title long enough to be folded twice over, üñíçødé 会議室', name: 'Lovelace, "Ada"', email: 'ada@example.com' },
    { title: null, name: 'Grace Hopper', email: 'grace@example.com' },
    { title: 'Café: 10:30, "quoted"', name: 'Émile', email: 'emile@example.com' },
  ];
  const booked = [];
  for (const [i, w] of wanted.entries()) {
    const start = new Date(day.getTime() + i * 3600000);
    const end = new Date(start.getTime() + 1800000);
    const { bookRoom } = await gql('mutation($i: BookRoomInput!) { bookRoom(input: $i) { id } }', {
      i: { roomId: createRoom.id, start: start.toISOString(), end: end.toISOString(), title: w.title,
        organizerName: w.name, organizerEmail: w.email },
    });
    booked.push({ ...w, id: bookRoom.id, start, end });
  }
  const res = await fetch(`${base}/calendar/rooms/${createRoom.id}.ics`);
  const text = await res.text();
  if (res.headers.get('content-type') !== 'text/calendar; charset=utf-8') throw new Error(`content-type ${res.headers.get('content-type')}`);
  const cal = new ICAL.Component(ICAL.parse(text));
  if (cal.getFirstPropertyValue('version') !== '2.0') throw new Error('VERSION');
  if (cal.getFirstPropertyValue('x-wr-calname') !== 'Blue, 2nd floor; east') throw new Error(`X-WR-CALNAME: ${cal.getFirstPropertyValue('x-wr-calname')}`);
  const events = cal.getAllSubcomponents('vevent').map((v) => new ICAL.Event(v));
  if (events.length !== booked.length) throw new Error(`${events.length} events, expected ${booked.length}`);
  for (const [i, e] of events.entries()) {
    const b = booked[i];
    const expect = (what, got, want) => {
      if (got !== want) throw new Error(`event ${i} ${what}: ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    };
    expect('uid', e.uid, `${b.id}@roombook`);
    expect('summary', e.summary, b.title ?? 'Reserved');
    expect('start', e.startDate.toJSDate().getTime(), b.start.getTime());
    expect('end', e.endDate.toJSDate().getTime(), b.end.getTime());
    const organizer = e.component.getFirstProperty('organizer');
    expect('organizer', organizer.getFirstValue(), `mailto:${b.email}`);
    expect('organizer CN', organizer.getParameter('cn'), b.name.replaceAll('"', "'"));
  }
  console.log(`ok   ical.js reads the feed: ${events.length} events, titles and organizers as booked`);
} catch (e) {
  failed = 1;
  console.log(`FAIL ical.js reads the feed\n     ${e.message}`);
}
server.kill('SIGTERM');
process.exit(failed);
