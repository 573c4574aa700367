// Starts a roombook binary on a free loopback port for the browser and calendar checks.
import { spawn } from 'node:child_process';

/** Starts `bin` with `env` added; resolves to [process, base URL] once it says where it listens. */
export async function startRoombook(bin, env = {}) {
  const server = spawn(bin, ['--addr', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: 'info', NO_COLOR: '1', ...env },
  });
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`roombook did not start:\n${log}`)), 30000);
    const onData = (chunk) => {
      log += chunk;
      const m = log.match(/http:\/\/(127\.0\.0\.1:\d+)\/graphql/);
      if (m) {
        clearTimeout(timer);
        resolve(`http://${m[1]}`);
      }
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
    server.on('exit', (code) => reject(new Error(`roombook exited with ${code}:\n${log}`)));
  });
  return [server, url];
}
