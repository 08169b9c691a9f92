import type { EscalationContext } from '../../machines/escalation-context.js';
import type { EventStream } from './event-stream.js';
import type { ReviewDecision, RunEvent } from './events.js';
import type { SpanAttributes } from './span.js';
import type { Recorder } from './tracer.js';

/** A review's decision, as its escalation actor's output. */
interface Decided {
  decision: ReviewDecision;
  by: string | null;
  decidedAt: number;
  reason: string;
}

/**
 * A run's human reviews as spans and progress events: an `escalation` span from the review's
 * opening to its decision, under its step's span, with `escalated` and `reviewed` events. Made at
 * a run's first review (most runs have none). A decision can be seen twice (told early, then
 * reported by XState): it is reported once.
 */
export class EscalationSpans {
  readonly #spans = new Map<string, number>();
  readonly #reviewed = new Set<string>();

  constructor(
    private readonly recorder: Recorder,
    private readonly events: EventStream<RunEvent>,
    private readonly runId: string,
  ) {}

  /** One snapshot of a review: `parent` is the span it goes under (its step's, else the run's). */
  onSnapshot(c: EscalationContext, status: string | undefined, output: Decided | undefined, parent: number) {
    let spanId = this.#spans.get(c.reviewId);
    if (spanId === undefined) {
      spanId = this.recorder.open(
        'escalation',
        c.stepId,
        'escalation',
        parent,
        c.agentId,
        c.stepId,
        c.openedAt,
        {
          review_id: c.reviewId,
          trigger: c.trigger,
          confidence: c.confidence,
        },
      );
      this.#spans.set(c.reviewId, spanId);
      this.events.emit({
        type: 'escalated',
        runId: this.runId,
        at: c.openedAt,
        stepId: c.stepId,
        reviewId: c.reviewId,
        reason: c.reason,
        agentId: c.agentId,
        confidence: c.confidence,
      });
    }
    if (status !== 'done' || !output || this.#reviewed.has(c.reviewId)) return;
    const attributes: SpanAttributes = { decision: output.decision };
    if (output.by) attributes.by = output.by;
    this.recorder.close(
      spanId,
      output.decision === 'approved' || output.decision === 'edited' ? 'success' : 'fallback',
      output.decidedAt,
      output.reason,
      undefined,
      attributes,
    );
    this.#reviewed.add(c.reviewId);
    this.events.emit({
      type: 'reviewed',
      runId: this.runId,
      at: output.decidedAt,
      stepId: c.stepId,
      reviewId: c.reviewId,
      decision: output.decision,
      reason: output.reason,
    });
  }
}
