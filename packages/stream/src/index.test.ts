import { describe, expect, it } from 'vitest';
import * as stream from './index.ts';

describe('@gw/stream public surface', () => {
  it('exports exactly the documented runtime values', () => {
    expect(Object.keys(stream).sort()).toEqual([
      'SSE_DONE',
      'SseEventTooLargeError',
      'StreamIdleTimeoutError',
      'abortable',
      'createSseDecoder',
      'decodeSse',
      'encodeSse',
      'hasTakeBuffered',
      'isSseEventTooLargeError',
      'isStreamIdleTimeoutError',
      'pipeSseToNode',
      'tap',
      'toSseStream',
      'withIdleTimeout',
    ]);
  });
});
