import type { SettleHook } from './settle-once.ts';

/**
 * One settle hook that hands every outcome to each subscriber in turn (ledger, budgets, metrics, logs). A subscriber
 * that throws or rejects does not keep the others from their outcome; the first failure is reported once all ran.
 *
 * @example
 * const settle = combineSettleHooks([ledger.settle, warnUnpriced(logger), deps.settle]);
 */
export function combineSettleHooks(hooks: ReadonlyArray<SettleHook | undefined>): SettleHook | undefined {
  const present = hooks.filter((hook): hook is SettleHook => hook !== undefined);
  if (present.length === 0) return undefined;
  if (present.length === 1) return present[0];
  return (outcome) => {
    let failure: { error: unknown } | undefined;
    const pending: Array<Promise<void>> = [];
    for (const hook of present) {
      try {
        const result = hook(outcome);
        if (result !== undefined) pending.push(result);
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
    if (pending.length === 0) return undefined;
    return Promise.all(pending).then(() => undefined);
  };
}
