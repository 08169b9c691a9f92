/** One unit of work in a run's trace. Plain data, so it can be logged, stored and exported. */
export type SpanStatus = 'running' | 'success' | 'error' | 'fallback';

export type SpanOperation = 'run' | 'step' | 'agent' | 'attempt' | 'gate' | 'breaker' | 'escalation';

export type SpanAttributes = Record<string, string | number | boolean>;

export interface Span {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  /** Human-readable, e.g. `agent researcher` or `attempt 2`. */
  name: string;
  operation: SpanOperation;
  agentId?: string;
  stepId?: string;
  status: SpanStatus;
  /** Clock time (ms) when the span started. */
  startedAt: number;
  endedAt?: number;
  durationMs?: number;
  /** Why it ended in error or fallback. */
  reason?: string;
  error?: { name: string; message: string };
  /** attempt, confidence, quality, breaker state, token usage … */
  attributes: SpanAttributes;
}

/** What a span starts with; the recorder adds ids, the trace id and the status. */
export interface SpanStart {
  name: string;
  operation: SpanOperation;
  /** Null or absent: a root span. */
  parentSpanId?: string | null;
  agentId?: string;
  stepId?: string;
  /** Clock time (ms); default: the recorder's clock now. */
  startedAt?: number;
  attributes?: SpanAttributes;
}

/** How a span ends. */
export interface SpanEnd {
  status: Exclude<SpanStatus, 'running'>;
  /** Clock time (ms); default: the recorder's clock now. */
  endedAt?: number;
  reason?: string;
  error?: { name: string; message: string };
  /** Merged over the attributes the span started with. */
  attributes?: SpanAttributes;
}

/** The seed's trace shape: `run.trace()`. */
export interface Trace {
  traceId: string;
  totalDurationMs: number;
  agentCalls: number;
  errors: number;
  spans: Span[];
}
