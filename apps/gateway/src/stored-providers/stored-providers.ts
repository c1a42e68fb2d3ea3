import { isConfigError } from '../config/config-error.ts';
import { validateConfig, type ProviderSettings } from '../config/schema.ts';
import { GatewayError } from '../gateway-error.ts';
import type { Logger } from '../observability/logger.ts';
import type { ProviderStore, StoredProviderRow, StoredProviderWrite } from './provider-store.ts';
import { isSecretBoxError, type SecretBox } from './secret-box.ts';
import { toSnake } from '../snake-case.ts';

/** The settings fields that are secrets: sealed at rest, masked in every answer. */
export const SECRET_FIELDS = ['apiKey', 'secretAccessKey', 'sessionToken', 'headers'] as const;

type SecretField = (typeof SECRET_FIELDS)[number];
type Secrets = Partial<Pick<ProviderSettings, SecretField>>;

/** A stored provider as read: its settings with the secrets opened, or why they could not be. */
export interface StoredProvider {
  readonly row: StoredProviderRow;
  /** The usable settings; `undefined` when the row cannot be used (see `problem`). */
  readonly settings: ProviderSettings | undefined;
  /** Why the row cannot be used: its secrets do not open, or its settings are no longer valid. */
  readonly problem: string | undefined;
}

/** Settings in the configuration's spelling (camelCase), as the admin API hands them over. */
export type ProviderInput = Record<string, unknown>;

/** The providers added through the admin API: validated, sealed, stored, and handed to the routing. */
export interface StoredProviders {
  /** Every stored provider, its secrets opened where possible. */
  list(): Promise<StoredProvider[]>;
  get(id: string): Promise<StoredProvider | undefined>;
  /** Validates and stores a new provider; GatewayError 400 (invalid), 409 (id taken), 503 (no GW_SECRET_KEY). */
  create(id: string, input: ProviderInput): Promise<StoredProvider>;
  /** Changes the fields given (`null` clears one); the same errors, and 404 for an unknown id. */
  update(id: string, patch: ProviderInput): Promise<StoredProvider>;
  /** False when there was no such provider. */
  remove(id: string): Promise<boolean>;
  /** Records the vendor's model list. */
  setSyncedModels(id: string, models: readonly string[]): Promise<void>;
  /** The usable settings of every stored provider, for the routing (the others are logged, once per load). */
  usable(): Promise<ProviderSettings[]>;
}

/** Options of {@link createStoredProviders}. */
export interface StoredProvidersOptions {
  store: ProviderStore;
  /** Undefined when `GW_SECRET_KEY` is unset (or unusable): secrets can then be neither written nor read. */
  box: SecretBox | undefined;
  /** Why there is no box, for the error a write gets. */
  boxProblem: string;
  /** Ids the configuration file defines: the file wins, so the API refuses them. */
  fileIds: () => ReadonlySet<string>;
  logger: Logger;
}

function invalid(message: string, param: string | null): GatewayError {
  return new GatewayError(param === null ? message : `${param}: ${message}`, {
    status: 400,
    type: 'invalid_request_error',
    code: 'invalid_provider',
    param,
  });
}

/**
 * Validates one provider with the configuration's own schema (the same rules and messages as gateway.yaml), and
 * reports a problem by its admin API field (`max_concurrency`, not `providers[0].maxConcurrency`).
 */
function validate(id: string, fields: ProviderInput): ProviderSettings {
  let providers: ProviderSettings[];
  try {
    ({ providers } = validateConfig({ providers: [{ ...fields, id }] }));
  } catch (error) {
    if (!isConfigError(error)) throw error;
    const issue = error.issues[0];
    const path = (issue?.path ?? '').replace(/^providers\[0\]\.?/, '');
    throw invalid(issue?.message ?? 'invalid provider', path === '' ? null : toSnake(path));
  }
  const provider = providers[0];
  if (provider === undefined) throw invalid('the provider cannot be read', null);
  return provider;
}

function split(settings: ProviderSettings): { plain: Record<string, unknown>; secrets: Secrets } {
  const plain: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    // The id and the kind have columns of their own.
    if (key === 'id' || key === 'kind' || value === undefined) continue;
    if ((SECRET_FIELDS as readonly string[]).includes(key)) secrets[key] = value;
    else plain[key] = value;
  }
  return { plain, secrets: secretsOf(secrets) };
}

function secretsOf(value: unknown): Secrets {
  if (value === null || typeof value !== 'object') return {};
  const secrets: Secrets = {};
  const fields: Array<[string, unknown]> = Object.entries(value);
  for (const [key, field] of fields) {
    if ((key === 'apiKey' || key === 'secretAccessKey' || key === 'sessionToken') && typeof field === 'string') {
      secrets[key] = field;
    } else if (key === 'headers' && field !== null && typeof field === 'object') {
      secrets.headers = Object.fromEntries(
        Object.entries(field).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
      );
    }
  }
  return secrets;
}

/**
 * The stored providers over the database and the secret box. Ids the file defines are refused (the file wins; a
 * stored provider whose id the file takes later is shadowed, see live-routing.ts). A provider with a secret cannot
 * be written without `GW_SECRET_KEY`; one whose secrets do not open (another key) is kept out of the routing and
 * shown with the reason.
 *
 * @example
 * const providers = createStoredProviders({ store: storage.providers, box, boxProblem: '', fileIds, logger });
 * await providers.create('glm-eu', { kind: 'zhipu', apiKey: '…', maxConcurrency: 1 });
 */
export function createStoredProviders(options: StoredProvidersOptions): StoredProviders {
  const { store, box, logger } = options;

  const open = (row: StoredProviderRow): StoredProvider => {
    let secrets: Secrets = {};
    if (row.secrets !== null) {
      if (box === undefined) return { row, settings: undefined, problem: `its keys are sealed: ${options.boxProblem}` };
      try {
        secrets = secretsOf(JSON.parse(box.open(row.secrets, row.id)));
      } catch (error) {
        if (!isSecretBoxError(error)) throw error;
        return { row, settings: undefined, problem: 'its keys do not open with this GW_SECRET_KEY' };
      }
    }
    const fields = row.settings !== null && typeof row.settings === 'object' ? row.settings : {};
    try {
      return { row, settings: validate(row.id, { ...fields, ...secrets, kind: row.kind }), problem: undefined };
    } catch (error) {
      return { row, settings: undefined, problem: error instanceof Error ? error.message : 'invalid settings' };
    }
  };

  const write = (id: string, settings: ProviderSettings): StoredProviderWrite => {
    const { plain, secrets } = split(settings);
    const hasSecrets = Object.keys(secrets).length > 0;
    if (hasSecrets && box === undefined) {
      throw new GatewayError(`Provider keys are stored encrypted and cannot be: ${options.boxProblem}`, {
        status: 503,
        type: 'service_unavailable_error',
        code: 'secret_key_unset',
      });
    }
    return {
      kind: settings.kind,
      settings: plain,
      secrets: hasSecrets && box !== undefined ? box.seal(JSON.stringify(secrets), id) : null,
    };
  };

  const refuseFileId = (id: string): void => {
    if (options.fileIds().has(id)) {
      throw new GatewayError(`The provider "${id}" is defined in the configuration file; change it there.`, {
        status: 409,
        type: 'invalid_request_error',
        code: 'provider_in_file',
      });
    }
  };

  return {
    list: async () => (await store.list()).map(open),
    get: async (id) => {
      const row = await store.get(id);
      return row === undefined ? undefined : open(row);
    },
    async create(id, input) {
      refuseFileId(id);
      const settings = validate(id, input);
      const row = await store.create(id, write(id, settings));
      if (row === undefined) {
        throw new GatewayError(`A provider with the id "${id}" exists already; change it with PATCH.`, {
          status: 409,
          type: 'invalid_request_error',
          code: 'provider_exists',
        });
      }
      return open(row);
    },
    async update(id, patch) {
      refuseFileId(id);
      const current = await store.get(id);
      if (current === undefined) throw noProvider(id);
      const opened = open(current);
      if (opened.settings === undefined) {
        throw new GatewayError(`The provider "${id}" cannot be changed: ${opened.problem ?? 'unreadable'}.`, {
          status: 409,
          type: 'invalid_request_error',
          code: 'provider_unreadable',
        });
      }
      const merged: ProviderInput = { ...opened.settings };
      for (const [key, value] of Object.entries(patch)) {
        if (value === null) delete merged[key];
        else merged[key] = value;
      }
      const settings = validate(id, merged);
      const row = await store.update(id, write(id, settings));
      if (row === undefined) throw noProvider(id);
      return open(row);
    },
    remove: (id) => {
      refuseFileId(id);
      return store.remove(id);
    },
    async setSyncedModels(id, models) {
      await store.setSyncedModels(id, models);
    },
    async usable() {
      const providers = await store.list();
      const usable: ProviderSettings[] = [];
      for (const provider of providers.map(open)) {
        if (provider.settings !== undefined) usable.push(provider.settings);
        else
          logger.warn(`stored provider "${provider.row.id}" is not used: ${provider.problem ?? 'unreadable'}`, {
            provider: provider.row.id,
          });
      }
      return usable;
    },
  };
}

/**
 * The 404 of an unknown provider id.
 *
 * @example
 * if (provider === undefined) throw noProvider(id);
 */
export function noProvider(id: string): GatewayError {
  return new GatewayError(`No provider with the id "${id}".`, {
    status: 404,
    type: 'not_found_error',
    code: 'provider_not_found',
  });
}
