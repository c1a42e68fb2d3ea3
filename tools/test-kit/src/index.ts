// The whole surface of @gw/test-kit: helpers the workspace's tests share, written once. Test files only (the lint
// refuses an import from anywhere else); no @gw package is imported here, so any package's tests may use it.

export { collect, thrownBy, waitFor } from './async.ts';
export { sseData, sseFrames } from './sse.ts';
export type { SseFrame } from './sse.ts';
export { closedPortUrl } from './net.ts';
