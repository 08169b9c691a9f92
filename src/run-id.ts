/**
 * The one rule for run ids, shared by `runtime.start` and every store. A run id becomes a file name,
 * a key prefix, part of review ids and URLs: letters, digits, `_`, `-`, `.`, 1 to 200 characters,
 * not starting with a dot (so `.`, `..` and hidden files are out), no separators, and none of
 * Windows' reserved device names.
 */
const SAFE_RUN_ID = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$/;
const RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;

/** What a run id must be, phrased to follow "run id … must". */
export const RUN_ID_RULE =
  'must be 1 to 200 letters, digits, _ - . (not starting with a dot; no / \\ or other separators; not a device name such as "con")';

export const isSafeRunId = (runId: unknown): runId is string =>
  typeof runId === 'string' && SAFE_RUN_ID.test(runId) && !RESERVED.test(runId);
