// Runs the browser tests against e2e/mock-server.mjs: `npm run e2e:mock` (after `npm run build`).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMockServer } from './mock-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// Short-lived access tokens so the silent refresh runs during the tests.
const server = createMockServer({ expiresIn: Number(process.env.MOCK_EXPIRES_IN ?? 8) });
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const files = readdirSync(here).filter((f) => f.endsWith('.test.mjs')).map((f) => join(here, f));
  const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...files], {
    stdio: 'inherit',
    env: { ...process.env, QIVR_URL: `http://127.0.0.1:${port}` },
  });
  child.on('exit', (code) => {
    server.close();
    process.exit(code ?? 1);
  });
});
