// How a model id is written differs by where it comes from: dated snapshots (gpt-4o-mini-2024-07-18,
// claude-3-5-sonnet-20241022), moving aliases (-latest), Bedrock's region prefixes and versions
// (us.anthropic.claude-sonnet-4-20250514-v1:0), Volcengine's -YYMMDD builds, Vertex's @date, Gemini's models/.
// The catalog keys the plain id; these rules peel one decoration at a time, and every intermediate id is a
// candidate, tried in order, so an exact entry for a dated snapshot still wins over its family.
// Nothing here guesses across families: gpt-4o-mini never becomes gpt-4o, because only suffixes of a known
// shape are removed and the result must then match an entry exactly.

// Longer ids are not model ids; the bound also keeps every pattern below linear in practice.
const MAX_MODEL_ID_LENGTH = 256;

const STRIP_RULES: readonly RegExp[] = [
  /^models\//, // Gemini REST names
  /^(?:us|eu|apac|ap|jp|au|ca|global|us-gov)\./, // Bedrock cross-region inference profiles
  /-v\d{1,3}(?::\d{1,3})?$/, // Bedrock model versions: -v1:0, -v2:0, -v2
  /:\d{1,3}$/, // a bare Bedrock version
  /@(?:latest|\d{8})$/, // Vertex AI: claude-3-5-sonnet@20240620
  /-latest$/, // moving aliases
  /-\d{4}-\d{2}-\d{2}$/, // OpenAI snapshots: -2024-07-18
  /-\d{8}$/, // Anthropic snapshots: -20241022
  /-\d{6}$/, // Volcengine builds: -250615
  /-\d{4}$/, // older snapshots: gpt-4-0613, mistral-large-2411
];

/**
 * The ids to try for `model`, most specific first: the id itself (lowercased), then after each decoration is
 * removed. `modelIdCandidates('us.anthropic.claude-sonnet-4-20250514-v1:0')` ends with
 * `'anthropic.claude-sonnet-4'`.
 */
export function modelIdCandidates(model: string): string[] {
  let current = model.trim().toLowerCase();
  if (current.length === 0 || current.length > MAX_MODEL_ID_LENGTH) return current.length === 0 ? [] : [current];
  const candidates = [current];
  for (;;) {
    const next = stripOnce(current);
    if (next === current || next.length === 0) return candidates;
    current = next;
    candidates.push(current);
  }
}

function stripOnce(id: string): string {
  for (const rule of STRIP_RULES) {
    const next = id.replace(rule, '');
    if (next !== id) return next;
  }
  return id;
}
