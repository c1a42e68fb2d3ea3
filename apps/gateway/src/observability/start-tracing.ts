import type { Logger } from './logger.ts';
import type { GatewayTracing } from './tracing.ts';

/** The environment variables that switch traces on, as OpenTelemetry SDKs read them. */
type TracingEnv = Readonly<Record<string, string | undefined>>;

/**
 * True when the environment asks for traces: an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), the SDK is not disabled (`OTEL_SDK_DISABLED=true`) and the traces exporter
 * is not `none`.
 *
 * @example
 * tracesRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }); // true
 */
export function tracesRequested(env: TracingEnv): boolean {
  const endpoint = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ?? env['OTEL_EXPORTER_OTLP_ENDPOINT'];
  if (endpoint === undefined || endpoint.trim() === '') return false;
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return false;
  return env['OTEL_TRACES_EXPORTER']?.trim().toLowerCase() !== 'none';
}

/**
 * Starts the OpenTelemetry SDK when the environment asks for traces (see {@link tracesRequested}); `undefined`
 * otherwise. The SDK is imported only then: a gateway without traces never loads it.
 *
 * @example
 * const tracing = await startTracing(logger);
 * const { app } = createApp({ config, logger, tracing });
 */
export async function startTracing(logger: Logger, env: TracingEnv = process.env): Promise<GatewayTracing | undefined> {
  if (!tracesRequested(env)) return undefined;
  const { createOtelTracing } = await import('./otel-tracing.ts');
  return createOtelTracing(logger, env);
}
