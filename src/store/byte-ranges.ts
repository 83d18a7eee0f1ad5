import type { ByteRange } from '../catalog/upload-sessions.ts';

/** Arithmetic on inclusive byte ranges kept merged and in ascending order. */

export const rangeLength = (range: ByteRange) => range.end - range.start + 1;

export const overlaps = (a: ByteRange, b: ByteRange) => a.start <= b.end && b.start <= a.end;

export const contains = (outer: ByteRange, inner: ByteRange) =>
  outer.start <= inner.start && inner.end <= outer.end;

export const formatRange = (range: ByteRange) => `${range.start}-${range.end}`;

export const formatRanges = (ranges: ByteRange[]) => ranges.map(formatRange).join(', ');

/** Adds a range that overlaps none of `ranges`, merging it with adjacent neighbours. */
export function addRange(ranges: ByteRange[], range: ByteRange): ByteRange[] {
  let merged = { ...range };
  const rest: ByteRange[] = [];
  for (const r of ranges) {
    if (r.end + 1 === merged.start) merged = { start: r.start, end: merged.end };
    else if (merged.end + 1 === r.start) merged = { start: merged.start, end: r.end };
    else rest.push(r);
  }
  return [...rest, merged].sort((a, b) => a.start - b.start);
}

/** The gaps of `[0, fileSize - 1]` not covered by `received`, in order. */
export function missingRanges(received: ByteRange[], fileSize: number): ByteRange[] {
  const gaps: ByteRange[] = [];
  let next = 0;
  for (const r of received) {
    if (r.start > next) gaps.push({ start: next, end: r.start - 1 });
    next = Math.max(next, r.end + 1);
  }
  if (next < fileSize) gaps.push({ start: next, end: fileSize - 1 });
  return gaps;
}

export const totalLength = (ranges: ByteRange[]) =>
  ranges.reduce((sum, range) => sum + rangeLength(range), 0);
