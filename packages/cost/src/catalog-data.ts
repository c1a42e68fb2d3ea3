import { z } from 'zod';
import anthropic from './catalog/anthropic.json' with { type: 'json' };
import azureOpenAI from './catalog/azure-openai.json' with { type: 'json' };
import bedrock from './catalog/bedrock.json' with { type: 'json' };
import dashscope from './catalog/dashscope.json' with { type: 'json' };
import deepseek from './catalog/deepseek.json' with { type: 'json' };
import doubao from './catalog/doubao.json' with { type: 'json' };
import gemini from './catalog/gemini.json' with { type: 'json' };
import groq from './catalog/groq.json' with { type: 'json' };
import hunyuan from './catalog/hunyuan.json' with { type: 'json' };
import mistral from './catalog/mistral.json' with { type: 'json' };
import moonshot from './catalog/moonshot.json' with { type: 'json' };
import openai from './catalog/openai.json' with { type: 'json' };
import qianfan from './catalog/qianfan.json' with { type: 'json' };
import zhipu from './catalog/zhipu.json' with { type: 'json' };
import { CostError } from './cost-error.ts';
import { type ModelPrice, priceInputSchema, priceSourceSchema, toModelPrice } from './model-price.ts';

// The bundled catalog: one JSON file per vendor kind, imported with `with { type: 'json' }` so that tsup inlines
// them into dist. Prices are decimal currency units per 1M tokens as the vendor's page writes them.

/** An entry whose prices are another vendor's (Claude on Bedrock, GPT on Azure's Global Standard). */
const sameAsEntrySchema = z.strictObject({
  model: z.string().min(1),
  aliases: z.array(z.string().min(1)).optional(),
  sameAs: z.strictObject({ vendor: z.string().min(1), model: z.string().min(1) }),
  source: priceSourceSchema.optional(),
});

const ownEntrySchema = priceInputSchema.omit({ vendor: true, currency: true });

/** Zod schema of one bundled catalog file (`src/catalog/<vendor>.json`). */
export const catalogFileSchema = z.strictObject({
  vendor: z.string().min(1),
  currency: z.string().regex(/^[A-Z]{3}$/),
  source: priceSourceSchema,
  models: z.array(z.union([sameAsEntrySchema, ownEntrySchema])).min(1),
});

/** The raw catalog files in lookup order (first match wins when a kind has no catalog of its own). */
export const CATALOG_FILES: readonly unknown[] = [
  openai,
  azureOpenAI,
  anthropic,
  bedrock,
  gemini,
  deepseek,
  moonshot,
  zhipu,
  dashscope,
  qianfan,
  hunyuan,
  doubao,
  mistral,
  groq,
];

/** A catalog entry and the other ids that name it. */
export interface CatalogEntry {
  readonly price: ModelPrice;
  readonly aliases: readonly string[];
}

/**
 * Validates and converts the bundled files. Called once, on the first lookup: importing the package parses
 * nothing.
 */
export function loadBuiltInEntries(): CatalogEntry[] {
  const files = CATALOG_FILES.map((file) => {
    const parsed = catalogFileSchema.safeParse(file);
    if (!parsed.success) throw new CostError('invalid_price', `bundled catalog: ${z.prettifyError(parsed.error)}`);
    return parsed.data;
  });
  const byKey = new Map<string, ModelPrice>();
  const entries: CatalogEntry[] = [];
  const pending: { vendor: string; source: ModelPrice['source']; entry: z.output<typeof sameAsEntrySchema> }[] = [];
  for (const file of files) {
    for (const entry of file.models) {
      if ('sameAs' in entry) {
        pending.push({ vendor: file.vendor, source: entry.source ?? file.source, entry });
        continue;
      }
      const price = toModelPrice(
        { ...entry, vendor: file.vendor, currency: file.currency },
        { source: entry.source ?? file.source },
      );
      byKey.set(`${file.vendor}/${entry.model}`, price);
      entries.push({ price, aliases: entry.aliases ?? [] });
    }
  }
  for (const { vendor, source, entry } of pending) {
    const target = byKey.get(`${entry.sameAs.vendor}/${entry.sameAs.model}`);
    if (target === undefined) {
      throw new CostError(
        'invalid_price',
        `bundled catalog: ${vendor}/${entry.model} refers to ${entry.sameAs.vendor}/${entry.sameAs.model}, which is not in the catalog`,
      );
    }
    entries.push({ price: { ...target, vendor, model: entry.model, source }, aliases: entry.aliases ?? [] });
  }
  return entries;
}
