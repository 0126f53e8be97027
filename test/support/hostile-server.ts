import * as net from 'net';
import { AddressInfo } from 'net';

/**
 * How a hostile server answers every request: a real HTTP head and then a clean close (FIN) where a body was
 * promised, part of a body and then FIN, `101 Switching Protocols`, a body that never ends, or a complete answer of
 * the wrong kind (HTML, `{}`, a string where Vault has a boolean).
 */
export type HostileAnswer =
  | 'headers-then-fin'
  | 'partial-body-then-fin'
  | 'switching-protocols'
  | 'endless-body'
  | { status: number; body: string; contentType?: string };

/** Bounds the endless body, so that a client that never stops reading cannot keep the test running. */
const ENDLESS_LIMIT_BYTES = 512 * 1024 * 1024;

/** A loopback TCP server speaking just enough HTTP/1.1 to answer as `answer` says; it counts what it received. */
export class HostileServer {
  public requests = 0;
  /** Bytes written by the endless body before the client gave up. */
  public bodyBytesSent = 0;
  private server!: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly answer: HostileAnswer) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = net.createServer((socket) => this.handle(socket));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = '';
    socket.on('data', (chunk) => {
      if (head.includes('\r\n\r\n')) return;
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      this.requests += 1;
      this.respond(socket);
    });
  }

  private respond(socket: net.Socket): void {
    const a = this.answer;
    if (a === 'headers-then-fin') {
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 120\r\n\r\n');
    } else if (a === 'partial-body-then-fin') {
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 120\r\n\r\n{"initialized":true,"sealed":');
    } else if (a === 'switching-protocols') {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n');
    } else if (a === 'endless-body') {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n');
      const chunk = Buffer.from(`10000\r\n${'['.repeat(0x10000)}\r\n`);
      const pump = () => {
        while (!socket.destroyed && this.bodyBytesSent < ENDLESS_LIMIT_BYTES) {
          this.bodyBytesSent += 0x10000;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
        socket.destroy();
      };
      pump();
    } else {
      const body = Buffer.from(a.body);
      socket.end(`HTTP/1.1 ${a.status} X\r\ncontent-type: ${a.contentType ?? 'application/json'}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${a.body}`);
    }
  }
}
