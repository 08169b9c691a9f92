import type { EscalationNotice } from '../../machines/escalation-context.js';

/** Told when a review opens: log it, alert someone, open a ticket. May be async; a throw is retried. */
export type EscalationHook = (notice: EscalationNotice, context: { signal: AbortSignal }) => unknown;

/** Where the default hook writes its line. */
export type LineWriter = (line: string) => void;

/**
 * The default `onEscalation`: one structured JSON line per review (not a bare print), so log
 * collectors can alert on `event: "agentcharts.escalation"`. The output itself is left out: it may be
 * large or sensitive; the review API has it.
 */
export function jsonLineHook(write: LineWriter = (line) => console.warn(line)): EscalationHook {
  return (notice) => {
    write(
      JSON.stringify({
        level: 'warn',
        event: 'agentcharts.escalation',
        reviewId: notice.reviewId,
        runId: notice.runId,
        stepId: notice.stepId,
        agentId: notice.agentId,
        trigger: notice.trigger,
        confidence: notice.confidence,
        reason: notice.reason,
        placeholder: notice.placeholder,
        openedAt: notice.openedAt,
        expiresAt: notice.expiresAt,
        attempt: notice.attempt,
      }),
    );
  };
}
