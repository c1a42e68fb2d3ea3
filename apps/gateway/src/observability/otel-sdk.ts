import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import {
  defaultResource,
  detectResources,
  resourceAttributesEnvDetector,
  resourceFromAttributes,
  serviceNameEnvDetector,
} from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type BatchSpanProcessorOptions,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Logger } from './logger.ts';

/** Environment variables, as OpenTelemetry SDKs read them. */
type OtelEnv = Readonly<Record<string, string | undefined>>;

/** The service name spans carry unless `OTEL_SERVICE_NAME` (or `service.name` in `OTEL_RESOURCE_ATTRIBUTES`) says. */
const DEFAULT_SERVICE_NAME = 'gw-gateway';

function ratioOf(argument: string | undefined, logger: Logger): number {
  if (argument === undefined || argument.trim() === '') return 1;
  const ratio = Number(argument);
  if (Number.isFinite(ratio) && ratio >= 0 && ratio <= 1) return ratio;
  logger.warn('OTEL_TRACES_SAMPLER_ARG is not a ratio between 0 and 1: sampling every trace', { value: argument });
  return 1;
}

/**
 * The sampler `OTEL_TRACES_SAMPLER` (and `OTEL_TRACES_SAMPLER_ARG`, the ratio) names, as the specification defines
 * them: `always_on`, `always_off`, `traceidratio`, and their `parentbased_` forms, which follow the sampling decision
 * of the client's `traceparent`. Default `parentbased_always_on`; a name not in that list is warned about and the
 * default used.
 *
 * @example
 * samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }, logger);
 */
export function samplerFromEnv(env: OtelEnv, logger: Logger): Sampler {
  const name = env['OTEL_TRACES_SAMPLER']?.trim().toLowerCase() ?? '';
  const argument = env['OTEL_TRACES_SAMPLER_ARG'];
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratioOf(argument, logger));
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratioOf(argument, logger)) });
    case '':
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    default:
      logger.warn('OTEL_TRACES_SAMPLER names a sampler the gateway does not have: using parentbased_always_on', {
        sampler: name,
      });
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

function positiveInteger(env: OtelEnv, name: string): number | undefined {
  const value = Number(env[name]);
  return Number.isInteger(value) && value > 0 ? value : undefined;
}

/** `OTEL_BSP_*`: how spans are batched before export (the SDK's defaults for what is not set). */
function batchOptions(env: OtelEnv, exporter: SpanExporter): BatchSpanProcessorOptions {
  const options: BatchSpanProcessorOptions = { exporter };
  const scheduledDelayMillis = positiveInteger(env, 'OTEL_BSP_SCHEDULE_DELAY');
  const exportTimeoutMillis = positiveInteger(env, 'OTEL_BSP_EXPORT_TIMEOUT');
  const maxQueueSize = positiveInteger(env, 'OTEL_BSP_MAX_QUEUE_SIZE');
  const maxExportBatchSize = positiveInteger(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE');
  if (scheduledDelayMillis !== undefined) options.scheduledDelayMillis = scheduledDelayMillis;
  if (exportTimeoutMillis !== undefined) options.exportTimeoutMillis = exportTimeoutMillis;
  if (maxQueueSize !== undefined) options.maxQueueSize = maxQueueSize;
  if (maxExportBatchSize !== undefined) options.maxExportBatchSize = maxExportBatchSize;
  return options;
}

/**
 * The OTLP/HTTP exporter of `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` (or `OTEL_EXPORTER_OTLP_PROTOCOL`): `http/protobuf`
 * (the default) or `http/json`. Only the one chosen is loaded. The exporter reads the endpoint, headers, timeout and
 * compression from the `OTEL_EXPORTER_OTLP_*` variables itself.
 */
async function exporterFromEnv(env: OtelEnv, logger: Logger): Promise<SpanExporter> {
  const protocol = (env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'] ?? env['OTEL_EXPORTER_OTLP_PROTOCOL'] ?? '')
    .trim()
    .toLowerCase();
  if (protocol === 'http/json') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter();
  }
  if (protocol !== '' && protocol !== 'http/protobuf') {
    logger.warn('the gateway exports traces over OTLP/HTTP only: using http/protobuf', { protocol });
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter();
}

/** The SDK's own warnings (a failed export above all) as gateway log lines. */
function diagnosticsTo(logger: Logger): DiagLogger {
  const write =
    (level: 'warn' | 'error') =>
    (message: string, ...args: unknown[]): void =>
      logger[level](`opentelemetry: ${message}`, args.length === 0 ? undefined : { details: args });
  const ignore = (): void => undefined;
  return { error: write('error'), warn: write('warn'), info: ignore, debug: ignore, verbose: ignore };
}

/**
 * A tracer provider configured from the standard environment variables: OTLP/HTTP exporter, batch span processor
 * (`OTEL_BSP_*`), sampler (`OTEL_TRACES_SAMPLER`), resource (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`;
 * service name `gw-gateway` by default). It is not registered globally: the gateway hands its tracer around itself.
 *
 * @example
 * const provider = await createTracerProvider(process.env, logger);
 * const tracer = provider.getTracer('gw-gateway');
 */
export async function createTracerProvider(env: OtelEnv, logger: Logger): Promise<TracerProvider> {
  diag.setLogger(diagnosticsTo(logger), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  const exporter = await exporterFromEnv(env, logger);
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: DEFAULT_SERVICE_NAME }))
    .merge(detectResources({ detectors: [resourceAttributesEnvDetector, serviceNameEnvDetector] }));
  return new TracerProvider({
    resource,
    sampler: samplerFromEnv(env, logger),
    spanProcessors: [new BatchSpanProcessor(batchOptions(env, exporter))],
  });
}
