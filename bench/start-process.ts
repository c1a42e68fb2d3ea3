import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** A started process and the URL it said it listens on. */
export interface Started {
  url: string;
  child: ChildProcess;
  /** Everything it has printed so far (stdout and stderr), e.g. callgrind's total once it has exited. */
  output: () => string;
}

/**
 * Starts `command` in bench/ and resolves once it prints the URL it listens on (on stdout or stderr); rejects if it
 * exits first, with what it printed. Its output keeps being read (and kept), so its pipes never fill.
 *
 * @example
 * const upstream = await startProcess(process.execPath, ['upstream.ts']);
 */
export function startProcess(command: string, args: string[], env: Record<string, string> = {}): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: here,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let seen = '';
    let started = false;
    const onData = (data: Buffer): void => {
      seen += data.toString();
      const match = started ? null : /(http:\/\/(?:127\.0\.0\.1|localhost):\d+)/.exec(seen);
      if (match?.[1]) {
        started = true;
        resolve({ url: match[1], child, output: () => seen });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${seen}`)));
  });
}
