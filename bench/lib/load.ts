import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon');

export interface LoadSettings {
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
}

export interface LoadResult {
  /** Successful (2xx) answers per second over the measured interval. */
  requestsPerSecond: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
}

interface AutocannonJson {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  latency: { p50: number; p99: number };
}

/** One autocannon process (the machine has few cores: one generator, never a cluster). */
function autocannon(url: string, connections: number, seconds: number): Promise<AutocannonJson> {
  const args = [AUTOCANNON, '--json', '--no-progress'];
  args.push('-c', String(connections), '-d', String(seconds), url);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (text) => (out += text));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!));
      } catch (error) {
        reject(new Error(`autocannon printed no result: ${out.slice(0, 500)} (${error})`));
      }
    });
  });
}

/**
 * Keep-alive GET load against one URL: a discarded warm-up (JIT, caches, connection setup),
 * then the measured run. Any error or non-2xx answer fails the run rather than skewing it.
 */
export async function measureGetRate(url: string, settings: LoadSettings): Promise<LoadResult> {
  await autocannon(url, settings.connections, settings.warmupSeconds);
  const result = await autocannon(url, settings.connections, settings.durationSeconds);
  const failures = result.errors + result.timeouts + result.non2xx;
  if (failures > 0) {
    throw new Error(
      `${url}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`,
    );
  }
  return {
    requestsPerSecond: result['2xx'] / result.duration,
    requests: result['2xx'],
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}
