// relay-compiler compiles the fragments and operations in relay/src (@refetchable through
// Node, @connection over reservationsConnection and roomsConnection) against schema.graphql
// and persists them (SHA-256); roombook started with --trusted-documents on that file and
// --trusted-documents-only (secured mode) serves them to a member by id and refuses an ad-hoc
// document.
// Usage: node tests/clients/relay.mjs path/to/roombook
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRoombook } from '../e2e/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.argv[2];
if (!bin) { console.error('usage: node relay.mjs path/to/roombook'); process.exit(2); }
const fail = (msg) => { console.error(`relay: FAIL: ${msg}`); process.exitCode = 1; throw new Error(msg); };

// Compile from scratch (it persists only operations whose artifacts change, and wants its
// output file and directory to exist).
const project = join(here, 'relay');
const persisted = join(project, 'persisted-documents.json');
rmSync(join(project, 'src', '__generated__'), { recursive: true, force: true });
mkdirSync(join(project, 'src', '__generated__'), { recursive: true });
writeFileSync(persisted, '{}');
execFileSync(join(here, 'node_modules', '.bin', 'relay-compiler'), { cwd: project, stdio: 'inherit' });
const documents = JSON.parse(readFileSync(persisted, 'utf8'));
const idOf = {};
for (const [hash, text] of Object.entries(documents)) {
  const m = text.match(/^(query|mutation|subscription) (\w+)/);
  if (m) idOf[m[2]] = `sha256:${hash}`;
}
for (const name of ['RoomPageQuery', 'RoomReservationsPaginationQuery', 'RoomListPaginationQuery', 'BookMutation']) {
  if (!idOf[name]) fail(`relay-compiler persisted no ${name}: ${Object.keys(idOf)}`);
}

const SECRET = 'relay-check-secret-of-at-least-32-bytes';
const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const token = (sub, roles = []) => {
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ sub, roles, name: `Member ${sub}`, email: `${sub}@example.com`, exp: Math.floor(Date.now() / 1000) + 600 });
  return `${head}.${body}.${createHmac('sha256', SECRET).update(`${head}.${body}`).digest('base64url')}`;
};
const admin = token('root', ['roombook-admin']);
const member = token('ada');

const [server, base] = await startRoombook(bin, {
  ROOMBOOK_JWT_SECRET: SECRET,
  ROOMBOOK_TRUSTED_DOCUMENTS: persisted,
  ROOMBOOK_TRUSTED_DOCUMENTS_ONLY: 'true',
});
const send = async (who, body) => {
  const r = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${who}` },
    body: JSON.stringify(body),
  });
  return r.json();
};
const byId = async (name, variables) => {
  const v = await send(member, { documentId: idOf[name], variables });
  if (v.errors) fail(`${name} by id: ${JSON.stringify(v.errors)}`);
  return v.data;
};

try {
  // The admin sets up (exempt from --trusted-documents-only: an ad-hoc document).
  const rooms = [];
  for (const name of ['Relay A', 'Relay B', 'Relay C']) {
    const v = await send(admin, { query: 'mutation($n: String!) { createRoom(input: {name: $n, capacity: 4}) { id } }', variables: { n: name } });
    if (!v.data) fail(`admin createRoom: ${JSON.stringify(v)}`);
    rooms.push(v.data.createRoom.id);
  }
  // A member books through the persisted mutation, by id.
  const booked = [];
  const day = new Date(); day.setUTCHours(24, 0, 0, 0);
  for (let i = 0; i < 5; i++) {
    const start = new Date(day.getTime() + i * 3_600_000);
    const d = await byId('BookMutation', { input: { roomId: rooms[0], start: start.toISOString(), end: new Date(start.getTime() + 1_800_000).toISOString() } });
    booked.push(d.bookRoom.id);
  }
  // The page query, then the fragment's pagination query through node(id:), by cursor.
  const page = await byId('RoomPageQuery', { room: rooms[0] });
  let conn = page.room.reservationsConnection;
  if (page.room.name !== 'Relay A' || conn.totalCount !== 5) fail(`RoomPageQuery: ${JSON.stringify(page)}`);
  const seen = conn.edges.map((e) => e.node.id);
  while (conn.pageInfo.hasNextPage) {
    const d = await byId('RoomReservationsPaginationQuery', { id: rooms[0], count: 2, cursor: conn.pageInfo.endCursor });
    conn = d.node.reservationsConnection;
    seen.push(...conn.edges.map((e) => e.node.id));
  }
  if (JSON.stringify(seen) !== JSON.stringify(booked)) fail(`paged ${seen} but booked ${booked}`);
  let list = (await byId('RoomListPaginationQuery', { count: 2 })).roomsConnection;
  const names = list.edges.map((e) => e.node.name);
  while (list.pageInfo.hasNextPage) {
    list = (await byId('RoomListPaginationQuery', { count: 2, cursor: list.pageInfo.endCursor })).roomsConnection;
    names.push(...list.edges.map((e) => e.node.name));
  }
  if (names.join() !== 'Relay A,Relay B,Relay C') fail(`rooms paged as ${names}`);
  // Anything else is refused for the member; a trusted document sent in full is not.
  const adHoc = await send(member, { query: '{ rooms { id } }' });
  if (adHoc.errors?.[0]?.extensions?.code !== 'DOCUMENT_NOT_TRUSTED') fail(`ad-hoc document: ${JSON.stringify(adHoc)}`);
  const inFull = await send(member, { query: documents[idOf.RoomPageQuery.slice(7)], variables: { room: rooms[1] } });
  if (inFull.errors || inFull.data.room.name !== 'Relay B') fail(`trusted document in full: ${JSON.stringify(inFull)}`);
  const unknown = await send(member, { documentId: `sha256:${'0'.repeat(64)}` });
  if (unknown.errors?.[0]?.extensions?.code !== 'PERSISTED_QUERY_NOT_FOUND') fail(`unknown id: ${JSON.stringify(unknown)}`);
  console.log(`relay: ${Object.keys(documents).length} persisted documents; paged ${seen.length} reservations through node() and ${names.length} rooms by id; ad-hoc refused (DOCUMENT_NOT_TRUSTED)`);
} finally {
  server.kill();
}
