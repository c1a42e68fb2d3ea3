/**
 * Every item of an async iterable, in order.
 *
 * @example
 * const chunks = await collect(provider.chatStream(request));
 */
export async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

/**
 * Runs `action`, expecting it to throw; returns what it threw. Fails the test when it does not throw.
 *
 * @example
 * const error = await thrownBy(() => client.chat.completions.create(request));
 */
export async function thrownBy(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/**
 * Waits until `check` returns (or resolves to) true, polling every 20 ms; fails after `timeoutMs` (a generous bound
 * for things that must happen "promptly").
 *
 * @example
 * await waitFor(() => upstream.requests[0]?.aborted === true);
 * await waitFor(async () => (await fetch(url)).status === 200, 5000);
 */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
