/**
 * What a blackboard's full history costs. 10,000 small writes to a 1 MiB state, then the heap the
 * board and its state log retain, against one copy of the state. A full copy per version would be
 * 10,000x; structural sharing keeps it to what changed plus a fixed cost per log entry.
 *
 *   npx tsc -p tsconfig.build.json && node --expose-gc dist/bench/blackboard-memory.js
 */
import { z } from 'zod';
import { createBlackboard } from '../src/blackboard.js';

export interface MemoryScenario {
  name: string;
  writes: number;
  stateBytes: number;
  historyBytes: number;
  /** historyBytes / stateBytes; the target is below 10. */
  ratio: number;
  bytesPerWrite: number;
  boardWritesPerSecond: number;
}

export interface MemoryReport {
  scenarios: MemoryScenario[];
  /** A plain object with a version counter, for the write throughput baseline. */
  plainWritesPerSecond: number;
}

const DOCS = 16;
const PER_DOC = 16;
const TEXT = 4_000;
const KEYS = 16;

const Doc = z.object({ id: z.string(), title: z.string(), text: z.string(), tags: z.array(z.string()) });
const State = z.object({
  // About 1 MiB: 16 sections of 16 documents of 4,000 characters.
  corpus: z.record(z.string(), z.array(Doc)),
  notes: z.record(z.string(), z.string()),
  counters: z.record(z.string(), z.number()),
  status: z.record(z.string(), z.enum(['todo', 'doing', 'done'])),
});
type State = z.input<typeof State>;

/** A distinct, flat string (padEnd alone would give V8 a compact rope, understating the size). */
const flatText = (n: number): string =>
  JSON.parse(JSON.stringify(`${n}:`.padEnd(TEXT, String.fromCharCode(97 + (n % 26)))));

function makeState(): State {
  const corpus: State['corpus'] = {};
  for (let s = 0; s < DOCS; s++) {
    corpus[`s${s}`] = Array.from({ length: PER_DOC }, (_, d) => ({
      id: `s${s}d${d}`,
      title: `Document ${s}.${d}`,
      text: flatText(s * PER_DOC + d),
      tags: ['a', 'b'],
    }));
  }
  const keys = Array.from({ length: KEYS }, (_, k) => `k${k}`);
  return {
    corpus,
    notes: Object.fromEntries(keys.map((k) => [k, ''])),
    counters: Object.fromEntries(keys.map((k) => [k, 0])),
    status: Object.fromEntries(keys.map((k) => [k, 'todo'])),
  };
}

const gc = (globalThis as { gc?: () => void }).gc;

function heap(): number {
  // Some of what a dropped board held goes only on a later collection: a few, to read a settled heap.
  for (let i = 0; i < 4; i++) gc?.();
  return process.memoryUsage().heapUsed;
}

type Write = (board: ReturnType<typeof newBoard>, i: number) => void;

const newBoard = (initial: State) =>
  createBlackboard({ schema: State, initial, reducers: { counters: 'merge', 'counters.k0': 'sum' } });

const statuses = ['todo', 'doing', 'done'] as const;
const AGENTS = Array.from({ length: 8 }, (_, a) => `agent-${a}`);

/** Small writes to the small keys: notes (versioned), counters (reducers), statuses. */
const smallKeys: Write = (board, i) => {
  const k = `k${i % KEYS}`;
  const { version } = board.read();
  const kind = i % 4;
  const result =
    kind === 0
      ? board.write({
          key: `notes.${k}`,
          value: `note ${i}`,
          agentId: AGENTS[i % 8]!,
          expectedVersion: version,
        })
      : kind === 1
        ? board.write({ key: 'counters.k0', value: 1, agentId: AGENTS[i % 8]! })
        : kind === 2
          ? board.write({ key: 'counters', value: { [k]: i }, agentId: AGENTS[i % 8]! })
          : board.write({
              key: `status.${k}`,
              value: statuses[i % 3],
              agentId: AGENTS[i % 8]!,
              expectedVersion: version,
            });
  if (!result.ok) throw new Error(`write ${i} refused: ${result.message}`);
};

/** Small writes deep inside the big part: a document's title, copying its section's list. */
const deepKeys: Write = (board, i) => {
  const s = i % DOCS;
  const d = Math.floor(i / DOCS) % PER_DOC;
  const { version } = board.read();
  const result = board.write({
    key: ['corpus', `s${s}`, d, 'title'],
    value: `Title ${i}`,
    agentId: AGENTS[i % 8]!,
    expectedVersion: version,
  });
  if (!result.ok) throw new Error(`write ${i} refused: ${result.message}`);
};

function measure(name: string, writes: number, write: Write): MemoryScenario {
  const before = heap();
  let state: State | undefined = makeState();
  const stateBytes = heap() - before;
  const start = performance.now();
  let board: ReturnType<typeof newBoard> | undefined = newBoard(state);
  state = undefined; // the board keeps its own (validated, frozen) copy
  for (let i = 0; i < writes; i++) write(board, i);
  const seconds = (performance.now() - start) / 1_000;
  const historyBytes = heap() - before;
  if (board.log.size !== writes + 1) throw new Error('the log is missing entries');
  board = undefined;
  return {
    name,
    writes,
    stateBytes,
    historyBytes,
    ratio: historyBytes / stateBytes,
    bytesPerWrite: (historyBytes - stateBytes) / writes,
    boardWritesPerSecond: writes / seconds,
  };
}

/** The same read → write loop on a plain object with a version counter (no validation, no history). */
function plainThroughput(writes: number): number {
  const state = { version: 0, notes: {} as Record<string, string> };
  const start = performance.now();
  for (let i = 0; i < writes; i++) {
    const seen = state.version;
    if (seen !== state.version) throw new Error('unreachable');
    state.notes[`k${i % KEYS}`] = `note ${i}`;
    state.version++;
  }
  return writes / ((performance.now() - start) / 1_000);
}

export function blackboardMemory(writes = 10_000): MemoryReport {
  return {
    scenarios: [measure('small keys', writes, smallKeys), measure('deep in the corpus', writes, deepKeys)],
    plainWritesPerSecond: plainThroughput(writes),
  };
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

export function printMemoryReport(report: MemoryReport): void {
  if (!gc) console.log('(run with node --expose-gc for stable figures)');
  for (const s of report.scenarios) {
    console.log(
      `blackboard, ${s.name}: ${s.writes} writes to a ${kib(s.stateBytes)} state; history ${kib(s.historyBytes)} = ` +
        `${s.ratio.toFixed(2)}x one copy (target < 10x), ${s.bytesPerWrite.toFixed(0)} B per write; ` +
        `${Math.round(s.boardWritesPerSecond).toLocaleString('en')} writes/s`,
    );
  }
  const board = report.scenarios[0]!.boardWritesPerSecond;
  console.log(
    `plain object + version counter: ${Math.round(report.plainWritesPerSecond).toLocaleString('en')} writes/s ` +
      `(${(report.plainWritesPerSecond / board).toFixed(0)}x the blackboard, which validates, freezes and logs each write)`,
  );
}

// Run when executed directly, not when imported by bench/index.ts.
if (import.meta.url === `file://${process.argv[1]}`) printMemoryReport(blackboardMemory());
