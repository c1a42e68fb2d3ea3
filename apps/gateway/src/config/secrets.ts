import type { GatewayConfig } from './schema.ts';

/**
 * Every secret value in a configuration (master key, provider keys, Bedrock secret keys and
 * session tokens, provider header values),
 * for the logger to scrub from anything it writes.
 *
 * @example
 * const logger = createLogger({ secrets: configSecrets(config) });
 */
export function configSecrets(config: GatewayConfig): string[] {
  const secrets: string[] = [];
  if (config.auth.masterKey !== undefined) secrets.push(config.auth.masterKey);
  if (config.metrics.bearerToken !== undefined) secrets.push(config.metrics.bearerToken);
  for (const provider of config.providers) {
    if (provider.apiKey !== undefined) secrets.push(provider.apiKey);
    // Bedrock's SigV4 credentials (the access key id is not secret, like a user name).
    if (provider.secretAccessKey !== undefined) secrets.push(provider.secretAccessKey);
    if (provider.sessionToken !== undefined) secrets.push(provider.sessionToken);
    // Vendors take keys in headers too (api-key, x-goog-api-key...); treat every value as secret.
    if (provider.headers !== undefined) secrets.push(...Object.values(provider.headers));
  }
  return secrets;
}
