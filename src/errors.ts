/**
 * Errors thrown by agentcharts itself. Agent failures are never thrown: they are results.
 * Each class carries a marker property so `isX` guards work across realms and bundles,
 * where `instanceof` does not.
 */

/** A bad option, caught when something is defined, not when it runs. */
export class OptionsError extends RangeError {
  readonly isOptionsError = true;
  override readonly name = 'OptionsError';
  constructor(
    /** What was being defined, e.g. `defineAgent("researcher")`. */
    readonly where: string,
    /** Dotted path of the offending option, e.g. `limits.maxIterations`. */
    readonly field: string,
    /** The value received, as given. */
    readonly received: unknown,
    /** What the option must be. */
    readonly expected: string,
  ) {
    super(`${where}: ${field || 'options'} ${expected}, received ${formatValue(received)}`);
  }
}

export const isOptionsError = (e: unknown): e is OptionsError =>
  typeof e === 'object' && e !== null && (e as { isOptionsError?: unknown }).isOptionsError === true;

/** A short, safe rendering of any value for an error message. Never throws (a hostile Proxy included). */
export function formatValue(value: unknown): string {
  try {
    return render(value);
  } catch {
    return `[unprintable ${typeof value}]`;
  }
}

function render(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `[Function${value.name ? ` ${value.name}` : ''}]`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
