// A renderer for the subset of Go's text/template (with Helm's functions) that deploy/helm/gw uses, so that the chart
// can be rendered and checked where no helm binary is installed. Anything outside the subset throws instead of
// rendering something helm would not: an unknown function, action or token is an error, never a guess.
//
// Supported: {{ pipeline }}, {{- and -}} trimming, {{/* comments */}}, if / else / else if / end, range (over lists
// and maps, maps in sorted key order, with `$key, $value :=` or the dot), with / else / end; operands .Field.Chain,
// $, $var.Field, "strings", numbers, true/false/nil and (sub pipelines); pipes into the last argument; the functions
// in FUNCTIONS below.
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';

type Value = unknown;

type Node =
  | { type: 'text'; text: string }
  | { type: 'output'; pipeline: Pipeline }
  | { type: 'if'; branches: Array<{ condition: Pipeline; body: Node[] }>; otherwise: Node[] }
  | { type: 'range'; keyVar?: string; valueVar?: string; source: Pipeline; body: Node[]; otherwise: Node[] }
  | { type: 'with'; source: Pipeline; body: Node[]; otherwise: Node[] };

type Operand =
  // `base`: the dot, or a variable's name (`$`, `$value`).
  | { type: 'field'; base: string; path: string[] }
  | { type: 'literal'; value: Value }
  | { type: 'call'; name: string }
  | { type: 'group'; pipeline: Pipeline };

type Pipeline = Array<Operand[]>;

/** A template the renderer cannot read, or one that called `fail`. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

interface Action {
  kind: 'text' | 'action';
  text: string;
}

// Splits a template into text and actions, applying the `{{-` and `-}}` whitespace trimming to the text around them.
function lex(template: string): Action[] {
  const parts: Action[] = [];
  let index = 0;
  let trimNext = false;
  while (index < template.length) {
    const open = template.indexOf('{{', index);
    let text = template.slice(index, open === -1 ? template.length : open);
    if (trimNext) text = text.trimStart();
    if (open === -1) {
      parts.push({ kind: 'text', text });
      break;
    }
    const close = template.indexOf('}}', open);
    if (close === -1) throw new TemplateError(`unclosed action at offset ${open}`);
    let inner = template.slice(open + 2, close);
    if (inner.startsWith('- ')) {
      text = text.trimEnd();
      inner = inner.slice(2);
    }
    trimNext = inner.endsWith(' -');
    if (trimNext) inner = inner.slice(0, -2);
    parts.push({ kind: 'text', text });
    inner = inner.trim();
    if (!(inner.startsWith('/*') && inner.endsWith('*/'))) parts.push({ kind: 'action', text: inner });
    index = close + 2;
  }
  return parts;
}

// Tokens of one action: strings, numbers, punctuation, `:=`, variables and field chains, identifiers.
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const pattern = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|:=|[()|,]|-?\d+(?:\.\d+)?|\$?\w*(?:\.\w+)+|\$\w*|\.|[a-z_]\w*)/giy;
  let match: RegExpExecArray | null;
  let end = 0;
  while ((match = pattern.exec(text)) !== null && match[1] !== undefined) {
    tokens.push(match[1]);
    end = pattern.lastIndex;
  }
  if (text.slice(end).trim() !== '') throw new TemplateError(`cannot read "${text}" from "${text.slice(end)}"`);
  return tokens;
}

function parseOperand(tokens: string[], position: { index: number }): Operand {
  const token = tokens[position.index];
  if (token === undefined) throw new TemplateError('expected an operand');
  position.index += 1;
  if (token === '(') {
    const pipeline = parsePipeline(tokens, position, ')');
    if (tokens[position.index] !== ')') throw new TemplateError('unclosed (');
    position.index += 1;
    return { type: 'group', pipeline };
  }
  if (token.startsWith('"')) return { type: 'literal', value: JSON.parse(token) };
  if (token.startsWith('`')) return { type: 'literal', value: token.slice(1, -1) };
  if (/^-?\d/.test(token)) return { type: 'literal', value: Number(token) };
  if (token === 'true' || token === 'false') return { type: 'literal', value: token === 'true' };
  if (token === 'nil') return { type: 'literal', value: undefined };
  if (token === '.') return { type: 'field', base: 'dot', path: [] };
  if (token.startsWith('.')) return { type: 'field', base: 'dot', path: token.slice(1).split('.') };
  if (token.startsWith('$')) {
    const [name = '$', ...path] = token.split('.');
    return { type: 'field', base: name, path };
  }
  return { type: 'call', name: token };
}

function parsePipeline(tokens: string[], position: { index: number }, stop?: string): Pipeline {
  const pipeline: Pipeline = [];
  let command: Operand[] = [];
  while (position.index < tokens.length && tokens[position.index] !== stop) {
    if (tokens[position.index] === '|') {
      if (command.length === 0) throw new TemplateError('empty command before |');
      pipeline.push(command);
      command = [];
      position.index += 1;
      continue;
    }
    command.push(parseOperand(tokens, position));
  }
  if (command.length === 0) throw new TemplateError('empty pipeline');
  pipeline.push(command);
  return pipeline;
}

function pipelineOf(text: string): Pipeline {
  const tokens = tokenize(text);
  const position = { index: 0 };
  const pipeline = parsePipeline(tokens, position);
  if (position.index !== tokens.length) throw new TemplateError(`unexpected "${tokens[position.index]}" in "${text}"`);
  return pipeline;
}

// Builds the node tree; returns at `end`/`else` so that the caller decides what they close.
function parseNodes(actions: Action[], position: { index: number }): { nodes: Node[]; stop: string | undefined } {
  const nodes: Node[] = [];
  while (position.index < actions.length) {
    const action = actions[position.index];
    position.index += 1;
    if (action === undefined) break;
    if (action.kind === 'text') {
      if (action.text !== '') nodes.push({ type: 'text', text: action.text });
      continue;
    }
    const [keyword = ''] = action.text.split(/\s+/, 1);
    const rest = action.text.slice(keyword.length).trim();
    if (keyword === 'end' || keyword === 'else') return { nodes, stop: action.text };
    if (keyword === 'if') nodes.push(parseIf(rest, actions, position));
    else if (keyword === 'range' || keyword === 'with') nodes.push(parseBlock(keyword, rest, actions, position));
    else if (['define', 'template', 'block', 'break', 'continue'].includes(keyword)) {
      throw new TemplateError(`{{ ${keyword} }} is outside the supported subset`);
    } else nodes.push({ type: 'output', pipeline: pipelineOf(action.text) });
  }
  return { nodes, stop: undefined };
}

function parseIf(condition: string, actions: Action[], position: { index: number }): Node {
  const branches: Array<{ condition: Pipeline; body: Node[] }> = [];
  let current = condition;
  for (;;) {
    const { nodes, stop } = parseNodes(actions, position);
    branches.push({ condition: pipelineOf(current), body: nodes });
    if (stop === 'end') return { type: 'if', branches, otherwise: [] };
    if (stop === 'else') {
      const closing = parseNodes(actions, position);
      if (closing.stop !== 'end') throw new TemplateError('if/else without end');
      return { type: 'if', branches, otherwise: closing.nodes };
    }
    if (stop?.startsWith('else if ') === true) current = stop.slice('else if '.length);
    else throw new TemplateError('if without end');
  }
}

function parseBlock(keyword: 'range' | 'with', head: string, actions: Action[], position: { index: number }): Node {
  const declaration = /^(\$\w+)(?:\s*,\s*(\$\w+))?\s*:=(.+)$/.exec(head);
  const { nodes, stop } = parseNodes(actions, position);
  let otherwise: Node[] = [];
  if (stop === 'else') {
    const closing = parseNodes(actions, position);
    if (closing.stop !== 'end') throw new TemplateError(`${keyword}/else without end`);
    otherwise = closing.nodes;
  } else if (stop !== 'end') throw new TemplateError(`${keyword} without end`);
  if (keyword === 'with') {
    if (declaration !== null) throw new TemplateError('with $var := is outside the supported subset');
    return { type: 'with', source: pipelineOf(head), body: nodes, otherwise };
  }
  if (declaration === null) return { type: 'range', source: pipelineOf(head), body: nodes, otherwise };
  const [, first = '', second, source = ''] = declaration;
  const sourceText = source.trim();
  return {
    type: 'range',
    ...(second === undefined ? { valueVar: first } : { keyVar: first, valueVar: second }),
    source: pipelineOf(sourceText),
    body: nodes,
    otherwise,
  };
}

/** Go's notion of an empty value: false, 0, nil, "" and empty lists and maps. */
function truthy(value: Value): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

function integer(value: Value, name: string): number {
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number)) throw new TemplateError(`${name}: not a number`);
  return Math.trunc(number);
}

function text(value: Value): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new TemplateError('a list or map cannot be written as text (use toYaml)');
}

function printf(format: Value, ...args: Value[]): string {
  let index = 0;
  return String(format).replace(/%([sdvq%])/g, (_, verb: string) => {
    if (verb === '%') return '%';
    const argument = args[index];
    index += 1;
    if (verb === 'd') return String(integer(argument, 'printf %d'));
    if (verb === 'q') return JSON.stringify(text(argument));
    return text(argument);
  });
}

const indent = (spaces: Value, value: Value): string => {
  const pad = ' '.repeat(integer(spaces, 'indent'));
  return text(value)
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
};

// Helm's functions used by the chart, with their Helm/sprig behaviour; the piped value is the last argument.
const FUNCTIONS: Readonly<Record<string, (...args: Value[]) => Value>> = {
  quote: (...values) => values.map((value) => JSON.stringify(text(value))).join(' '),
  // Helm's toYaml (sigs.k8s.io/yaml) sorts keys, does not indent lists under their key, and drops the final newline.
  toYaml: (value) =>
    value === undefined || value === null
      ? 'null'
      : stringify(value, { sortMapEntries: true, indentSeq: false }).replace(/\n$/, ''),
  indent,
  nindent: (spaces, value) => `\n${indent(spaces, value)}`,
  default: (fallback, value) => (truthy(value) ? value : fallback),
  add: (...values) => values.reduce<number>((sum, value) => sum + integer(value, 'add'), 0),
  div: (left, right) => Math.trunc(integer(left, 'div') / integer(right, 'div')),
  printf,
  sha256sum: (value) => createHash('sha256').update(text(value)).digest('hex'),
  not: (value) => !truthy(value),
  and: (...values) => values.find((value) => !truthy(value)) ?? values.at(-1),
  or: (...values) => values.find((value) => truthy(value)) ?? values.at(-1),
  fail: (message) => {
    throw new TemplateError(text(message));
  },
};

interface Scope {
  dot: Value;
  variables: ReadonlyMap<string, Value>;
}

function lookup(value: Value, path: readonly string[]): Value {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = Reflect.get(current, key);
  }
  return current;
}

function evaluateOperand(operand: Operand, scope: Scope): Value {
  switch (operand.type) {
    case 'literal':
      return operand.value;
    case 'group':
      return evaluatePipeline(operand.pipeline, scope);
    case 'call':
      return callFunction(operand.name, []);
    case 'field': {
      if (operand.base === 'dot') return lookup(scope.dot, operand.path);
      if (!scope.variables.has(operand.base)) throw new TemplateError(`undefined variable ${operand.base}`);
      return lookup(scope.variables.get(operand.base), operand.path);
    }
  }
}

function callFunction(name: string, args: Value[]): Value {
  const run = FUNCTIONS[name];
  if (run === undefined) throw new TemplateError(`function "${name}" is outside the supported subset`);
  return run(...args);
}

function evaluatePipeline(pipeline: Pipeline, scope: Scope): Value {
  let piped: { value: Value } | undefined;
  for (const [head, ...rest] of pipeline) {
    if (head === undefined) throw new TemplateError('empty command');
    if (head.type !== 'call') {
      if (rest.length > 0 || piped !== undefined) throw new TemplateError('only a function takes arguments');
      piped = { value: evaluateOperand(head, scope) };
      continue;
    }
    const args = rest.map((operand) => evaluateOperand(operand, scope));
    if (piped !== undefined) args.push(piped.value);
    piped = { value: callFunction(head.name, args) };
  }
  return piped?.value;
}

function renderNodes(nodes: readonly Node[], scope: Scope): string {
  let out = '';
  for (const node of nodes) {
    switch (node.type) {
      case 'text':
        out += node.text;
        break;
      case 'output':
        out += text(evaluatePipeline(node.pipeline, scope));
        break;
      case 'if': {
        const branch = node.branches.find(({ condition }) => truthy(evaluatePipeline(condition, scope)));
        out += renderNodes(branch?.body ?? node.otherwise, scope);
        break;
      }
      case 'with': {
        const value = evaluatePipeline(node.source, scope);
        out += truthy(value) ? renderNodes(node.body, { ...scope, dot: value }) : renderNodes(node.otherwise, scope);
        break;
      }
      case 'range': {
        const source = evaluatePipeline(node.source, scope);
        const entries: Array<[Value, Value]> = Array.isArray(source)
          ? source.map((value, index) => [index, value])
          : source !== null && typeof source === 'object'
            ? Object.keys(source)
                .sort()
                .map((key) => [key, Reflect.get(source, key)])
            : [];
        if (entries.length === 0) out += renderNodes(node.otherwise, scope);
        for (const [key, value] of entries) {
          const variables = new Map(scope.variables);
          if (node.keyVar !== undefined) variables.set(node.keyVar, key);
          if (node.valueVar !== undefined) variables.set(node.valueVar, value);
          out += renderNodes(node.body, { dot: value, variables });
        }
        break;
      }
    }
  }
  return out;
}

/**
 * Renders one template with `data` as the dot (and `$`). Throws {@link TemplateError} for anything outside the
 * supported subset and for `fail`.
 *
 * @example
 * renderGoTemplate('name: {{ .Release.Name | quote }}', { Release: { Name: 'gw' } }); // 'name: "gw"'
 */
export function renderGoTemplate(template: string, data: Value): string {
  const position = { index: 0 };
  const { nodes, stop } = parseNodes(lex(template), position);
  if (stop !== undefined) throw new TemplateError(`{{ ${stop} }} without a matching block`);
  return renderNodes(nodes, { dot: data, variables: new Map([['$', data]]) });
}
