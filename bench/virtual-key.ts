/**
 * The virtual key of the bench's "virtual key" variant: every per-request check on (RPM, TPM, a budget; limits in
 * memory), none of them ever reached. `pnpm bench` and `instructions.ts` send their load with it.
 */
export const VIRTUAL_KEY_BODY = {
  name: 'bench',
  rpm: 100_000_000,
  tpm: 100_000_000_000,
  budget: { amount: 1_000_000, period: 'total' },
};

/** Creates a virtual key through the admin API of the gateway at `url` and returns its secret. */
export async function createVirtualKey(url: string, masterKey: string): Promise<string> {
  const response = await fetch(`${url}/admin/keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${masterKey}` },
    body: JSON.stringify(VIRTUAL_KEY_BODY),
  });
  if (response.status !== 201) throw new Error(`POST /admin/keys: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { key: string }).key;
}
