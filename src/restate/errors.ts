/** Why a call to the Restate server failed: not reachable, or an HTTP error it answered with. */
export type RestateErrorCode = 'unreachable' | 'http';

/** A failed call to the Restate server. Check with `isRestateError(e)`; `url` names the address. */
export class RestateError extends Error {
  readonly isRestateError = true;
  override readonly name = 'RestateError';
  constructor(
    readonly code: RestateErrorCode,
    readonly url: string,
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

export const isRestateError = (e: unknown): e is RestateError =>
  typeof e === 'object' && e !== null && (e as { isRestateError?: unknown }).isRestateError === true;

/** Largest response body read from the server (a run's result, a review list). */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
