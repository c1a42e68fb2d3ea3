// The whole public surface of @gw/cost. Explicit named exports only: anything not listed here is internal.

export { CostError, isCostError } from './cost-error.ts';
export type { CostErrorKind } from './cost-error.ts';

export {
  addMoney,
  compareMoney,
  formatMoney,
  money,
  MONEY_SCALE,
  moneyToNumber,
  subtractMoney,
  sumMoney,
  zeroMoney,
} from './money.ts';
export type { Money } from './money.ts';

export { priceInputSchema, toModelPrice } from './model-price.ts';
export type { ModelPrice, PriceInput, PriceSource, PriceTier, TokenRates } from './model-price.ts';

export { builtInPrices, createPriceCatalog, lookupPrice } from './price-catalog.ts';
export type { PriceCatalog, PriceCatalogOptions, PriceQuery } from './price-catalog.ts';

export { costOf, worstCaseCost } from './cost-of.ts';
export type { CostBreakdown, CostOptions, TokenBreakdown, UsageLike } from './cost-of.ts';

export { convert } from './convert.ts';
export type { ExchangeRates } from './convert.ts';

export { importLiteLLMPrices, LITELLM_MIN_MODELS, parseLiteLLMPrices } from './litellm-import.ts';
export type { LiteLLMImportOptions } from './litellm-import.ts';

export { countChatTokens, encodingForModel, getLoadedTokenizer, loadTokenizer } from './tokenizer.ts';
export type { EncodingName, Tokenizer } from './tokenizer.ts';

export { IMAGE_TOKENS_HIGH, IMAGE_TOKENS_LOW } from './chat-token-count.ts';
export type {
  ChatContentPart,
  ChatCountRequest,
  ChatMessageLike,
  ChatToolCallLike,
  ChatToolLike,
} from './chat-token-count.ts';

export { estimateChatTokens, estimateOutputTokens, estimateTokens } from './estimate-tokens.ts';
export type { EstimateFamily, EstimateOptions } from './estimate-tokens.ts';

export { DEFAULT_RESERVATION_TTL_MS, LATE_SETTLE_WINDOW_MS, MAX_BUDGET_UNITS } from './budget/budget.ts';
export type {
  Budget,
  BudgetCallOptions,
  BudgetReservation,
  BudgetState,
  BudgetStore,
  BudgetStoreStats,
  ReserveOptions,
  SettleStatus,
} from './budget/budget.ts';
export type { BudgetPeriod } from './budget/budget-period.ts';

export {
  BudgetExceededError,
  BudgetUnavailableError,
  isBudgetExceededError,
  isBudgetUnavailableError,
} from './budget/budget-errors.ts';

export { createMemoryBudgetStore } from './budget/memory-budget-store.ts';
export type { MemoryBudgetStore, MemoryBudgetStoreOptions } from './budget/memory-budget-store.ts';

export { createRedisBudgetStore } from './budget/redis-budget-store.ts';
export type {
  BudgetFailMode,
  BudgetRedisClient,
  BudgetStoreEvent,
  RedisBudgetStoreOptions,
} from './budget/redis-budget-store.ts';
