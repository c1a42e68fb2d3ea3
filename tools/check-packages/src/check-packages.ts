// `pnpm check:packages` (CI, after `pnpm build`): what a stranger gets from npm, checked the way they would use it.
// For every published package under packages/:
//   1. `pnpm pack` (which applies publishConfig: the @gw/source condition is gone, workspace:* is a version);
//   2. the packed manifest: LICENSE included and identical to the repository's, no source condition, no
//      workspace: range, engines.node >=22.12;
//   3. publint --strict and are-the-types-wrong on the tarball (offline);
//   4. the README's marked examples (see readme-examples.ts): an empty project in a temp dir gets the tarball
//      alone, plus the tarballs of the @gw packages it (or an example) imports and their peers, from the npm
//      registry or its cache; each example is type-checked by tsc under `module: nodenext` and under
//      `moduleResolution: bundler`, and the `run` ones run with node (type stripping) and must exit 0.
// Exits 1 with every problem listed; prints each step's time.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { importedPackages, readmeExamples } from './readme-examples.ts';

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  engines?: Record<string, string>;
  files?: string[];
  exports?: unknown;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

interface Workspace {
  dir: string;
  manifest: Manifest;
  tarball: string;
}

const root = resolve(import.meta.dirname, '../../..');
const bin = (name: string) => join(root, 'node_modules/.bin', name);
const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;
const problems: string[] = [];
const only = process.argv.slice(2);
const keep = process.env.GW_KEEP_TMP === '1';

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

function run(command: string, args: string[], cwd: string, timeoutMs = 300_000): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: process.env });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error === undefined ? '' : String(result.error)}`;
  return { ok: result.status === 0, output };
}

function timed<T>(label: string, step: () => T): T {
  const started = performance.now();
  try {
    return step();
  } finally {
    console.log(`  ${label}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

const work = mkdtempSync(join(tmpdir(), 'gw-packages-'));
const tarballs = join(work, 'tarballs');
mkdirSync(tarballs);
const started = performance.now();

// --- 1. pack ---------------------------------------------------------------------------------------------------
const workspaces = new Map<string, Workspace>();
for (const entry of readdirSync(join(root, 'packages')).sort()) {
  const dir = join(root, 'packages', entry);
  const manifest = readManifest(dir);
  if (manifest.private === true) continue;
  const before = new Set(readdirSync(tarballs));
  const packed = timed(`pack ${manifest.name}`, () => run('pnpm', ['pack', '--pack-destination', tarballs], dir));
  const made = readdirSync(tarballs).filter((name) => !before.has(name));
  if (!packed.ok || made.length !== 1 || made[0] === undefined) {
    problems.push(`${manifest.name}: pnpm pack failed\n${packed.output}`);
    continue;
  }
  workspaces.set(manifest.name, { dir, manifest, tarball: join(tarballs, made[0]) });
}
const selected = [...workspaces.values()].filter(
  (workspace) => only.length === 0 || only.some((name) => workspace.manifest.name.endsWith(name)),
);

// --- 2. the packed manifest ----------------------------------------------------------------------------------
const license = readFileSync(join(root, 'LICENSE'), 'utf8');
for (const { manifest, tarball } of selected) {
  const name = manifest.name;
  const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
  if (!listing.includes('package/LICENSE')) problems.push(`${name}: the tarball has no LICENSE`);
  else if (execFileSync('tar', ['-xzOf', tarball, 'package/LICENSE'], { encoding: 'utf8' }) !== license) {
    problems.push(`${name}: its LICENSE differs from the repository's (copy LICENSE into the package)`);
  }
  const packedText = execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' });
  const packed = JSON.parse(packedText) as Manifest;
  // Scripts may name the condition (a bench run from source); exports must not: the tarball has no src/.
  if (JSON.stringify(packed.exports).includes('@gw/source')) {
    problems.push(`${name}: the packed exports still name @gw/source`);
  }
  if (packedText.includes('workspace:')) problems.push(`${name}: the packed manifest has a workspace: range`);
  if (packed.engines?.node !== '>=22.12') {
    problems.push(`${name}: engines.node is ${packed.engines?.node}, expected >=22.12 (require() of ESM)`);
  }
}

// --- 3. publint and are-the-types-wrong ------------------------------------------------------------------------
for (const { manifest, tarball } of selected) {
  const lint = timed(`publint ${manifest.name}`, () => run(bin('publint'), ['run', tarball, '--strict'], root));
  if (!lint.ok) problems.push(`${manifest.name}: publint\n${lint.output}`);
  // ESM-only packages: the esm-only profile ignores node10 and require() from CommonJS, which an ESM-only
  // package cannot satisfy (CommonJS callers on Node >= 22.12 use require(esm), which attw does not model).
  const types = timed(`attw ${manifest.name}`, () =>
    run(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'ascii'], root),
  );
  if (!types.ok) problems.push(`${manifest.name}: are-the-types-wrong\n${types.output}`);
}

// --- 4. README examples in an empty project ------------------------------------------------------------------
function exactVersionOf(dependency: string): string {
  // The version the workspace tests with: the exact spec of a package's dev dependency, else the root's.
  for (const workspace of workspaces.values()) {
    const spec = workspace.manifest.devDependencies?.[dependency] ?? workspace.manifest.dependencies?.[dependency];
    if (spec !== undefined && !spec.startsWith('workspace:')) return spec;
  }
  const spec = rootManifest.devDependencies?.[dependency];
  if (spec === undefined) throw new Error(`no version of ${dependency} in the workspace`);
  return spec;
}

function withGwDependencies(names: Iterable<string>): Set<string> {
  const all = new Set<string>();
  const visit = (name: string) => {
    const workspace = workspaces.get(name);
    if (workspace === undefined || all.has(name)) return;
    all.add(name);
    for (const dependency of Object.keys(workspace.manifest.dependencies ?? {})) visit(dependency);
  };
  for (const name of names) visit(name);
  return all;
}

const tsconfigs = {
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
  bundler: { module: 'preserve', moduleResolution: 'bundler' },
};

for (const { dir, manifest } of selected) {
  const name = manifest.name;
  let examples;
  try {
    examples = readmeExamples(readFileSync(join(dir, 'README.md'), 'utf8'));
  } catch (error) {
    problems.push(`${name}: README.md: ${(error as Error).message}`);
    continue;
  }
  if (!examples.some((example) => example.mode === 'run')) {
    problems.push(`${name}: README.md has no <!-- example: run --> block`);
  }
  const imported = new Set(examples.flatMap((example) => importedPackages(example.code)));
  const gw = withGwDependencies([name, ...[...imported].filter((module) => workspaces.has(module))]);
  const installs = [...gw].map((module) => workspaces.get(module)?.tarball ?? module);
  const extras = new Set<string>();
  for (const module of gw) {
    const workspace = workspaces.get(module);
    for (const [peer] of Object.entries(workspace?.manifest.peerDependencies ?? {})) {
      const optional = workspace?.manifest.peerDependenciesMeta?.[peer]?.optional === true;
      if (!optional || imported.has(peer)) extras.add(peer);
    }
  }
  for (const module of imported) {
    if (gw.has(module) || extras.has(module)) continue;
    problems.push(`${name}: a README example imports ${module}, which is neither a @gw package nor a peer of one`);
  }
  const project = join(work, name.replace('/', '+'));
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'readme-examples', private: true, type: 'module' }, null, 2),
  );
  const versions = [...extras, 'typescript', '@types/node'].map((module) => `${module}@${exactVersionOf(module)}`);
  const install = timed(`npm install ${name}`, () =>
    run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...installs, ...versions],
      project,
    ),
  );
  if (!install.ok) {
    problems.push(`${name}: npm install of the tarballs failed\n${install.output}`);
    continue;
  }
  const files = examples.map((example, index) => {
    const file = `example-${index + 1}-line-${example.line}.ts`;
    writeFileSync(join(project, file), example.code);
    return file;
  });
  for (const [label, resolution] of Object.entries(tsconfigs)) {
    const config = {
      compilerOptions: {
        ...resolution,
        target: 'es2023',
        lib: ['es2023'],
        types: ['node'],
        strict: true,
        noEmit: true,
        allowImportingTsExtensions: true,
        erasableSyntaxOnly: true,
        verbatimModuleSyntax: true,
        // As most projects do (tsc --init): a dependency's own .d.ts problems (ioredis imports untyped redis-errors)
        // are not the example's. Our .d.ts files are checked by attw and by every use the examples make of them.
        skipLibCheck: true,
      },
      files,
    };
    writeFileSync(join(project, `tsconfig.${label}.json`), JSON.stringify(config, null, 2));
    const tsc = timed(`tsc (${label}) ${name}`, () =>
      run(join(project, 'node_modules/.bin/tsc'), ['-p', `tsconfig.${label}.json`], project),
    );
    if (!tsc.ok) problems.push(`${name}: README examples do not type-check under ${label}\n${tsc.output}`);
  }
  examples.forEach((example, index) => {
    const file = files[index];
    if (example.mode !== 'run' || file === undefined) return;
    const result = timed(`node ${name} README line ${example.line}`, () => run('node', [file], project, 60_000));
    if (!result.ok) problems.push(`${name}: the README example at line ${example.line} failed\n${result.output}`);
  });
}

if (keep) console.log(`kept ${work}`);
else rmSync(work, { recursive: true, force: true });
console.log(`check:packages took ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (problems.length > 0) {
  console.error(`\n${problems.length} problem(s):\n\n${problems.join('\n\n')}`);
  process.exit(1);
}
console.log(`${selected.length} packages: packed, publint and attw clean, README examples pass`);
