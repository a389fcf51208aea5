// "This response is over": sent in full, or its connection gone. A response's own 'close'
// is not enough: Node never emits it for a response still queued behind an earlier pipelined
// one when the socket dies, and whatever waited for it (a stream slot, an open-request entry,
// a follower) would wait for ever. So the socket's close counts too, through one listener per
// socket, however many requests it carries.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const pendingBySocket = new WeakMap<Socket, Set<() => void>>();

/** Calls `done` once, when `response` closes or its socket does, whichever is first. */
export function onResponseDone(response: ServerResponse, done: () => void): void {
  const socket = response.socket;
  let called = false;
  const once = () => {
    if (called) return;
    called = true;
    if (socket !== null) pendingBySocket.get(socket)?.delete(once);
    done();
  };
  if (socket === null || socket.destroyed) {
    queueMicrotask(once);
    return;
  }
  let pending = pendingBySocket.get(socket);
  if (pending === undefined) {
    const set = new Set<() => void>();
    pending = set;
    pendingBySocket.set(socket, set);
    socket.once('close', () => {
      for (const callback of [...set]) callback();
    });
  }
  pending.add(once);
  response.once('close', once);
}
