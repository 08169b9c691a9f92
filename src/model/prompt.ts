import type { PreviousAttempt } from '../../machines/agent-context.js';
import { adoptUntrusted } from '../../machines/thenable.js';
import { formatValue } from '../errors.js';

/** What a prompt function gets: the agent's input, the attempt (1-based) and the previous attempt. */
export interface PromptArgs<I> {
  input: I;
  attempt: number;
  previous: PreviousAttempt | null;
}

/**
 * A string is the task; the input follows it as JSON. A function builds the whole prompt itself.
 * Omitted: the input alone (a string input as is, anything else as JSON).
 */
export type PromptOption<I> = string | ((args: PromptArgs<I>) => string | Promise<string>);

/** Longest rendering of a previous output fed back into the prompt; longer ones are cut. */
export const MAX_FEEDBACK_CHARS = 4000;

export async function renderPrompt<I>(
  prompt: PromptOption<I> | undefined,
  args: PromptArgs<I>,
  feedback: boolean,
): Promise<string> {
  let text: string;
  if (typeof prompt === 'function') {
    // Adopted, never awaited: a thenable that resolves to itself would starve every timer.
    const adopted = await adoptUntrusted(prompt(args));
    if (!adopted.ok) throw new TypeError(`prompt() ${adopted.reason}`);
    const built = adopted.value;
    if (typeof built !== 'string' || built.trim() === '') {
      throw new TypeError(`prompt() must return a non-empty string, received ${formatValue(built)}`);
    }
    text = built;
  } else if (typeof prompt === 'string') {
    text = args.input === undefined ? prompt : `${prompt}\n\nInput:\n${asText(args.input)}`;
  } else {
    text = asText(args.input);
  }
  return feedback && args.previous ? `${text}\n\n${retryFeedback(args.previous)}` : text;
}

/** Tells the model why its previous attempt was not accepted, with what it returned. */
export function retryFeedback(previous: PreviousAttempt): string {
  const which = `attempt ${previous.attempt}`;
  switch (previous.outcome) {
    case 'invalid': {
      if (typeof previous.output === 'string') {
        return [
          `Your previous reply (${which}) was not a valid JSON object:`,
          fence(previous.output),
          'Reply with a single JSON object that matches the schema.',
        ].join('\n');
      }
      const problems =
        previous.issues && previous.issues.length > 0
          ? previous.issues.map((i) => `- ${i.path}: ${i.message}`)
          : [`- ${previous.reason ?? 'unknown'}`];
      return [
        `Your previous answer (${which}) was rejected:`,
        ...problems,
        ...(previous.output === undefined ? [] : ['It was:', fence(asText(previous.output))]),
        'Reply with a corrected JSON object that fixes every problem listed.',
      ].join('\n');
    }
    case 'notDone':
      return [
        `Your previous answer (${which}) was valid but did not complete the task. Improve on it:`,
        fence(asText(previous.output)),
      ].join('\n');
    default:
      return `The previous attempt (${which}) failed: ${previous.reason ?? previous.outcome}. Try again.`;
  }
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return formatValue(value);
  }
}

function fence(text: string): string {
  const cut = text.length > MAX_FEEDBACK_CHARS ? `${text.slice(0, MAX_FEEDBACK_CHARS)}…` : text;
  return `\`\`\`\n${cut}\n\`\`\``;
}
