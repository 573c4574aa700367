// Null propagation held against an independent executor (API.md "Field errors and null"):
// random documents over the real schema (schema.graphql), with field errors forced at random
// depths, run by roombook and by graphql-js's execute() over the same field values (read
// from roombook first, with error-free queries) and the same errors; both `data` must be equal.
// Forced errors: a Non-Null `start`/`end` with an unknown time zone, a Non-Null
// `reservations` list with an inverted window, a nullable `room(id:)` with a malformed id.
//
// Usage: node tests/clients/nullprop.mjs path/to/roombook [DATABASE_URL]
//   NULLPROP_DOCS (default 2000) documents; NULLPROP_SEED replays a run.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema, execute, parse, validate } from 'graphql';
import { startRoombook } from '../e2e/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const [bin, database] = process.argv.slice(2);
if (!bin) { console.error('usage: node nullprop.mjs path/to/roombook [DATABASE_URL]'); process.exit(2); }
const DOCS = Number(process.env.NULLPROP_DOCS ?? 2000);
const SEED = Number(process.env.NULLPROP_SEED ?? Math.floor(Math.random() * 2 ** 31));
const schema = buildSchema(readFileSync(join(here, '..', '..', 'schema.graphql'), 'utf8'));

// A small seeded generator (mulberry32), so a failing run replays.
let state = SEED >>> 0;
const rand = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const chance = (p) => rand() < p;
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

const [server, base] = await startRoombook(bin, database ? { DATABASE_URL: database } : {});
const post = async (query, variables = {}) => {
  const r = await fetch(`${base}/graphql`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return r.json();
};

try {
  // The data: three rooms, with 0, 2 and 3 reservations (titled or not).
  const day = new Date(); day.setUTCHours(24, 0, 0, 0);
  const at = (hours) => new Date(day.getTime() + hours * 3_600_000).toISOString();
  const FROM = at(-1);
  const TO = at(48);
  const tag = Math.floor(rand() * 1e9).toString(36);
  const roomIds = [];
  for (const [i, n] of [0, 2, 3].entries()) {
    const v = await post('mutation($n: String!) { createRoom(input: {name: $n, capacity: 4}) { id } }', { n: `NP ${tag} ${i}` });
    const room = v.data.createRoom.id;
    roomIds.push(room);
    for (let k = 0; k < n; k++) {
      const b = await post('mutation($i: BookRoomInput!) { bookRoom(input: $i) { id } }', {
        i: { roomId: room, start: at(2 * k + i), end: at(2 * k + i + 1), organizerName: 'N', organizerEmail: 'n@example.com',
             ...(k % 2 ? {} : { title: `T${k}` }) },
      });
      if (!b.data) throw new Error(`seeding: ${JSON.stringify(b)}`);
    }
  }
  // Field values, read without errors: what the independent executor resolves from.
  const snap = (await post(`query($f: DateTime, $t: DateTime) { rooms {
      id name capacity reservations(from: $f, to: $t) { id title start end status room { id } } } }`,
  { f: FROM, t: TO })).data.rooms.filter((r) => roomIds.includes(r.id));
  const roomsById = Object.fromEntries(snap.map((r) => [r.id, r]));

  const BAD_ZONE = 'Nowhere/Land';
  const fail = (message) => { throw new Error(message); };
  const rootValue = {
    rooms: () => snap,
    room: ({ id }) => (/^[0-9a-f-]{36}$/.test(id) ? roomsById[id] ?? null : fail(`${id} is not a valid room id`)),
  };
  const fieldResolver = (source, args, _ctx, info) => {
    const typeName = info.parentType.name;
    const field = info.fieldName;
    if (typeName === 'Query') return rootValue[field](args);
    if (typeName === 'Room' && field === 'reservations') {
      if (args.from >= args.to) fail('`to` must be after `from`');
      return source.reservations;
    }
    if (typeName === 'Reservation' && (field === 'start' || field === 'end')) {
      if (args.timeZone === BAD_ZONE) fail(`unknown time zone ${BAD_ZONE}`);
      return source[field];
    }
    if (typeName === 'Reservation' && field === 'room') return roomsById[source.room.id];
    return source[field];
  };

  // Documents: errors hide at any depth; an alias only where a field repeats (roombook allows
  // 30 a document).
  let n = 0;
  const alias = (f) => `${f}_${n++}`;
  const P_ERROR = 0.12;
  const genReservation = (depth) => {
    const sel = ['id'];
    if (chance(0.5)) sel.push(`title`);
    if (chance(0.7)) sel.push(`start${chance(P_ERROR) ? `(timeZone: "${BAD_ZONE}")` : ''}`);
    if (chance(0.4)) sel.push(`end${chance(P_ERROR) ? `(timeZone: "${BAD_ZONE}")` : ''}`);
    if (chance(0.3)) sel.push(`status`);
    if (depth < 5 && chance(0.5)) sel.push(`room { ${genRoom(depth + 1)} }`);
    return sel.join(' ');
  };
  const genRoom = (depth) => {
    const sel = ['id'];
    if (chance(0.5)) sel.push(`name`);
    if (chance(0.3)) sel.push(`capacity`);
    if (depth < 5) {
      const lists = chance(0.6) ? (chance(0.3) ? 2 : 1) : 0;
      for (let i = 0; i < lists; i++) {
        const [f, t] = chance(P_ERROR) ? [TO, FROM] : [FROM, TO];
        const name = i === 0 ? 'reservations' : `${alias('reservations')}: reservations`;
        sel.push(`${name}(from: "${f}", to: "${t}") { ${genReservation(depth + 1)} }`);
      }
    }
    return sel.join(' ');
  };
  const genDocument = () => {
    n = 0;
    const top = [];
    const count = 1 + Math.floor(rand() * 3);
    for (let i = 0; i < count; i++) {
      if (chance(0.5)) top.push(`${alias('rooms')}: rooms { ${genRoom(1)} }`);
      else {
        const id = chance(P_ERROR) ? 'not-a-uuid' : pick(roomIds);
        top.push(`${alias('room')}: room(id: "${id}") { ${genRoom(1)} }`);
      }
    }
    return `{ ${top.join(' ')} }`;
  };

  // roombook lists every room; the independent side knows only this run's: compare those.
  const onlyOurs = (data) => {
    if (data === null || typeof data !== 'object') return data;
    const out = {};
    for (const [k, v] of Object.entries(data)) {
      out[k] = k.startsWith('rooms_') && Array.isArray(v) ? v.filter((r) => roomIds.includes(r.id)) : v;
    }
    return out;
  };

  let withErrors = 0;
  for (let d = 0; d < DOCS; d++) {
    const text = genDocument();
    const document = parse(text);
    const invalid = validate(schema, document);
    if (invalid.length) throw new Error(`generated an invalid document (${invalid[0].message}): ${text}`);
    const expected = await execute({ schema, document, rootValue: {}, fieldResolver });
    const got = await post(text);
    if (got.data === undefined) throw new Error(`roombook refused the request: ${JSON.stringify(got)}\n${text}`);
    const want = JSON.stringify(onlyOurs(JSON.parse(JSON.stringify(expected.data ?? null))));
    const have = JSON.stringify(onlyOurs(got.data));
    if (want !== have) {
      throw new Error(`document ${d} (seed ${SEED}) differs:\n${text}\n graphql-js: ${want}\n roombook:   ${have}\n errors: ${JSON.stringify(got.errors)}`);
    }
    if (expected.errors?.length) withErrors += 1;
  }
  console.log(`nullprop: ${DOCS} documents (seed ${SEED}, ${database ? 'PostgreSQL' : 'SQLite'}): roombook's data equals graphql-js's; ${withErrors} had field errors`);
} catch (e) {
  console.error(`nullprop: FAIL (replay with NULLPROP_SEED=${SEED}): ${e.message}`);
  process.exitCode = 1;
} finally {
  server.kill();
}
