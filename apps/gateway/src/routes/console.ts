import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono } from 'hono';
import type { GatewayEnv } from '../gateway-env.ts';

// Where the built console is, relative to this module: next to the bundle's dist/ (deploy/assemble-bundle.sh copies
// it to ./console), or in the workspace's apps/console/dist, from the built apps/gateway/dist/main.js or from this
// source file (apps/gateway/src/routes/).
const CANDIDATES = ['../console', '../../console/dist', '../../../console/dist'];

/**
 * The directory of the built console to serve: `GW_CONSOLE_DIR` when set (`off` serves none), else the first
 * candidate next to the gateway that holds an `index.html`; undefined when there is none (the console was not built).
 *
 * @example
 * findConsoleDir(process.env); // '/app/console'
 */
export function findConsoleDir(env: Record<string, string | undefined>): string | undefined {
  const configured = env['GW_CONSOLE_DIR'];
  if (configured === 'off') return undefined;
  const candidates =
    configured !== undefined && configured !== ''
      ? [configured]
      : CANDIDATES.map((relative) => fileURLToPath(new URL(relative, import.meta.url)));
  return candidates.find((directory) => existsSync(join(directory, 'index.html')));
}

// A path whose last segment has no dot is a page of the single-page app (`/console/requests`), not a file.
const isPage = (path: string): boolean => !(path.split('/').at(-1) ?? '').includes('.');

/**
 * Serves the console's static files at `/console/*` (no auth: the pages hold no data; everything they show comes
 * from `/admin/*` with the master key), with `index.html` for every page path so a reload of `/console/keys` works.
 * Hashed assets are cached for a year, `index.html` never, so a new build shows on the next load.
 *
 * @example
 * addConsoleRoutes(app, '/app/console');
 */
export function addConsoleRoutes(app: Hono<GatewayEnv>, directory: string): void {
  app.get('/console', (c) => c.redirect('/console/', 301));
  app.get(
    '/console/*',
    serveStatic({
      root: directory,
      rewriteRequestPath: (path) => path.slice('/console'.length),
      onFound: (path, c) => {
        c.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
    async (c, next) => {
      if (!isPage(c.req.path)) return next();
      return serveStatic<GatewayEnv>({
        root: directory,
        path: 'index.html',
        onFound: () => {
          c.header('cache-control', 'no-cache');
        },
      })(c, next);
    },
  );
}
