import type { BlackboardPolicy, BoardState } from '../../machines/blackboard-write.js';
import { applyWrite } from '../../machines/blackboard-write.js';
import { emptyJournal } from '../../machines/journal.js';

/** A board at version 0, and writes to it under `policy` that throw when refused. */
export function boardWrites(policy: BlackboardPolicy) {
  const empty = (): BoardState => ({ version: 0, state: Object.freeze({}), journal: emptyJournal(16) });
  const write = (board: BoardState, key: string | string[], value: unknown, expectedVersion?: number) => {
    const { board: next, outcome } = applyWrite(
      board,
      {
        type: 'write',
        key,
        value,
        agentId: 'w',
        ...(expectedVersion === undefined ? {} : { expectedVersion }),
      },
      policy,
      0,
    );
    if (!outcome.ok || !next) throw new Error(`write refused: ${JSON.stringify(outcome)}`);
    return next;
  };
  return { empty, write };
}
