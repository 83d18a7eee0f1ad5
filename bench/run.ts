import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm run bench [-- <filter>...]`: runs every `bench/*.bench.ts` (or those whose name contains
 * one of the filters) one after the other, each in its own process so none inherits another's
 * heap, JIT state or open servers. Exits non-zero if any benchmark failed.
 */
const benchDir = dirname(fileURLToPath(import.meta.url));
const projectDir = dirname(benchDir);
const filters = process.argv.slice(2);

const all = (await readdir(benchDir)).filter((name) => name.endsWith('.bench.ts')).sort();
const selected =
  filters.length === 0 ? all : all.filter((name) => filters.some((f) => name.includes(f)));
if (selected.length === 0) {
  console.error(`no benchmark matches ${filters.join(', ')}; there are: ${all.join(', ')}`);
  process.exit(2);
}

function runBenchmark(name: string): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(benchDir, name)], {
    cwd: projectDir,
    stdio: 'inherit',
  });
  return new Promise((resolve) => {
    child.once('error', () => resolve(1));
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const outcomes: string[] = [];
for (const name of selected) {
  console.log(`\n=== ${name} ===`);
  const started = Date.now();
  const code = await runBenchmark(name);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  outcomes.push(`${name}: ${code === 0 ? 'done' : `FAILED (exit ${code})`} in ${seconds} s`);
  if (code !== 0) process.exitCode = 1;
}
console.log(`\n=== summary ===\n${outcomes.join('\n')}`);
