import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A temporary folder for one benchmark plus everything it started. Disposing it stops the
 * processes (last started first) and deletes the folder, also when the run is interrupted.
 */
export class Workspace {
  private readonly cleanups: (() => Promise<void>)[] = [];
  private disposed = false;

  private constructor(readonly dir: string) {}

  static async create(name: string): Promise<Workspace> {
    return new Workspace(await mkdtemp(join(tmpdir(), `imagestore-bench-${name}-`)));
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  defer(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const cleanup of this.cleanups.reverse()) {
      await cleanup().catch((error) => console.error(`cleanup failed: ${error}`));
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Runs a benchmark body in a fresh workspace that is always cleaned up. */
export async function withWorkspace(
  name: string,
  body: (workspace: Workspace) => Promise<void>,
): Promise<void> {
  const workspace = await Workspace.create(name);
  const interrupted = () => {
    workspace.dispose().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    await body(workspace);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await workspace.dispose();
  }
}
