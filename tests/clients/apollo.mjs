// Apollo Client (core, InMemoryCache with relayStylePagination) pages through 1,200
// reservations of a room with `first: 100` while another process (churn.mjs) books and
// cancels in that room; the merged list must hold every reservation that existed throughout
// exactly once. Then again through Apollo's persisted-queries link (hash first, then the
// document once), which must register once and page by hash alone afterwards.
// Usage: node tests/clients/apollo.mjs path/to/roombook
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApolloClient, InMemoryCache, HttpLink, gql } from '@apollo/client/core/index.js';
import { relayStylePagination } from '@apollo/client/utilities/index.js';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries/index.js';
import { loadDevMessages, loadErrorMessages } from '@apollo/client/dev/index.js';
import { startRoombook } from '../e2e/server.mjs';

loadDevMessages();
loadErrorMessages();

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.argv[2];
if (!bin) { console.error('usage: node apollo.mjs path/to/roombook'); process.exit(2); }
const fail = (msg) => { console.error(`apollo: FAIL: ${msg}`); process.exitCode = 1; throw new Error(msg); };

const [server, base] = await startRoombook(bin);
const post = async (query, variables) => {
  const r = await fetch(`${base}/graphql`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return r.json();
};

try {
  const N = 1200;
  const room = (await post('mutation { createRoom(input: {name: "Apollo", capacity: 8}) { id } }'))
    .data.createRoom.id;
  // One a hour from tomorrow 00:00Z: 50 days, so the window is explicit.
  const day = new Date(); day.setUTCHours(24, 0, 0, 0);
  const from = day.toISOString();
  const to = new Date(day.getTime() + 60 * 86_400_000).toISOString();
  const originals = [];
  for (let i = 0; i < N; i += 25) {
    const batch = await Promise.all(Array.from({ length: Math.min(25, N - i) }, (_, j) => {
      const start = new Date(day.getTime() + (i + j) * 3_600_000);
      return post('mutation($i: BookRoomInput!) { bookRoom(input: $i) { id start } }', {
        i: { roomId: room, start: start.toISOString(),
             end: new Date(start.getTime() + 30 * 60_000).toISOString(),
             organizerName: 'Apollo', organizerEmail: 'apollo@example.com' },
      });
    }));
    for (const b of batch) {
      if (!b.data?.bookRoom) fail(`seeding: ${JSON.stringify(b)}`);
      originals.push(b.data.bookRoom);
    }
  }
  originals.sort((a, b) => a.start.localeCompare(b.start));
  const dir = mkdtempSync(join(tmpdir(), 'roombook-apollo-'));
  writeFileSync(join(dir, 'originals.json'), JSON.stringify(originals));

  const PAGE = gql`
    query RoomPage($room: ID!, $from: DateTime, $to: DateTime, $after: String) {
      room(id: $room) {
        id
        reservationsConnection(first: 100, after: $after, from: $from, to: $to) {
          edges { cursor node { id start } }
          pageInfo { hasNextPage endCursor }
        }
      }
    }`;

  /** Pages the room through `link` while churn.mjs runs; returns the merged ids. */
  const gone = new Set(); // originals cancelled by an earlier run
  const pageAll = async (link, label, offsetMinutes) => {
    const churn = spawn(process.execPath, [join(here, 'churn.mjs'), base, room, join(dir, 'originals.json'), String(offsetMinutes)],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    const cancelled = new Set();
    let out = '';
    churn.stdout.on('data', (c) => {
      out += c;
      let nl;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl); out = out.slice(nl + 1);
        if (line.startsWith('cancelled ')) cancelled.add(line.slice(10));
      }
    });
    const churnEnded = new Promise((r) => churn.on('exit', r));
    const client = new ApolloClient({
      link,
      cache: new InMemoryCache({
        typePolicies: { Room: { fields: { reservationsConnection: relayStylePagination(['from', 'to']) } } },
      }),
    });
    const variables = { room, from, to };
    const watch = client.watchQuery({ query: PAGE, variables, fetchPolicy: 'cache-first' });
    let subscription;
    let result = await new Promise((resolve, reject) => {
      subscription = watch.subscribe({ next: (r) => { if (!r.loading) resolve(r); }, error: reject });
    });
    let pages = 1;
    while (result.data.room.reservationsConnection.pageInfo.hasNextPage) {
      const after = result.data.room.reservationsConnection.pageInfo.endCursor;
      await watch.fetchMore({ variables: { after } });
      result = watch.getCurrentResult();
      pages += 1;
      // Give the other process time to change things between pages.
      await new Promise((r) => setTimeout(r, 30));
      if (pages > 100) fail(`${label}: more than 100 pages`);
    }
    subscription.unsubscribe();
    churn.kill('SIGTERM');
    await churnEnded;
    const edges = client.readQuery({ query: PAGE, variables }).room.reservationsConnection.edges;
    const ids = edges.map((e) => e.node.id);
    const unique = new Set(ids);
    if (unique.size !== ids.length) fail(`${label}: ${ids.length - unique.size} reservations came twice`);
    const stayed = originals.filter((o) => !cancelled.has(o.id) && !gone.has(o.id));
    for (const id of cancelled) gone.add(id);
    const missing = stayed.filter((o) => !unique.has(o.id));
    if (missing.length) fail(`${label}: ${missing.length} reservations that existed throughout are missing, e.g. ${missing[0].id}`);
    if (cancelled.size === 0) fail(`${label}: the other process cancelled nothing while paging`);
    console.log(`apollo (${label}): ${pages} pages, ${ids.length} reservations merged, ${stayed.length} of ${N} stayed throughout (${cancelled.size} cancelled meanwhile), each once`);
    return ids;
  };

  await pageAll(new HttpLink({ uri: `${base}/graphql`, fetch }), 'HttpLink', 32);

  // The same through the persisted-queries link, counting what it sends.
  const sent = { hashOnly: 0, withQuery: 0, notFound: 0 };
  const countingFetch = async (uri, init) => {
    const body = JSON.parse(init.body);
    if (body.query) sent.withQuery += 1; else sent.hashOnly += 1;
    const res = await fetch(uri, init);
    const text = await res.clone().text();
    if (text.includes('PersistedQueryNotFound')) sent.notFound += 1;
    return res;
  };
  const sha256 = (s) => createHash('sha256').update(s).digest('hex');
  await pageAll(createPersistedQueryLink({ sha256 }).concat(new HttpLink({ uri: `${base}/graphql`, fetch: countingFetch })), 'persisted-queries link', 44);
  if (sent.notFound !== 1 || sent.withQuery !== 1) fail(`persisted queries: expected one miss and one registration, got ${JSON.stringify(sent)}`);
  if (sent.hashOnly < 12) fail(`persisted queries: pages were not sent by hash: ${JSON.stringify(sent)}`);
  console.log(`apollo (persisted-queries link): ${JSON.stringify(sent)}`);
} finally {
  server.kill();
}
