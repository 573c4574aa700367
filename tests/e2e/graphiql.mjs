// End-to-end: GraphiQL served by roombook, in headless Debian Chromium, with no network
// beyond loopback. Loads GraphiQL, runs `{ rooms { name } }` and reads the result pane, starts
// a subscription and sees a booking made over HTTP arrive, and saves a screenshot. Then, on a
// second server in secured mode, puts a token in the Headers tab and sees it reach both the
// HTTP requests and the subscription's WebSocket.
//
//   node tests/e2e/graphiql.mjs [path/to/roombook]    (default: target/debug/roombook)
// Env: CHROMIUM (default /usr/bin/chromium), SCREENSHOT (default docs/graphiql.png)
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startRoombook } from './server.mjs';

const bin = process.argv[2] ?? 'target/debug/roombook';
const screenshot = process.env.SCREENSHOT ?? 'docs/graphiql.png';

const [server, base] = await startRoombook(bin);
// Secured mode with a secret made now; the token is minted here (HS256), as an identity
// provider would.
const secret = randomBytes(48).toString('base64');
const [securedServer, securedBase] = await startRoombook(bin, { ROOMBOOK_JWT_SECRET: secret });
const b64url = (s) => Buffer.from(s).toString('base64url');
const claims = { sub: 'e2e-admin', name: 'E2E Admin', email: 'admin@example.com', roles: ['roombook-admin'],
  exp: Math.floor(Date.now() / 1000) + 3600 };
const unsigned = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
const token = `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;

async function gql(query, variables = {}, at = base, headers = {}) {
  const res = await fetch(`${at}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const profile = mkdtempSync(join(tmpdir(), 'roombook-e2e-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1400, height: 800 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});

const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push([name, null]);
    console.log(`ok   ${name}`);
  } catch (e) {
    results.push([name, e]);
    console.log(`FAIL ${name}\n     ${e.message.split('\n').join('\n     ')}`);
  }
}

// Anything not served by roombook itself would need the internet: refuse it, and remember it.
const external = [];
await browser.route('**/*', (route) => {
  const url = new URL(route.request().url());
  if (url.hostname === '127.0.0.1') return route.continue();
  external.push(url.href);
  return route.abort();
});

const page = browser.pages()[0] ?? (await browser.newPage());
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
const editor = (sel) => page.locator(sel).first().innerText();
const result = () => editor('.graphiql-response');

await check('GET / redirects to GraphiQL, which loads from roombook alone', async () => {
  await page.goto(`${base}/`);
  if (!page.url().endsWith('/graphql')) throw new Error(`landed on ${page.url()}`);
  await page.locator('.graphiql-container').waitFor({ timeout: 20000 });
  await page.locator('.graphiql-query-editor').waitFor();
  if (external.length) throw new Error(`requests left the machine: ${external.join(', ')}`);
  if (pageErrors.length) throw new Error(`page errors: ${pageErrors.join('; ')}`);
});

await check('it opens with an example that works on an empty server', async () => {
  const text = await editor('.graphiql-query-editor');
  if (!text.includes('query Rooms')) throw new Error(`editor holds: ${text}`);
  await page.locator('.graphiql-execute-button').click();
  await page.waitForFunction(() => document.querySelector('.graphiql-response')?.innerText.includes('"rooms": []'), null, { timeout: 10000 });
});

await check('the docs explorer shows the schema', async () => {
  await page.locator('button[aria-label="Show Documentation Explorer"]').click();
  const docs = page.locator('.graphiql-doc-explorer');
  await docs.getByText('Subscription', { exact: false }).first().waitFor({ timeout: 10000 });
  const text = await docs.innerText();
  if (text.includes('Error fetching schema') || !text.includes('Mutation')) throw new Error(`docs pane: ${text}`);
});

await check('{ rooms { name } } runs and its result shows', async () => {
  await gql('mutation { createRoom(input: {name: "Blue Room", capacity: 8}) { id } }');
  await page.goto(`${base}/graphql?query=${encodeURIComponent('{ rooms { name } }')}`);
  await page.locator('.graphiql-execute-button').click();
  await page.waitForFunction(() => document.querySelector('.graphiql-response')?.innerText.includes('Blue Room'), null, { timeout: 10000 });
  const text = await result();
  if (!text.includes('"name": "Blue Room"')) throw new Error(`result pane: ${text}`);
});

await check('a subscription shows a booking made over HTTP', async () => {
  const { rooms } = await gql('{ rooms { id } }');
  const sub = 'subscription Live {\n  reservationEvents {\n    kind\n    at\n    reservation { title start end room { name } }\n  }\n}';
  await page.goto(`${base}/graphql?query=${encodeURIComponent(sub)}`);
  await page.locator('.graphiql-execute-button').click();
  const start = new Date(Date.now() + 86400000);
  start.setUTCMinutes(0, 0, 0);
  for (let i = 0; i < 20; i += 1) {
    await page.waitForTimeout(500);
    const s = new Date(start.getTime() + i * 3600000);
    const e = new Date(s.getTime() + 1800000);
    await gql(`mutation($i: BookRoomInput!) { bookRoom(input: $i) { id } }`, {
      i: { roomId: rooms[0].id, start: s.toISOString(), end: e.toISOString(), title: `from the e2e test ${i}`,
        organizerName: 'Ada', organizerEmail: 'ada@example.com' },
    });
    const text = await result();
    if (text.includes('BOOKED') && text.includes('from the e2e test')) {
      const docs = page.locator('button[aria-label="Show Documentation Explorer"]');
      if (await docs.count()) await docs.click();
      await page.getByText('Subscription', { exact: false }).first().waitFor({ timeout: 5000 }).catch(() => {});
      await page.screenshot({ path: screenshot });
      return;
    }
  }
  throw new Error(`no event in the result pane: ${await result()}`);
});

/** Types `text` into GraphiQL's Headers tab, as a person would paste it. */
async function setHeaders(text) {
  await page.getByRole('button', { name: 'Headers' }).first().click();
  // The tab shown is the editor without `hidden` (CodeMirror 5 keeps its API on the element).
  const shown = '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror';
  await page.locator(shown).waitFor({ timeout: 5000 });
  await page.evaluate(([sel, value]) => document.querySelector(sel).CodeMirror.setValue(value), [shown, text]);
}

await check('secured mode: the Headers tab\'s Authorization reaches HTTP requests', async () => {
  await page.goto(`${securedBase}/graphql?query=${encodeURIComponent('{ me { subject isAdmin } }')}`);
  await page.locator('.graphiql-execute-button').click();
  await page.waitForFunction(() => document.querySelector('.graphiql-response')?.innerText.includes('"subject": null'), null, { timeout: 10000 });
  await setHeaders(JSON.stringify({ Authorization: `Bearer ${token}` }));
  await page.locator('.graphiql-execute-button').click();
  await page.waitForFunction(() => document.querySelector('.graphiql-response')?.innerText.includes('e2e-admin'), null, { timeout: 10000 });
  const html = await (await fetch(`${securedBase}/graphql`, { headers: { accept: 'text/html' } })).text();
  if (html.includes(secret) || html.includes(token)) throw new Error('the page carries a secret');
});

await check('secured mode: ... and the subscription\'s connection_init', async () => {
  const auth = { authorization: `Bearer ${token}` };
  const { createRoom } = await gql('mutation { createRoom(input: {name: "Secure Room", capacity: 4}) { id } }', {}, securedBase, auth);
  const sub = 'subscription { reservationEvents { kind reservation { title organizerName } } }';
  await page.goto(`${securedBase}/graphql?query=${encodeURIComponent(sub)}`);
  await setHeaders(JSON.stringify({ Authorization: `Bearer ${token}` }));
  await page.locator('.graphiql-execute-button').click();
  const s = new Date(Date.now() + 86400000);
  s.setUTCMinutes(0, 0, 0);
  for (let i = 0; i < 20; i += 1) {
    await page.waitForTimeout(500);
    const text = await result();
    if (text.includes('UNAUTHENTICATED')) throw new Error(`subscribed anonymously: ${text}`);
    const start = new Date(s.getTime() + i * 3600000);
    await gql('mutation($i: BookRoomInput!) { bookRoom(input: $i) { id } }', {
      i: { roomId: createRoom.id, start: start.toISOString(), end: new Date(start.getTime() + 1800000).toISOString(),
        title: `secured ${i}` },
    }, securedBase, auth);
    if ((await result()).includes('secured ')) return;
  }
  throw new Error(`no event in the result pane: ${await result()}`);
});

await browser.close();
rmSync(profile, { recursive: true, force: true });
server.kill('SIGTERM');
securedServer.kill('SIGTERM');
const failed = results.filter(([, e]) => e).length;
console.log(`e2e: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
