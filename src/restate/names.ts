// The Restate service names agentcharts registers. One set per cluster: every worker serves them all.
export const RUN_SERVICE = 'agentcharts.Run';
export const AGENT_SERVICE = 'agentcharts.Agent';
export const BREAKER_OBJECT = 'agentcharts.Breaker';
export const REVIEWS_OBJECT = 'agentcharts.Reviews';
/** The one key of the reviews index object: every pending review of the cluster. */
export const REVIEWS_KEY = 'pending';
/** One object per review (key = its review id): which run holds it, so a decision needs no parsing. */
export const REVIEW_OBJECT = 'agentcharts.Review';
