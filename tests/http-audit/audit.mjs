// Starts roombook on 127.0.0.1:0 and runs graphql-http's serverAudits against /graphql.
// Prints every result; exits non-zero if any MUST or SHOULD audit does not pass. Then checks
// that schema.graphql says what live introspection says, as graphql-js rebuilds and prints
// both (directives such as @specifiedBy included).
//
//   node tests/http-audit/audit.mjs [path/to/roombook]    (default: target/debug/roombook)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { serverAudits } from 'graphql-http';
import { buildClientSchema, buildSchema, getIntrospectionQuery, printSchema } from 'graphql';

const bin = process.argv[2] ?? 'target/debug/roombook';
const server = spawn(bin, ['--addr', '127.0.0.1:0'], {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, RUST_LOG: 'info', NO_COLOR: '1' },
});
const stop = () => server.kill('SIGTERM');
process.on('exit', stop);

const url = await new Promise((resolve, reject) => {
  let seen = '';
  const timer = setTimeout(() => reject(new Error(`roombook did not start:\n${seen}`)), 30000);
  const onData = (chunk) => {
    seen += chunk;
    const m = seen.match(/http:\/\/(127\.0\.0\.1:\d+)\/graphql/);
    if (m) {
      clearTimeout(timer);
      resolve(`http://${m[1]}/graphql`);
    }
  };
  server.stdout.on('data', onData);
  server.stderr.on('data', onData);
  server.on('exit', (code) => reject(new Error(`roombook exited with ${code}:\n${seen}`)));
});

let failed = 0;
let passed = 0;
let mayNotPassing = 0;
const counts = {};
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  const level = audit.name.split(' ')[0]; // MUST, SHOULD or MAY
  const pass = result.status === 'ok';
  if (pass) passed += 1;
  else if (level === 'MUST' || level === 'SHOULD') failed += 1;
  else mayNotPassing += 1;
  const mark = pass ? 'ok  ' : result.status.toUpperCase().padEnd(4);
  console.log(`${mark} ${audit.id} ${audit.name}${pass ? '' : `\n       ${result.reason}`}`);
}
const tally = Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ');
console.log(`\ngraphql-http audits by status: ${tally}`);
// MUST/SHOULD audits that do not pass fail the run; MAY audits that do not pass are skipped.
console.log(`audits: ${passed} passed, ${failed} failed, ${mayNotPassing} skipped`);

// schema.graphql against the live schema, both printed by graphql-js.
const introspection = await (await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    query: getIntrospectionQuery({ specifiedByUrl: true, directiveIsRepeatable: true }),
  }),
})).json();
const live = printSchema(buildClientSchema(introspection.data));
const file = printSchema(buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8')));
const sdlOk = live === file;
if (sdlOk) {
  console.log('sdl: schema.graphql matches live introspection');
} else {
  const [a, b] = [file.split('\n'), live.split('\n')];
  const i = a.findIndex((line, k) => line !== b[k]);
  console.log(`sdl: schema.graphql differs from live introspection at line ${i + 1}:\n- ${a[i]}\n+ ${b[i]}`);
}
stop();
process.exit(failed === 0 && sdlOk ? 0 : 1);
