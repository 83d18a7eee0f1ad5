import { type FsckReport, isClean } from '../store/fsck.ts';

/** A count followed by the first few names it counts. */
const listed = (label: string, names: string[]) =>
  `${label}: ${names.length}${names.length ? ' ' : ''}${names.slice(0, 10).join(', ')}`;

/** The fsck report as people read it: one finding per line, then the verdict. */
export function formatReport(report: FsckReport): string {
  const lines = [
    `temporary files of unfinished uploads: ${report.temporaryFiles}`,
    `released blobs still on disk: ${report.unreleasedGarbage}`,
    listed('stray files in blobs/', report.strayFiles),
  ];
  for (const category of ['copy', 'register', 'staging'] as const) {
    const stored = report.counters[category];
    const counted = report.recounted[category];
    const same = stored.usedSpace === counted.usedSpace && stored.fileCount === counted.fileCount;
    lines.push(
      `${category}: counters ${stored.fileCount} files / ${stored.usedSpace} bytes, ` +
        `recount ${counted.fileCount} files / ${counted.usedSpace} bytes` +
        (same ? '' : '  MISMATCH'),
    );
  }
  const { orphanStagingFiles, lostSessions, wrongSizeSessions } = report.staging;
  lines.push(
    `folders out of step: ${report.foldersOutOfStep}`,
    listed('files with missing bytes', report.missingBlobs),
    listed('files with wrong size', report.wrongSizeBlobs),
    `orphan blobs: ${report.orphanBlobs}`,
    `orphan staging files: ${orphanStagingFiles}`,
    listed('upload sessions with lost bytes', lostSessions),
    listed('upload sessions with a wrong-size staging file', wrongSizeSessions),
  );
  const verdict = isClean(report)
    ? 'store is consistent'
    : report.repaired
      ? 'differences repaired'
      : 'differences found; run with --repair';
  return [...lines, verdict].join('\n') + '\n';
}
