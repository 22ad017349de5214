import { ChannelError } from './errors.js';

/**
 * How a frame's length travels in front of it (the bytes of the length prefix are not counted):
 * - `binary2`: 2 bytes, unsigned big-endian (jPOS NACChannel; China UnionPay POS links) — default;
 * - `binary4`: 4 bytes, unsigned big-endian;
 * - `ascii4`: 4 ASCII decimal digits, "0123" (jPOS ASCIIChannel);
 * - `bcd2`: 2 bytes of packed BCD, 0x01 0x23 = 123.
 * A frame without a prefix (fixed size, or delimited) is deliberately not offered: over a stream
 * it cannot resynchronise after one bad byte, and no link we talk to uses it.
 */
export type LengthPrefix = 'binary2' | 'binary4' | 'ascii4' | 'bcd2';

export interface FramingOptions {
  prefix?: LengthPrefix;
  /** Largest payload accepted or sent; a bigger announced length closes the connection. */
  maxFrameBytes?: number;
}

export interface Framing {
  readonly prefix: LengthPrefix;
  readonly prefixBytes: number;
  readonly maxFrameBytes: number;
}

/** ISO 8583 POS messages are well under 2 KB; TMS/parameter downloads stay under this too. */
export const DEFAULT_MAX_FRAME_BYTES = 16_384;

const PREFIX_BYTES: Record<LengthPrefix, number> = { binary2: 2, binary4: 4, ascii4: 4, bcd2: 2 };
/** The largest length each prefix can express. */
const PREFIX_CAPACITY: Record<LengthPrefix, number> = { binary2: 0xffff, binary4: 0xffff_ffff, ascii4: 9999, bcd2: 9999 };

/** Checks the options once; a misconfiguration is a programming error, hence RangeError. */
export function resolveFraming(options: FramingOptions = {}): Framing {
  const prefix = options.prefix ?? 'binary2';
  if (!(prefix in PREFIX_BYTES)) throw new RangeError(`unknown length prefix ${String(prefix)}`);
  const capacity = PREFIX_CAPACITY[prefix];
  const maxFrameBytes = options.maxFrameBytes ?? Math.min(DEFAULT_MAX_FRAME_BYTES, capacity);
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 0 || maxFrameBytes > capacity) {
    throw new RangeError(`maxFrameBytes must be an integer from 0 to ${capacity} for ${prefix}`);
  }
  return { prefix, prefixBytes: PREFIX_BYTES[prefix], maxFrameBytes };
}

function writeLength(out: Buffer, prefix: LengthPrefix, length: number): void {
  switch (prefix) {
    case 'binary2':
      out.writeUInt16BE(length, 0);
      return;
    case 'binary4':
      out.writeUInt32BE(length, 0);
      return;
    case 'ascii4':
      out.write(String(length).padStart(4, '0'), 0, 4, 'latin1');
      return;
    case 'bcd2': {
      const digits = String(length).padStart(4, '0');
      out[0] = (Number(digits[0]) << 4) | Number(digits[1]);
      out[1] = (Number(digits[2]) << 4) | Number(digits[3]);
      return;
    }
  }
}

function readLength(header: Buffer, prefix: LengthPrefix): number {
  switch (prefix) {
    case 'binary2':
      return header.readUInt16BE(0);
    case 'binary4':
      return header.readUInt32BE(0);
    case 'ascii4': {
      let n = 0;
      for (let i = 0; i < 4; i++) {
        const c = header[i]!;
        if (c < 0x30 || c > 0x39) throw new ChannelError('frame_invalid', 'ascii4 prefix is not 4 decimal digits');
        n = n * 10 + (c - 0x30);
      }
      return n;
    }
    case 'bcd2': {
      let n = 0;
      for (let i = 0; i < 2; i++) {
        const hi = header[i]! >> 4;
        const lo = header[i]! & 0x0f;
        if (hi > 9 || lo > 9) throw new ChannelError('frame_invalid', 'bcd2 prefix is not packed decimal');
        n = n * 100 + hi * 10 + lo;
      }
      return n;
    }
  }
}

/** The bytes to put on the wire for one payload: prefix, then the payload. */
export function encodeFrame(payload: Buffer, framing: Framing): Buffer {
  if (payload.length > framing.maxFrameBytes) {
    throw new ChannelError('frame_too_large', `${payload.length} bytes, limit ${framing.maxFrameBytes}`);
  }
  const out = Buffer.allocUnsafe(framing.prefixBytes + payload.length);
  writeLength(out, framing.prefix, payload.length);
  payload.copy(out, framing.prefixBytes);
  return out;
}

/**
 * Streaming decoder: feed it socket chunks as they come (any split, several frames per chunk).
 * The body buffer is allocated only after its announced length passed the limit, so a hostile
 * length costs nothing; once it failed it stays failed, because after a bad prefix the stream has
 * no recoverable frame boundary — the connection must close.
 */
export class FrameDecoder {
  readonly framing: Framing;
  private readonly header: Buffer;
  private headerFill = 0;
  private body: Buffer | undefined;
  private bodyFill = 0;
  private failure: ChannelError | undefined;

  constructor(options: FramingOptions | Framing = {}) {
    this.framing = 'prefixBytes' in options ? options : resolveFraming(options);
    this.header = Buffer.alloc(this.framing.prefixBytes);
  }

  /** The error that ended this stream, if any. */
  get failed(): ChannelError | undefined {
    return this.failure;
  }

  /** Bytes held for a frame not yet complete. */
  get buffered(): number {
    return this.headerFill + this.bodyFill;
  }

  /**
   * Calls `onFrame` for each complete frame in order (a zero-length frame is an empty Buffer).
   * Throws a ChannelError (`frame_too_large`, `frame_invalid`) after delivering the frames that
   * preceded the bad prefix.
   */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    if (this.failure) throw this.failure;
    const { prefix, prefixBytes, maxFrameBytes } = this.framing;
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.body) {
        const take = Math.min(prefixBytes - this.headerFill, chunk.length - offset);
        chunk.copy(this.header, this.headerFill, offset, offset + take);
        this.headerFill += take;
        offset += take;
        if (this.headerFill < prefixBytes) return;
        this.headerFill = 0;
        let length: number;
        try {
          length = readLength(this.header, prefix);
          if (length > maxFrameBytes) throw new ChannelError('frame_too_large', `announced ${length} bytes, limit ${maxFrameBytes}`);
        } catch (error) {
          this.failure = error as ChannelError;
          throw error;
        }
        if (length === 0) {
          onFrame(Buffer.alloc(0));
          continue;
        }
        this.body = Buffer.allocUnsafe(length);
        this.bodyFill = 0;
      }
      const body: Buffer = this.body;
      const take = Math.min(body.length - this.bodyFill, chunk.length - offset);
      chunk.copy(body, this.bodyFill, offset, offset + take);
      this.bodyFill += take;
      offset += take;
      if (this.bodyFill === body.length) {
        this.body = undefined;
        this.bodyFill = 0;
        onFrame(body);
      }
    }
  }
}
