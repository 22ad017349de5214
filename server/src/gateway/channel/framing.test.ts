import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelServer, type FrameConnection } from './index.js';
import { ChannelError, encodeFrame, FrameDecoder, resolveFraming, type LengthPrefix } from './index.js';
import { until } from './test-support/helpers.js';

const decodeAll = (decoder: FrameDecoder, chunks: Buffer[]): Buffer[] => {
  const out: Buffer[] = [];
  for (const chunk of chunks) decoder.push(chunk, (f) => out.push(f));
  return out;
};

const bytes = (...values: number[]): Buffer => Buffer.from(values);

describe('length prefixes', () => {
  // Expected prefix bytes for a 300-byte payload, worked out by hand from each definition:
  // 300 = 0x012C; ASCII "0300"; packed BCD 0x03 0x00.
  const cases: [LengthPrefix, Buffer][] = [
    ['binary2', bytes(0x01, 0x2c)],
    ['binary4', bytes(0x00, 0x00, 0x01, 0x2c)],
    ['ascii4', Buffer.from('0300', 'latin1')],
    ['bcd2', bytes(0x03, 0x00)],
  ];
  for (const [prefix, header] of cases) {
    it(`${prefix}: writes the prefix and reads it back`, () => {
      const framing = resolveFraming({ prefix });
      const payload = Buffer.alloc(300, 0x41);
      const wire = encodeFrame(payload, framing);
      expect(wire.subarray(0, header.length)).toEqual(header);
      expect(wire.subarray(header.length)).toEqual(payload);
      expect(decodeAll(new FrameDecoder({ prefix }), [wire])).toEqual([payload]);
    });
  }

  it('bcd2 and ascii4 carry at most 9999 bytes; binary2 at most 65535', () => {
    expect(encodeFrame(Buffer.alloc(9999), resolveFraming({ prefix: 'bcd2', maxFrameBytes: 9999 })).subarray(0, 2)).toEqual(
      bytes(0x99, 0x99),
    );
    expect(() => resolveFraming({ prefix: 'ascii4', maxFrameBytes: 10_000 })).toThrow(RangeError);
    expect(() => resolveFraming({ prefix: 'binary2', maxFrameBytes: 65_536 })).toThrow(RangeError);
    expect(resolveFraming({ prefix: 'binary2', maxFrameBytes: 65_535 }).maxFrameBytes).toBe(65_535);
    expect(resolveFraming().prefix).toBe('binary2');
  });

  it('refuses to send a payload over the limit', () => {
    expect(() => encodeFrame(Buffer.alloc(101), resolveFraming({ maxFrameBytes: 100 }))).toThrow(ChannelError);
  });
});

describe('FrameDecoder', () => {
  const payloads = [Buffer.from('first'), Buffer.alloc(0), Buffer.alloc(1000, 7), Buffer.from('最后一帧')];

  for (const prefix of ['binary2', 'binary4', 'ascii4', 'bcd2'] as const) {
    it(`${prefix}: byte by byte, then all in one chunk`, () => {
      const framing = resolveFraming({ prefix });
      const wire = Buffer.concat(payloads.map((p) => encodeFrame(p, framing)));
      const oneByOne = decodeAll(
        new FrameDecoder(framing),
        [...wire].map((b) => bytes(b)),
      );
      expect(oneByOne).toEqual(payloads);
      expect(decodeAll(new FrameDecoder(framing), [wire])).toEqual(payloads);
    });
  }

  it('splits at every position of a two-frame stream', () => {
    const framing = resolveFraming();
    const wire = Buffer.concat([encodeFrame(Buffer.from('abc'), framing), encodeFrame(Buffer.from('defgh'), framing)]);
    for (let cut = 0; cut <= wire.length; cut++) {
      const decoder = new FrameDecoder(framing);
      expect(decodeAll(decoder, [wire.subarray(0, cut), wire.subarray(cut)]).map(String)).toEqual(['abc', 'defgh']);
      expect(decoder.buffered).toBe(0);
    }
  });

  it('delivers many frames from one chunk in order', () => {
    const framing = resolveFraming();
    const frames = Array.from({ length: 500 }, (_, i) => Buffer.from(`frame ${i}`));
    const out = decodeAll(new FrameDecoder(framing), [Buffer.concat(frames.map((f) => encodeFrame(f, framing)))]);
    expect(out.map(String)).toEqual(frames.map(String));
  });

  it('a zero-length frame is an empty buffer', () => {
    expect(decodeAll(new FrameDecoder(), [bytes(0, 0, 0, 0)])).toEqual([Buffer.alloc(0), Buffer.alloc(0)]);
  });

  it('a hostile length fails before any body is allocated, after the frames before it, and stays failed', () => {
    const decoder = new FrameDecoder({ prefix: 'binary4', maxFrameBytes: 1024 });
    const good = encodeFrame(Buffer.from('ok'), decoder.framing);
    const out: Buffer[] = [];
    const hostile = Buffer.concat([good, bytes(0xff, 0xff, 0xff, 0xff)]);
    expect(() => decoder.push(hostile, (f) => out.push(f))).toThrow(expect.objectContaining({ code: 'frame_too_large' }));
    expect(out.map(String)).toEqual(['ok']);
    expect(decoder.buffered).toBe(0);
    expect(() => decoder.push(good, () => undefined)).toThrow(expect.objectContaining({ code: 'frame_too_large' }));
  });

  it('rejects prefixes that are not decimal', () => {
    expect(() => decodeAll(new FrameDecoder({ prefix: 'ascii4' }), [Buffer.from('00x1')])).toThrow(
      expect.objectContaining({ code: 'frame_invalid' }),
    );
    expect(() => decodeAll(new FrameDecoder({ prefix: 'bcd2' }), [bytes(0x0a, 0x00)])).toThrow(
      expect.objectContaining({ code: 'frame_invalid' }),
    );
  });
});

describe('framing over TCP', () => {
  let server: ChannelServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('receives frames dribbled byte by byte and packed together; an oversize announcement closes the connection', async () => {
    const received: string[] = [];
    let connection: FrameConnection | undefined;
    server = await ChannelServer.listen({
      port: 0,
      host: '127.0.0.1',
      framing: { maxFrameBytes: 64 },
      onConnection: (c) => {
        connection = c;
        c.on('frame', (f) => received.push(f.toString()));
      },
    });
    const framing = resolveFraming({ maxFrameBytes: 64 });
    const socket = net.connect({ port: server.port, host: '127.0.0.1' });
    socket.setNoDelay(true);
    await once(socket, 'connect');
    const slow = encodeFrame(Buffer.from('slow'), framing);
    for (const b of slow) {
      socket.write(bytes(b));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    socket.write(
      Buffer.concat([
        encodeFrame(Buffer.from('a'), framing),
        encodeFrame(Buffer.alloc(0), framing),
        encodeFrame(Buffer.from('b'), framing),
      ]),
    );
    await until(() => received.length === 4);
    expect(received).toEqual(['slow', 'a', '', 'b']);

    const down = once(connection!, 'down');
    const closed = once(socket, 'close');
    socket.write(bytes(0x7f, 0xff)); // announces 32767 bytes; the limit is 64
    const [reason] = await down;
    expect(reason).toMatchObject({ code: 'frame_too_large' });
    await closed;
    expect(server.connections.size).toBe(0);
  });
});
