// The Dockerfile and docker-compose.yml read as Docker would, without a container runtime: the image runs the built
// bundle as a non-root user on every interface with a health check on /health/live, and compose wires PostgreSQL
// and Redis into a configuration the gateway accepts. deploy/smoke-bundle.sh (run in CI after the build) starts the
// bundle itself the way the image does.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseConfigText } from '../config/load.ts';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const read = (path: string): Promise<string> => readFile(`${root}${path}`, 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}

/** The Dockerfile's instructions by stage, continuation lines joined and comments dropped. */
function stagesOf(text: string): Instruction[][] {
  const stages: Instruction[][] = [];
  for (const line of text.replace(/\\\n\s*/g, ' ').split('\n')) {
    const match = /^([A-Z]+)\s(.*)$/.exec(line.trim());
    if (match?.[1] === undefined || match[2] === undefined) continue;
    const instruction = { keyword: match[1], args: match[2].trim() };
    if (instruction.keyword === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

/** The environment an ENV instruction sets (`A=1 B=2` form). */
function envOf(stage: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { keyword, args } of stage) {
    if (keyword !== 'ENV') continue;
    for (const [, name, value] of args.matchAll(/(\w+)=(\S+)/g)) if (name !== undefined) env[name] = value ?? '';
  }
  return env;
}

/** Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`. */
function composeInterpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, name: string, operator?: string, operand?: string) => {
    const set = env[name];
    if (set !== undefined && set !== '') return set;
    if (operator === '?') throw new Error(`${name}: ${operand ?? ''}`);
    return operator === '-' ? (operand ?? '') : '';
  });
}

describe('Dockerfile', () => {
  it('builds in one stage and runs the bundle in another, as a non-root user on every interface', async () => {
    const text = await read('Dockerfile');
    const stages = stagesOf(text);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runtime = stages.at(-1) ?? [];
    const last = (keyword: string): string | undefined => runtime.findLast((entry) => entry.keyword === keyword)?.args;
    expect(last('USER')).toMatch(/^(?!root$|0$)\w+/);
    expect(last('HEALTHCHECK')).toContain('/health/live');
    const env = envOf(runtime);
    expect(env['HOST']).toBe('0.0.0.0');
    expect(last('EXPOSE')).toBe(env['PORT']);
    // Only the assembled bundle reaches the runtime image, and it is the one the smoke test starts.
    expect(runtime.filter((entry) => entry.keyword === 'COPY').map((entry) => entry.args)).toEqual([
      '--from=build /out /app',
    ]);
    expect(text).toContain('sh deploy/assemble-bundle.sh /out');
    expect(z.array(z.string()).parse(JSON.parse(last('CMD') ?? 'null'))).toContain('dist/main.js');
  });

  it('installs the pnpm that package.json pins', async () => {
    const { packageManager } = z.object({ packageManager: z.string() }).parse(JSON.parse(await read('package.json')));
    expect(await read('Dockerfile')).toContain(`ARG PNPM_VERSION=${packageManager.replace(/^pnpm@/, '')}`);
  });
});

describe('docker-compose.yml', () => {
  const serviceSchema = z.looseObject({
    environment: z.record(z.string(), z.string()).optional(),
    volumes: z.array(z.string()).optional(),
    healthcheck: z.looseObject({ test: z.array(z.string()) }).optional(),
    depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
    stop_grace_period: z.string().optional(),
  });
  const composeSchema = z.object({ services: z.record(z.string(), serviceSchema) });

  it('runs the gateway on PostgreSQL and Redis, with a configuration the gateway accepts', async () => {
    const compose = composeSchema.parse(parse(await read('docker-compose.yml')));
    const { gateway, postgres, redis } = compose.services;
    if (gateway === undefined || postgres === undefined || redis === undefined) throw new Error('missing service');
    const shell = { GW_MASTER_KEY: 'compose-master-key-123' };
    const env = Object.fromEntries(
      Object.entries(gateway.environment ?? {}).map(([name, value]) => [name, composeInterpolate(value, shell)]),
    );
    const database = new URL(env['DATABASE_URL'] ?? '');
    const pg = Object.fromEntries(
      Object.entries(postgres.environment ?? {}).map(([name, value]) => [name, composeInterpolate(value, shell)]),
    );
    expect([database.protocol, database.hostname, database.username, database.password, database.pathname]).toEqual([
      'postgres:',
      'postgres',
      pg['POSTGRES_USER'],
      pg['POSTGRES_PASSWORD'],
      `/${pg['POSTGRES_DB']}`,
    ]);
    expect(new URL(env['REDIS_URL'] ?? '').hostname).toBe('redis');
    expect(gateway.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
    expect(postgres.healthcheck?.test.join(' ')).toContain('pg_isready');
    expect(redis.healthcheck?.test.join(' ')).toContain('ping');

    // The container: the image's environment under compose's, and the gateway.yaml compose mounts where GW_CONFIG points.
    const image = envOf(stagesOf(await read('Dockerfile')).at(-1) ?? []);
    const [source, target] =
      (gateway.volumes ?? []).find((volume) => volume.includes('gateway.yaml'))?.split(':') ?? [];
    expect(target).toBe(image['GW_CONFIG']);
    const config = parseConfigText(await read(source ?? ''), { env: { ...image, ...env }, source: 'gateway.yaml' });
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.storage.url).toBe(env['DATABASE_URL']);
    expect(config.redis.url).toBe(env['REDIS_URL']);
    expect(config.auth.masterKey).toBe(shell.GW_MASTER_KEY);
    // Docker's stop timeout outlasts the drain (and its one-second grace).
    expect(Number.parseInt(gateway.stop_grace_period ?? '10', 10)).toBeGreaterThan(
      config.server.drainTimeoutMs / 1000 + 1,
    );
  });

  it('refuses to start the gateway without a master key', async () => {
    const compose = composeSchema.parse(parse(await read('docker-compose.yml')));
    const masterKey = compose.services['gateway']?.environment?.['GW_MASTER_KEY'] ?? '';
    expect(() => composeInterpolate(masterKey, {})).toThrow(/GW_MASTER_KEY/);
  });
});
