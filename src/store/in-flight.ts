/** One body being counted while it streams in. */
export interface Flight {
  add(count: number): void;
  /** Stops counting the body: it is in the catalog's counters now, or gone. */
  land(): void;
}

/**
 * Bytes being received right now and not yet in the catalog: bodies of whole-file uploads in
 * their temporary files, and chunks being written into staging files. `$/Info` adds them to
 * `UsedByStaging`, so what is on disk is counted while it arrives, not only once acknowledged.
 */
export class InFlightBytes {
  files = 0;
  bytes = 0;

  /** Starts counting a body; `newFile` when it occupies a file nothing counts yet. */
  takeOff(newFile: boolean): Flight {
    let bytes = 0;
    if (newFile) this.files++;
    return {
      add: (count) => {
        bytes += count;
        this.bytes += count;
      },
      land: () => {
        if (newFile) this.files--;
        this.bytes -= bytes;
        bytes = 0;
        newFile = false;
      },
    };
  }
}
