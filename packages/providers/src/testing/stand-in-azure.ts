import type { ChatPlan } from './stand-in-chat.ts';
import { chatStreamFrames } from './stand-in-chat.ts';

/** An Azure OpenAI route of the stand-in: what to answer, and the deployment named in the path (if any). */
export interface AzureRoute {
  route: 'chat' | 'embeddings' | 'models';
  deployment: string | undefined;
}

const DEPLOYMENT_PATH = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/;

/**
 * Recognises Azure OpenAI paths: `/openai/deployments/{dep}/chat/completions`, `/openai/deployments/{dep}/embeddings`,
 * `/openai/models` (deployment style, with `?api-version=`) and `/openai/v1/chat/completions`, `/openai/v1/embeddings`,
 * `/openai/v1/models`. Undefined for any other path.
 */
export function azureRouteOf(method: string, path: string): AzureRoute | undefined {
  const deployment = DEPLOYMENT_PATH.exec(path);
  if (deployment !== null && method === 'POST') {
    return {
      route: deployment[2] === 'embeddings' ? 'embeddings' : 'chat',
      deployment: decodeURIComponent(deployment[1] ?? ''),
    };
  }
  if (method === 'POST' && path === '/openai/v1/chat/completions') return { route: 'chat', deployment: undefined };
  if (method === 'POST' && path === '/openai/v1/embeddings') return { route: 'embeddings', deployment: undefined };
  if (method === 'GET' && (path === '/openai/v1/models' || path === '/openai/models'))
    return { route: 'models', deployment: undefined };
  return undefined;
}

/** A deployment-style body names no model: the deployment does. */
export function withDeploymentModel(body: unknown, deployment: string | undefined): unknown {
  if (deployment === undefined || typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  return 'model' in body && typeof body.model === 'string' && body.model !== '' ? body : { ...body, model: deployment };
}

/**
 * Azure's stream: first a chunk with `choices: []`, empty id and model, and the prompt's `prompt_filter_results`,
 * then OpenAI's frames. (Azure also adds `content_filter_results` to each choice; the adapters ignore those.)
 */
export function* azureStreamFrames(plan: ChatPlan): Generator<string> {
  const verdict = { filtered: false, severity: 'safe' };
  const filter = {
    choices: [],
    created: 0,
    id: '',
    model: '',
    object: '',
    prompt_filter_results: [
      {
        prompt_index: 0,
        content_filter_results: { hate: verdict, self_harm: verdict, sexual: verdict, violence: verdict },
      },
    ],
  };
  yield `data: ${JSON.stringify(filter)}\n\n`;
  yield* chatStreamFrames(plan);
}
