import {
  createProvider,
  getProviderKindInfo,
  isProviderError,
  type Provider,
  type ProviderKind,
  type Transport,
} from '@gw/providers';
import type { ProviderSettings } from '../config/schema.ts';

/** A provider that can take requests. */
export interface EnabledProvider {
  readonly id: string;
  readonly kind: ProviderKind;
  readonly provider: Provider;
}

/** A configured provider the gateway will not route to, and why (never contains the key). */
export interface DisabledProvider {
  readonly id: string;
  readonly kind: ProviderKind;
  readonly reason: string;
}

/** Every configured provider, split into usable and disabled ones. Built once at start. */
export interface ProviderRegistry {
  readonly enabled: ReadonlyMap<string, EnabledProvider>;
  readonly disabled: ReadonlyMap<string, DisabledProvider>;
}

// Bedrock derives its URL from the region and signs with AWS keys or sends a Bedrock API key: one of the two is needed.
function bedrockProblem(entry: ProviderSettings): string | undefined {
  if (entry.region === undefined) return 'kind "bedrock" needs a region';
  const signed = entry.accessKeyId !== undefined && entry.secretAccessKey !== undefined;
  if (!signed && (entry.apiKey === undefined || entry.apiKey === '')) {
    return 'kind "bedrock" needs accessKeyId and secretAccessKey, or an apiKey';
  }
  return undefined;
}

/** Options for {@link createProviderRegistry}. */
export interface ProviderRegistryOptions {
  /** `fetch` handed to every provider, used when no `transport` is given. */
  fetch?: typeof globalThis.fetch | undefined;
  /** What sends every provider call (see `Transport`); default `fetch`, else `@gw/providers`' shared HTTP client. */
  transport?: Transport | undefined;
  /** What an upstream may make a provider hold or wait for (`upstream:`, `timeouts.bodyIdleMs`); the package's defaults when absent. */
  limits?: { maxResponseBytes: number; maxEventSize: number; bodyIdleTimeoutMs: number } | undefined;
  /** Every secret the gateway holds: scrubbed from whatever any vendor sends back, not only its own key. */
  secrets?: readonly string[] | undefined;
}

/**
 * Creates one provider instance per configured provider, once, at start. A provider whose kind
 * needs a key but has none, whose adapter is not supported yet, or that cannot be created is
 * disabled with a reason instead of failing the whole gateway.
 *
 * @example
 * const registry = createProviderRegistry(config.providers);
 * for (const { id, reason } of registry.disabled.values()) logger.warn('provider disabled', { provider: id, reason });
 */
export function createProviderRegistry(
  settings: readonly ProviderSettings[],
  options: ProviderRegistryOptions = {},
): ProviderRegistry {
  const enabled = new Map<string, EnabledProvider>();
  const disabled = new Map<string, DisabledProvider>();
  for (const entry of settings) {
    const info = getProviderKindInfo(entry.kind);
    let reason: string | undefined;
    if (!info.supported) reason = `the "${entry.kind}" adapter is not supported yet`;
    else if (info.requiresApiKey && (entry.apiKey === undefined || entry.apiKey === '')) reason = 'apiKey is empty';
    else if (entry.kind === 'bedrock') reason = bedrockProblem(entry);
    else if (info.defaultBaseUrl === undefined && entry.baseUrl === undefined)
      reason = `kind "${entry.kind}" needs a baseUrl`;
    if (reason === undefined) {
      try {
        const provider = createProvider({
          kind: entry.kind,
          id: entry.id,
          ...(entry.apiKey === undefined ? {} : { apiKey: entry.apiKey }),
          ...(entry.baseUrl === undefined ? {} : { baseUrl: entry.baseUrl }),
          ...(entry.headers === undefined ? {} : { headers: entry.headers }),
          ...(entry.apiVersion === undefined ? {} : { apiVersion: entry.apiVersion }),
          ...(entry.region === undefined ? {} : { region: entry.region }),
          ...(entry.accessKeyId === undefined ? {} : { accessKeyId: entry.accessKeyId }),
          ...(entry.secretAccessKey === undefined ? {} : { secretAccessKey: entry.secretAccessKey }),
          ...(entry.sessionToken === undefined ? {} : { sessionToken: entry.sessionToken }),
          ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
          ...(options.transport === undefined ? {} : { transport: options.transport }),
          ...options.limits,
          ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
        });
        enabled.set(entry.id, { id: entry.id, kind: entry.kind, provider });
        continue;
      } catch (error) {
        // Provider errors are already scrubbed of keys; anything else gets no message at all.
        reason = isProviderError(error) ? `cannot be created: ${error.message}` : 'cannot be created';
      }
    }
    disabled.set(entry.id, { id: entry.id, kind: entry.kind, reason });
  }
  return { enabled, disabled };
}
