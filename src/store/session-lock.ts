export type Release = () => void;

interface Waiter {
  exclusive: boolean;
  grant(): void;
}

/**
 * A readers-writer lock for one upload session: chunks share it (each reserves its own byte
 * range), commit, delete and expiry take it alone. Waiters are served in arrival order, so a
 * commit is not starved by a stream of chunks.
 */
export class SessionLock {
  private readers = 0;
  private writer = false;
  private readonly queue: Waiter[] = [];

  acquire(exclusive: boolean, signal?: AbortSignal): Promise<Release> {
    if (this.queue.length === 0 && this.grantable(exclusive)) {
      return Promise.resolve(this.take(exclusive));
    }
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        exclusive,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.take(exclusive));
        },
      };
      const onAbort = () => {
        this.queue.splice(this.queue.indexOf(waiter), 1);
        reject(signal!.reason);
        this.pump();
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  /** The exclusive lock if nobody holds or awaits the lock, else undefined. */
  tryExclusive(): Release | undefined {
    return this.queue.length === 0 && this.grantable(true) ? this.take(true) : undefined;
  }

  private grantable(exclusive: boolean) {
    return !this.writer && (!exclusive || this.readers === 0);
  }

  private take(exclusive: boolean): Release {
    if (exclusive) this.writer = true;
    else this.readers++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (exclusive) this.writer = false;
      else this.readers--;
      this.pump();
    };
  }

  private pump() {
    while (this.queue.length > 0 && this.grantable(this.queue[0].exclusive)) {
      this.queue.shift()!.grant();
    }
  }
}
