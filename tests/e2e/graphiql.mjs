// End-to-end: GraphiQL served by roombook, in headless Debian Chromium, with no network
// beyond loopback. Loads GraphiQL, runs `{ rooms { name } }` and reads the result pane, starts
// a subscription and sees a booking made over HTTP arrive, and saves a screenshot.
//
//   node tests/e2e/graphiql.mjs [path/to/roombook]    (default: target/debug/roombook)
// Env: CHROMIUM (default /usr/bin/chromium), SCREENSHOT (default docs/graphiql.png)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const bin = process.argv[2] ?? 'target/debug/roombook';
const screenshot = process.env.SCREENSHOT ?? 'docs/graphiql.png';
const server = spawn(bin, ['--addr', '127.0.0.1:0'], {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, RUST_LOG: 'info', NO_COLOR: '1' },
});
let serverLog = '';
const base = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`roombook did not start:\n${serverLog}`)), 30000);
  const onData = (chunk) => {
    serverLog += chunk;
    const m = serverLog.match(/http:\/\/(127\.0\.0\.1:\d+)\/graphql/);
    if (m) {
      clearTimeout(timer);
      resolve(`http://${m[1]}`);
    }
  };
  server.stdout.on('data', onData);
  server.stderr.on('data', onData);
  server.on('exit', (code) => reject(new Error(`roombook exited with ${code}:\n${serverLog}`)));
});

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

await browser.close();
rmSync(profile, { recursive: true, force: true });
server.kill('SIGTERM');
const failed = results.filter(([, e]) => e).length;
console.log(`e2e: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
