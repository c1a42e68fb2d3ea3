/* global process, URL */
// `pnpm start` runs this first: a fresh clone has no apps/console/dist yet, so the console is built once (a few
// seconds). A failed build is reported and the gateway starts anyway, without /console.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const index = fileURLToPath(new URL('../dist/index.html', import.meta.url));
if (!existsSync(index)) {
  process.stdout.write('gw: building the admin console (apps/console) once…\n');
  const result = spawnSync('pnpm', ['--filter', '@gw/console', 'build'], { stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write('gw: the console could not be built; the gateway starts without /console\n');
  }
}
