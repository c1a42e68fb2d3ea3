// The whole public surface of @gw/providers/testing: a wire-faithful stand-in upstream that speaks OpenAI's and
// Anthropic's wire formats.

export { startStandInUpstream } from './stand-in-upstream.ts';
export type {
  RecordedRequest,
  StandInBehaviour,
  StandInChatBehaviour,
  StandInErrorBehaviour,
  StandInKind,
  StandInRawBehaviour,
  StandInUpstream,
  StandInUpstreamOptions,
} from './stand-in-types.ts';
// Bedrock's binary event-stream framing, for `{ type: 'raw' }` behaviours that replay recorded Converse streams.
export { encodeEventStreamMessage } from '../bedrock/event-stream-codec.ts';
