// The whole public surface of @gw/providers/testing: a wire-faithful stand-in upstream that speaks OpenAI's and
// Anthropic's wire formats.

export { startStandInUpstream } from './stand-in-upstream.ts';
export type {
  RecordedRequest,
  StandInBehaviour,
  StandInChatBehaviour,
  StandInErrorBehaviour,
  StandInRawBehaviour,
  StandInUpstream,
  StandInUpstreamOptions,
} from './stand-in-types.ts';
