// agentcharts/otel: export a runtime's spans to OpenTelemetry. Its own entry, so only users who
// install OpenTelemetry's API package (an optional peer) see its types.

export type { OtelExporterOptions, OtelTracer } from './trace/otel.js';
export { otelExporter } from './trace/otel.js';
