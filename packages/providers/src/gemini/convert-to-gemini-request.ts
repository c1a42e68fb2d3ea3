import type { ChatCompletionRequest } from '../chat-api.ts';
import type { ChatMessage } from '../chat-messages.ts';
import { parseJson } from '../parse-json.ts';
import { ProviderError } from '../provider-error.ts';

// Canonical (OpenAI Chat Completions) request → Gemini GenerateContentRequest. Field names follow Google's
// reference: Content, Part (text, inlineData, fileData, functionCall, functionResponse, thoughtSignature), Tool,
// FunctionDeclaration (parametersJsonSchema), ToolConfig, GenerationConfig (responseJsonSchema, thinkingConfig).

type JsonObject = Record<string, unknown>;

/** A Gemini Content: a role and its parts. */
export interface GeminiContent {
  role: 'user' | 'model';
  parts: JsonObject[];
}

/** The body of `:generateContent` / `:streamGenerateContent`. */
export interface GeminiRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: Array<{ text: string }> };
  tools?: Array<{ functionDeclarations: JsonObject[] }>;
  toolConfig?: { functionCallingConfig: { mode: 'AUTO' | 'ANY' | 'NONE'; allowedFunctionNames?: string[] } };
  generationConfig?: JsonObject;
  safetySettings?: unknown;
  cachedContent?: unknown;
}

/**
 * Joins a Gemini thought signature to a tool call id, so that it comes back with the id in the next request:
 * Gemini's thinking models refuse a function call of the current turn sent back without its signature.
 */
export const THOUGHT_SIGNATURE_SEPARATOR = '__thought__';
// Ids the adapter generated for calls Gemini gave no id: never sent back as ids (Gemini did not know them).
const GENERATED_ID = /^call_\d+$/;

// Gemini 2.5 thinking budgets (tokens) per OpenAI reasoning_effort; 24576 is the largest budget 2.5 Flash takes.
const THINKING_BUDGETS: ReadonlyMap<string, number> = new Map([
  ['none', 0],
  ['minimal', 512],
  ['low', 1024],
  ['medium', 8192],
  ['high', 24576],
  ['xhigh', 24576],
]);
// 2.5 Pro cannot stop thinking: its smallest budget is 128.
const PRO_MIN_THINKING_BUDGET = 128;
// Gemini 3 Flash takes minimal, low, medium and high as they are (it cannot turn thinking off either).
const FLASH_THINKING_LEVELS: ReadonlyMap<string, string> = new Map([
  ['none', 'minimal'],
  ['minimal', 'minimal'],
  ['low', 'low'],
  ['medium', 'medium'],
  ['high', 'high'],
  ['xhigh', 'high'],
]);
// Other Gemini 3 models (Pro) know only low and high.
const THINKING_LEVELS: ReadonlyMap<string, string> = new Map([
  ['none', 'low'],
  ['minimal', 'low'],
  ['low', 'low'],
  ['medium', 'high'],
  ['high', 'high'],
  ['xhigh', 'high'],
]);

const MIME_BY_EXTENSION: ReadonlyMap<string, string> = new Map([
  ['png', 'image/png'],
  ['jpg', 'image/jpeg'],
  ['jpeg', 'image/jpeg'],
  ['webp', 'image/webp'],
  ['gif', 'image/gif'],
  ['heic', 'image/heic'],
  ['heif', 'image/heif'],
  ['pdf', 'application/pdf'],
  ['mp3', 'audio/mp3'],
  ['wav', 'audio/wav'],
  ['mp4', 'video/mp4'],
]);

function invalid(message: string, param?: string): ProviderError {
  return new ProviderError({ kind: 'invalid_request', message, param });
}

/**
 * The model id without its `models/` prefix: `models/gemini-2.5-flash` and `gemini-2.5-flash` name the same model.
 *
 * @example
 * ```ts
 * bareGeminiModel('models/gemini-2.5-flash'); // 'gemini-2.5-flash'
 * ```
 */
export function bareGeminiModel(model: string): string {
  return model.startsWith('models/') ? model.slice('models/'.length) : model;
}

/**
 * A tool call id and the thought signature hidden in it, if any.
 *
 * @example
 * ```ts
 * splitToolCallId('call_0__thought__c2ln'); // { id: 'call_0', thoughtSignature: 'c2ln' }
 * ```
 */
export function splitToolCallId(id: string): { id: string; thoughtSignature: string | undefined } {
  const at = id.indexOf(THOUGHT_SIGNATURE_SEPARATOR);
  if (at === -1) return { id, thoughtSignature: undefined };
  return { id: id.slice(0, at), thoughtSignature: id.slice(at + THOUGHT_SIGNATURE_SEPARATOR.length) };
}

function textOf(content: string | Array<{ type: string; text?: unknown }> | null | undefined): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => (typeof part.text === 'string' ? part.text : '')).join('');
}

function dataUrlPart(url: string, param: string): JsonObject {
  const match = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  if (match?.[1] === undefined || match[2] === undefined)
    throw invalid(`${param}: only base64 data: URLs are supported`, param);
  return { inlineData: { mimeType: match[1], data: match[2] } };
}

function guessMimeType(url: string): string {
  let pathname = url;
  try {
    pathname = new URL(url).pathname;
  } catch {
    // Not a URL we can parse: guess from the raw text.
  }
  const extension = /\.([a-z0-9]+)$/i.exec(pathname)?.[1]?.toLowerCase();
  return (extension === undefined ? undefined : MIME_BY_EXTENSION.get(extension)) ?? 'image/jpeg';
}

function userParts(message: Extract<ChatMessage, { role: 'user' }>, index: number): JsonObject[] {
  const { content } = message;
  if (typeof content === 'string') return [{ text: content }];
  return content.map((part, partIndex): JsonObject => {
    const param = `messages[${index}].content[${partIndex}]`;
    switch (part.type) {
      case 'text':
        return { text: part.text };
      case 'image_url': {
        const { url } = part.image_url;
        if (url.startsWith('data:')) return dataUrlPart(url, param);
        return { fileData: { mimeType: guessMimeType(url), fileUri: url } };
      }
      case 'input_audio':
        return { inlineData: { mimeType: `audio/${part.input_audio.format}`, data: part.input_audio.data } };
      case 'file': {
        const data = part.file.file_data;
        if (data != null && data.startsWith('data:')) return dataUrlPart(data, param);
        throw invalid(
          `${param}: Gemini takes files as base64 data: URLs in file_data; file_id is not supported`,
          param,
        );
      }
    }
  });
}

function parseArguments(text: string, param: string): JsonObject {
  if (text.trim() === '') return {};
  const value = parseJson(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(
      `${param}: function arguments must be a JSON object, got ${JSON.stringify(text.slice(0, 80))}`,
      param,
    );
  }
  return { ...value };
}

function assistantParts(message: Extract<ChatMessage, { role: 'assistant' }>, index: number): JsonObject[] {
  const parts: JsonObject[] = [];
  // reasoning_content is not sent back: Gemini keeps its reasoning context in thought signatures instead.
  const text = textOf(message.content);
  if (text !== '') parts.push({ text });
  for (const [callIndex, call] of (message.tool_calls ?? []).entries()) {
    const param = `messages[${index}].tool_calls[${callIndex}]`;
    if (call.type !== 'function') throw invalid(`${param}: Gemini has no custom tools`, param);
    const { id, thoughtSignature } = splitToolCallId(call.id);
    const functionCall: JsonObject = {
      name: call.function.name,
      args: parseArguments(call.function.arguments, `${param}.function.arguments`),
    };
    if (!GENERATED_ID.test(id)) functionCall['id'] = id;
    parts.push(thoughtSignature === undefined ? { functionCall } : { functionCall, thoughtSignature });
  }
  if (message.function_call != null) {
    const param = `messages[${index}].function_call`;
    parts.push({
      functionCall: { name: message.function_call.name, args: parseArguments(message.function_call.arguments, param) },
    });
  }
  return parts;
}

function functionResponse(name: string, id: string | undefined, text: string): JsonObject {
  const parsed = parseJson(text);
  const response = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : { content: text };
  return { functionResponse: id === undefined ? { name, response } : { id, name, response } };
}

function stripSchemaKeyword(schema: JsonObject): JsonObject {
  // `$schema` is the one JSON Schema keyword parametersJsonSchema / responseJsonSchema have been seen to reject.
  if (!('$schema' in schema)) return schema;
  const { $schema: _schema, ...rest } = schema;
  return rest;
}

function convertMessages(messages: readonly ChatMessage[]): Pick<GeminiRequest, 'contents' | 'systemInstruction'> {
  const system: Array<{ text: string }> = [];
  const contents: GeminiContent[] = [];
  const namesByCallId = new Map<string, string>();
  const push = (role: 'user' | 'model', parts: JsonObject[]): void => {
    if (parts.length === 0) return;
    const last = contents.at(-1);
    // Gemini wants turns to alternate; consecutive messages of one role become one content.
    if (last?.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  for (const [index, message] of messages.entries()) {
    switch (message.role) {
      case 'system':
      case 'developer': {
        const text = textOf(message.content);
        if (text !== '') system.push({ text });
        break;
      }
      case 'user':
        push('user', userParts(message, index));
        break;
      case 'assistant':
        for (const call of message.tool_calls ?? []) {
          if (call.type === 'function') namesByCallId.set(call.id, call.function.name);
        }
        push('model', assistantParts(message, index));
        break;
      case 'tool': {
        const name = namesByCallId.get(message.tool_call_id);
        if (name === undefined) {
          throw invalid(
            `messages[${index}].tool_call_id: no assistant tool call has id ${JSON.stringify(message.tool_call_id)}; Gemini needs the function name`,
            `messages[${index}].tool_call_id`,
          );
        }
        const { id } = splitToolCallId(message.tool_call_id);
        push('user', [functionResponse(name, GENERATED_ID.test(id) ? undefined : id, textOf(message.content))]);
        break;
      }
      case 'function':
        push('user', [functionResponse(message.name, undefined, message.content ?? '')]);
        break;
    }
  }
  return system.length === 0 ? { contents } : { contents, systemInstruction: { parts: system } };
}

function functionName(tool: Record<string, unknown>): string | undefined {
  const fn = tool['function'];
  if (typeof fn !== 'object' || fn === null) return undefined;
  const name: unknown = Reflect.get(fn, 'name');
  return typeof name === 'string' ? name : undefined;
}

function convertTools(request: ChatCompletionRequest): Pick<GeminiRequest, 'tools' | 'toolConfig'> {
  const tools = request.tools ?? [];
  const choice = request.tool_choice;
  let declarations = tools.map((tool, index): JsonObject => {
    if (tool.type !== 'function') throw invalid(`tools[${index}]: Gemini has no custom tools`, `tools[${index}]`);
    const declaration: JsonObject = { name: tool.function.name };
    if (tool.function.description != null) declaration['description'] = tool.function.description;
    if (tool.function.parameters != null)
      declaration['parametersJsonSchema'] = stripSchemaKeyword(tool.function.parameters);
    return declaration;
  });
  let config: GeminiRequest['toolConfig'];
  if (choice === 'none') config = { functionCallingConfig: { mode: 'NONE' } };
  else if (choice === 'auto') config = { functionCallingConfig: { mode: 'AUTO' } };
  else if (choice === 'required') config = { functionCallingConfig: { mode: 'ANY' } };
  else if (choice != null && choice.type === 'function') {
    config = { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.function.name] } };
  } else if (choice != null && choice.type === 'allowed_tools') {
    const allowed = new Set(choice.allowed_tools.tools.map(functionName).filter((name) => name !== undefined));
    if (choice.allowed_tools.mode === 'required') {
      config = { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [...allowed] } };
    } else {
      // allowedFunctionNames is only honoured with mode ANY: for "auto", declare only the allowed functions.
      declarations = declarations.filter((declaration) => allowed.has(String(declaration['name'])));
      config = { functionCallingConfig: { mode: 'AUTO' } };
    }
  } else if (choice != null) {
    throw invalid('tool_choice: Gemini has no custom tools', 'tool_choice');
  }
  const result: Pick<GeminiRequest, 'tools' | 'toolConfig'> = {};
  if (declarations.length > 0) result.tools = [{ functionDeclarations: declarations }];
  if (config !== undefined) result.toolConfig = config;
  return result;
}

function thinkingConfig(model: string, effort: string): JsonObject {
  const normalized = effort.toLowerCase();
  const name = bareGeminiModel(model);
  if (name.startsWith('gemini-3')) {
    const level = (name.includes('flash') ? FLASH_THINKING_LEVELS : THINKING_LEVELS).get(normalized);
    if (level === undefined)
      throw invalid(`reasoning_effort: unknown level ${JSON.stringify(effort)}`, 'reasoning_effort');
    return { thinkingLevel: level, includeThoughts: true };
  }
  let budget = THINKING_BUDGETS.get(normalized);
  if (budget === undefined)
    throw invalid(`reasoning_effort: unknown level ${JSON.stringify(effort)}`, 'reasoning_effort');
  if (name.startsWith('gemini-2.5-pro')) budget = Math.max(budget, PRO_MIN_THINKING_BUDGET);
  return budget === 0 ? { thinkingBudget: 0 } : { thinkingBudget: budget, includeThoughts: true };
}

function generationConfig(request: ChatCompletionRequest): JsonObject | undefined {
  const config: JsonObject = {};
  const set = (key: string, value: unknown): void => {
    if (value != null) config[key] = value;
  };
  set('temperature', request.temperature);
  set('topP', request.top_p);
  set('maxOutputTokens', request.max_completion_tokens ?? request.max_tokens);
  const { stop } = request;
  if (stop != null) set('stopSequences', typeof stop === 'string' ? [stop] : stop);
  set('candidateCount', request.n);
  set('presencePenalty', request.presence_penalty);
  set('frequencyPenalty', request.frequency_penalty);
  set('seed', request.seed);
  const format = request.response_format;
  if (format?.type === 'json_object') config['responseMimeType'] = 'application/json';
  if (format?.type === 'json_schema') {
    config['responseMimeType'] = 'application/json';
    const { schema } = format.json_schema;
    if (schema != null) config['responseJsonSchema'] = stripSchemaKeyword(schema);
  }
  if (request.reasoning_effort != null)
    config['thinkingConfig'] = thinkingConfig(request.model, request.reasoning_effort);
  return Object.keys(config).length === 0 ? undefined : config;
}

/**
 * The GenerateContentRequest for a canonical chat request. Throws a ProviderError of kind `invalid_request` for
 * what Gemini cannot take: tool call arguments that are not a JSON object, a tool message whose call is not in
 * the history, custom tools, file ids, an unknown reasoning_effort. Parameters Gemini has no equivalent for are
 * dropped: logprobs, top_logprobs, logit_bias, user, metadata, store, service_tier, modalities,
 * parallel_tool_calls, stream_options, and any unknown field except Gemini's own `safetySettings` and
 * `cachedContent`, which pass through.
 *
 * @example
 * ```ts
 * const body = convertToGeminiRequest({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Hi' }] });
 * // { contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] }
 * ```
 */
export function convertToGeminiRequest(request: ChatCompletionRequest): GeminiRequest {
  const body: GeminiRequest = { ...convertMessages(request.messages), ...convertTools(request) };
  const config = generationConfig(request);
  if (config !== undefined) body.generationConfig = config;
  if (request['safetySettings'] != null) body.safetySettings = request['safetySettings'];
  if (request['cachedContent'] != null) body.cachedContent = request['cachedContent'];
  return body;
}
