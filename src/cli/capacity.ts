import { getHeapStatistics } from 'node:v8';
import { bytes } from './format.js';

/**
 * How many runs this process can keep in flight. Each in-flight run holds its actors, state log and
 * trace; measured ~35 KiB for a run of examples/report.js in its first step (node --expose-gc, heap
 * after / runs held). The estimate doubles it for runs further on, and spends at most half the
 * heap left, so the state logs, latencies and the collector have room.
 */
export const IN_FLIGHT_RUN_BYTES = 64 * 1024;

export interface Capacity {
  /** Most runs in flight this process is expected to hold. */
  maxInFlight: number;
  heapLimitBytes: number;
  heapFreeBytes: number;
}

export function loadCapacity(heap = getHeapStatistics()): Capacity {
  const free = Math.max(0, heap.heap_size_limit - heap.used_heap_size);
  return {
    maxInFlight: Math.max(1, Math.floor(free / 2 / IN_FLIGHT_RUN_BYTES)),
    heapLimitBytes: heap.heap_size_limit,
    heapFreeBytes: free,
  };
}

/** Why `concurrency` runs in flight do not fit, or undefined when they do. */
export function overCapacity(concurrency: number, capacity: Capacity = loadCapacity()): string | undefined {
  if (concurrency <= capacity.maxInFlight) return undefined;
  return (
    `${concurrency} runs in flight is more than this process can hold: about ${capacity.maxInFlight} ` +
    `(half of the ${bytes(capacity.heapFreeBytes)} free of a ${bytes(capacity.heapLimitBytes)} heap, ` +
    `at ~${bytes(IN_FLIGHT_RUN_BYTES)} per in-flight run). Lower --expected or --factor, or raise the ` +
    'heap limit (NODE_OPTIONS=--max-old-space-size=<MiB>)'
  );
}
