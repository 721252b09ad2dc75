// The server side of a SPDY/3.1 session, as much of it as Kubernetes' port-forward protocol uses (client-go and
// kubelet speak it through moby/spdystream): the client opens streams (SYN_STREAM with headers), the server
// answers each (SYN_REPLY) and both send DATA until FIN; PING is echoed; SETTINGS and WINDOW_UPDATE are read
// and ignored, as spdystream does (no flow-control windows are kept on either side).

import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';
import { spdyDictionary } from './spdy-dictionary.js';

const version = 3;
const FrameType = { SynStream: 1, SynReply: 2, RstStream: 3, Settings: 4, Ping: 6, GoAway: 7, Headers: 8 } as const;
const FlagFin = 0x01;
/** RST_STREAM status: the stream was cancelled by its sender. */
const Cancel = 5;
/** Largest DATA payload written at once (the frame's length field allows 16 MiB; keep frames small). */
const maxDataFrame = 32 * 1024;

/** One stream of a session: a Duplex of its DATA, with the headers it was opened with. */
export class SpdyStream extends Duplex {
  #replied = false;

  constructor(
    readonly id: number,
    readonly headers: ReadonlyMap<string, string>,
    private readonly session: SpdySession,
  ) {
    super({ allowHalfOpen: true });
  }

  /** Accepts the stream (SYN_REPLY, no headers); data may flow after it. */
  reply(): void {
    if (this.#replied) return;
    this.#replied = true;
    this.session.sendReply(this.id);
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.reply();
    for (let at = 0; at < chunk.length; at += maxDataFrame)
      this.session.sendData(this.id, chunk.subarray(at, at + maxDataFrame), false);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.reply();
    this.session.sendData(this.id, Buffer.alloc(0), true);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.session.forget(this.id, !this.writableFinished);
    callback(error);
  }
}

/**
 * A SPDY/3.1 server session on a byte stream (an upgraded socket, or a WebSocket tunnel). Emits 'stream' for each
 * stream the client opens and 'close' once the transport is gone.
 */
export class SpdySession extends EventEmitter<{ stream: [SpdyStream]; close: [] }> {
  readonly #transport: Duplex;
  readonly #streams = new Map<number, SpdyStream>();
  readonly #inflate: Inflate = createInflate({ dictionary: spdyDictionary });
  readonly #deflate: Deflate = createDeflate({ dictionary: spdyDictionary });
  #pending: Buffer = Buffer.alloc(0);
  /** Frames are handled in order; header blocks inflate asynchronously. */
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(transport: Duplex) {
    super();
    this.#transport = transport;
    transport.on('data', (chunk: Buffer) => this.#receive(chunk));
    transport.on('error', () => this.close());
    transport.on('close', () => this.close());
    transport.on('end', () => this.close());
  }

  /** Ends every stream and the transport. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#streams.values()) s.destroy();
    this.#streams.clear();
    this.#transport.destroy();
    this.#inflate.close();
    this.#deflate.close();
    this.emit('close');
  }

  /** @internal */
  sendReply(id: number): void {
    this.#enqueue(async () => {
      const block = await this.#compress(Buffer.from([0, 0, 0, 0]));
      const body = Buffer.alloc(4);
      body.writeUInt32BE(id & 0x7fffffff);
      this.#control(FrameType.SynReply, 0, Buffer.concat([body, block]));
    });
  }

  /** @internal */
  sendData(id: number, data: Buffer, fin: boolean): void {
    // After the reply: both go through the queue, in order.
    this.#enqueue(() => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(id & 0x7fffffff, 0);
      head.writeUInt32BE(((fin ? FlagFin : 0) << 24) | data.length, 4);
      this.#write(Buffer.concat([head, data]));
    });
  }

  /** @internal A stream that ends before it said FIN is reset, so the client stops waiting on it. */
  forget(id: number, reset: boolean): void {
    if (!this.#streams.delete(id) || !reset) return;
    this.#enqueue(() => {
      const body = Buffer.alloc(8);
      body.writeUInt32BE(id & 0x7fffffff, 0);
      body.writeUInt32BE(Cancel, 4);
      this.#control(FrameType.RstStream, 0, body);
    });
  }

  /** Runs `work` after everything queued before it; a failure (a corrupt frame) ends the session. */
  #enqueue(work: () => void | Promise<void>): void {
    this.#queue = this.#queue.then(work).catch(() => this.close());
  }

  #write(bytes: Buffer): void {
    if (!this.#closed && !this.#transport.destroyed) this.#transport.write(bytes);
  }

  #control(type: number, flags: number, body: Buffer): void {
    const head = Buffer.alloc(8);
    head.writeUInt16BE(0x8000 | version, 0);
    head.writeUInt16BE(type, 2);
    head.writeUInt32BE((flags << 24) | body.length, 4);
    this.#write(Buffer.concat([head, body]));
  }

  #receive(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 8) {
      const length = this.#pending.readUInt32BE(4) & 0xffffff;
      if (this.#pending.length < 8 + length) break;
      const frame = this.#pending.subarray(0, 8 + length);
      this.#pending = this.#pending.subarray(8 + length);
      this.#enqueue(() => this.#frame(frame));
    }
  }

  async #frame(frame: Buffer): Promise<void> {
    const flags = frame[4] ?? 0;
    const body = frame.subarray(8);
    if ((frame[0]! & 0x80) === 0) {
      const stream = this.#streams.get(frame.readUInt32BE(0) & 0x7fffffff);
      if (stream === undefined) return;
      if (body.length > 0) stream.push(Buffer.from(body));
      if ((flags & FlagFin) !== 0) stream.push(null);
      return;
    }
    const type = frame.readUInt16BE(2);
    switch (type) {
      case FrameType.SynStream: {
        const id = body.readUInt32BE(0) & 0x7fffffff;
        const headers = parseHeaderBlock(await this.#decompress(body.subarray(10)));
        const stream = new SpdyStream(id, headers, this);
        this.#streams.set(id, stream);
        if ((flags & FlagFin) !== 0) stream.push(null);
        this.emit('stream', stream);
        return;
      }
      case FrameType.Headers:
        // Header blocks share one compression context: inflate it even though nothing reads it.
        await this.#decompress(body.subarray(4));
        return;
      case FrameType.RstStream:
        this.#streams.get(body.readUInt32BE(0) & 0x7fffffff)?.destroy();
        return;
      case FrameType.Ping:
        this.#control(FrameType.Ping, 0, Buffer.from(body));
        return;
      case FrameType.GoAway:
        this.close();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE and anything newer: nothing this server acts on.
        return;
    }
  }

  #decompress(block: Buffer): Promise<Buffer> {
    return flushed(this.#inflate, block);
  }

  #compress(block: Buffer): Promise<Buffer> {
    return flushed(this.#deflate, block);
  }
}

/** Writes `input` through a stateful zlib stream and resolves with what a sync flush gives back. */
function flushed(z: Inflate | Deflate, input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const onData = (c: Buffer) => out.push(c);
    const onError = (e: Error) => {
      z.off('data', onData);
      reject(e);
    };
    z.on('data', onData);
    z.once('error', onError);
    z.write(input);
    z.flush(constants.Z_SYNC_FLUSH, () => {
      z.off('data', onData);
      z.off('error', onError);
      resolve(Buffer.concat(out));
    });
  });
}

/** A SPDY/3 name/value block: a count, then length-prefixed names and values (names lower-case). */
function parseHeaderBlock(block: Buffer): Map<string, string> {
  const headers = new Map<string, string>();
  let at = 0;
  const next = (): string => {
    const n = block.readUInt32BE(at);
    const s = block.subarray(at + 4, at + 4 + n).toString('utf8');
    at += 4 + n;
    return s;
  };
  const count = block.readUInt32BE(at);
  at += 4;
  for (let i = 0; i < count; i++) {
    const name = next().toLowerCase();
    headers.set(name, next());
  }
  return headers;
}
