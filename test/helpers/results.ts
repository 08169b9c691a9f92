import type { AgentFallback, AgentSuccess, FallbackStatus } from '../../machines/agent-result.js';
import { FALLBACK_CONTENT } from '../../machines/agent-result.js';
import { classifyQuality } from '../../machines/quality.js';

const timing = { attempts: [], startedAt: 0, endedAt: 0, durationMs: 0 };

/** A successful agent result with the seed's quality bands. */
export function success<T = string>(
  confidence: number,
  content = 'draft' as T,
  agentId = 'researcher',
): AgentSuccess<T> {
  return {
    ...timing,
    agentId,
    status: 'succeeded',
    fallback: false,
    reason: 'done',
    content,
    confidence,
    quality: classifyQuality(confidence),
  };
}

/** An agent fallback result (timeout, max iterations, …). */
export function fallback(status: FallbackStatus = 'timedOut', agentId = 'researcher'): AgentFallback<string> {
  return {
    ...timing,
    agentId,
    status,
    fallback: true,
    reason: `ended: ${status}`,
    content: FALLBACK_CONTENT[status],
    confidence: 0,
    quality: 'LOW',
  };
}
