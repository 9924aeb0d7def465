/**
 * A loopback proxy between a MongoClient and the test server that can hold
 * one chosen command (by command name and target collection) for as long as
 * a test likes, then send it on: a command stuck in the network, landing
 * late. Everything else passes through untouched. It reads just enough of
 * the wire protocol (OP_MSG) to find the command in each message.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { BSON } from 'mongodb';
import { gate } from './gate.js';

const OP_MSG = 2013;

export interface HoldSpec {
  /** The command name, the first key of the command document (`insert`, `update`, `findAndModify`, `drop`, ...). */
  command: string;
  /** The collection it targets (the command's value), or for `renameCollection` the source namespace's collection. */
  target: string;
}

export interface Held {
  /** Resolves when the command arrived at the proxy and was held. */
  readonly reached: Promise<void>;
  /** Sends the command (and whatever the client sent after it) on to the server. */
  release(): void;
  /** Resolves when the server answered the released command: it took effect, or failed, there. */
  readonly landed: Promise<void>;
}

export interface StallProxy {
  /** A connection string through the proxy. */
  readonly uri: string;
  /** Holds the next message that matches `spec`. */
  hold(spec: HoldSpec): Held;
  close(): Promise<void>;
}

interface Armed {
  spec: HoldSpec;
  reached: () => void;
  released: Promise<void>;
  landed: () => void;
}

/** The command name and target of one OP_MSG, or `null` for anything else. */
function commandOf(message: Buffer): { name: string; target: string; requestId: number } | null {
  if (message.readInt32LE(12) !== OP_MSG || message[20] !== 0) return null;
  const size = message.readInt32LE(21);
  const body = BSON.deserialize(message.subarray(21, 21 + size));
  const name = Object.keys(body)[0] ?? '';
  const value = String(body[name] ?? '');
  const target = name === 'renameCollection' ? value.slice(value.indexOf('.') + 1) : value;
  return { name, target, requestId: message.readInt32LE(4) };
}

/** Splits a stream into whole wire messages. */
function framer(onMessage: (message: Buffer) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
      const length = pending.readInt32LE(0);
      onMessage(pending.subarray(0, length));
      pending = pending.subarray(length);
    }
  };
}

export async function startStallProxy(upstream: string): Promise<StallProxy> {
  const { hostname, port } = new URL(upstream);
  const armed: Armed[] = [];
  const sockets = new Set<Socket>();

  function pipe(client: Socket): void {
    const server = connect(Number(port), hostname);
    for (const s of [client, server]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    let queue: Promise<void> = Promise.resolve();
    let waitingFor: { requestId: number; landed: () => void } | null = null;
    client.on(
      'data',
      framer((message) => {
        const command = commandOf(message);
        const index = command
          ? armed.findIndex((a) => a.spec.command === command.name && a.spec.target === command.target)
          : -1;
        const hit = index >= 0 ? armed.splice(index, 1)[0] : undefined;
        queue = queue.then(async () => {
          if (hit && command) {
            hit.reached();
            await hit.released;
            waitingFor = { requestId: command.requestId, landed: hit.landed };
          }
          server.write(message);
        });
      }),
    );
    server.on(
      'data',
      framer((message) => {
        if (waitingFor && message.readInt32LE(8) === waitingFor.requestId) {
          waitingFor.landed();
          waitingFor = null;
        }
        if (!client.destroyed) client.write(message);
      }),
    );
    client.on('close', () => queue.then(() => setTimeout(() => server.destroy(), 1_000).unref()));
    server.on('close', () => client.destroy());
  }

  const listener: Server = createServer(pipe);
  await new Promise<void>((done) => listener.listen(0, '127.0.0.1', done));
  const address = listener.address() as { port: number };
  return {
    uri: `mongodb://127.0.0.1:${address.port}/?directConnection=true`,
    hold(spec) {
      const reached = gate();
      const released = gate();
      const landed = gate();
      armed.push({ spec, reached: reached.open, released: released.closed, landed: landed.open });
      return { reached: reached.closed, release: released.open, landed: landed.closed };
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((done) => listener.close(() => done()));
    },
  };
}
