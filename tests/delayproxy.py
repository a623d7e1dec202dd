#!/usr/bin/env python3
# delayproxy.py -- a TCP proxy that delays: every chunk read from one side
# is held `delay` seconds before it is written to the other, in each
# direction, so a request and its answer cost 2 * delay more (a link's
# round trip, where tc netem is not to be had).  Chunks are delayed, not
# rated: a delay line, not a bottleneck.  For the tests of an interrupted
# transfer, `rate` (bytes a second, server to client only) slows the
# reading of the server's side too, so that a big answer is still being
# sent when the server is killed.  An end (FIN) is passed on after the
# data before it; a reset (RST) as a reset.
#
# With `handshake`, the first bytes of a new connection wait one round
# trip more, as TCP's handshake over such a link would make them.
#
# As a program (run in a network namespace with nsenter):
#   delayproxy.py --listen HOST:PORT --to HOST:PORT [--delay S] [--rate B]
#                 [--handshake]
# prints "delayproxy: listening on HOST:PORT" once it listens, and runs
# until SIGTERM.  As a module: DelayProxy(...).start(), .close(); or
# start(prefix, ...) for the program run after a prefix (nsenter).

import argparse
import collections
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

EOF, RESET = object(), object()


class _Pipe:
    """One direction of one connection: a reader thread stamps chunks,
    a writer thread passes each on when its time comes."""

    def __init__(self, proxy, src, dst, delay, rate, down, not_before=0.0):
        self.proxy, self.src, self.dst = proxy, src, dst
        self.delay, self.rate, self.down = delay, rate, down
        self.not_before = not_before
        self.queue = collections.deque()
        self.cond = threading.Condition()
        self.done = threading.Event()

    def start(self):
        for fn in (self._read, self._write):
            threading.Thread(target=fn, daemon=True).start()

    def _put(self, item):
        with self.cond:
            self.queue.append((max(time.monotonic() + self.delay,
                                   self.not_before), item))
            self.cond.notify()

    def _read(self):
        size = 16384 if self.rate else 65536
        while True:
            try:
                data = self.src.recv(size)
            except ConnectionResetError:
                self._put(RESET)
                return
            except OSError:
                self._put(EOF)
                return
            if not data:
                self._put(EOF)
                return
            self._put(data)
            if self.rate:
                time.sleep(len(data) / self.rate)

    def _write(self):
        try:
            while True:
                with self.cond:
                    while not self.queue:
                        self.cond.wait()
                    due, item = self.queue.popleft()
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if item is EOF:
                    self.dst.shutdown(socket.SHUT_WR)
                    return
                if item is RESET:
                    self.dst.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                    self.dst.shutdown(socket.SHUT_RDWR)
                    return
                self.dst.sendall(item)
                if self.down:
                    with self.proxy.lock:
                        self.proxy.down += len(item)
        except OSError:
            # the other side is gone: so is this connection
            for s in (self.src, self.dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        finally:
            self.done.set()


class DelayProxy:
    """Listens on `listen` (host, port; port 0: any), and forwards every
    connection to `target` (host, port; may be changed later), holding
    each chunk `delay` seconds in each direction; `rate`, bytes a second
    read from the target (None: as fast as it comes).  self.port is the
    port it listens on; self.down the bytes passed to clients so far."""

    def __init__(self, listen, target, delay=0.025, rate=None,
                 handshake=False):
        self.target, self.delay, self.rate = target, delay, rate
        self.handshake = handshake
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(listen)
        self.sock.listen(128)
        self.host, self.port = self.sock.getsockname()
        self.lock = threading.Lock()
        self.down = 0
        self.conns = []
        self.closed = False

    def start(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,),
                             daemon=True).start()

    def _connect(self, client):
        accepted = time.monotonic()
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.rate:
            # a small window, so that a slow reading here holds up the
            # sender instead of filling our buffer
            server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        try:
            server.connect(self.target)
        except OSError:
            # as a refused connection: the client's connection is reset
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                              struct.pack("ii", 1, 0))
            client.close()
            server.close()
            return
        for s in (client, server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.lock:
            if self.closed:
                client.close()
                server.close()
                return
            self.conns.append((client, server))
        up = _Pipe(self, client, server, self.delay, None, False,
                   accepted + 3 * self.delay if self.handshake else 0.0)
        down = _Pipe(self, server, client, self.delay, self.rate, True)
        up.start()
        down.start()
        up.done.wait()
        down.done.wait()
        with self.lock:
            if (client, server) in self.conns:
                self.conns.remove((client, server))
        client.close()
        server.close()

    def close(self):
        """Stop listening and cut every connection."""
        with self.lock:
            self.closed = True
            conns = list(self.conns)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for pair in conns:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class Running:
    """The program running as a process (`proc`), listening on host:port."""

    def __init__(self, proc, host, port):
        self.proc, self.host, self.port = proc, host, port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start(prefix, listen, to, delay, rate=None, handshake=False,
          stderr=None):
    """Run this program after `prefix` (e.g. nsenter --net=...), with
    --listen, --to (HOST:PORT strings) and the rest, and wait until it
    listens: a Running.  RuntimeError when it did not start."""
    argv = list(prefix) + [sys.executable, os.path.abspath(__file__),
                           "--listen", listen, "--to", to,
                           "--delay", str(delay)]
    if rate:
        argv += ["--rate", str(rate)]
    if handshake:
        argv.append("--handshake")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr,
                            stdin=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        proc.wait()
        raise RuntimeError("delayproxy did not start: %r" % line)
    host, port = _addr(line.split()[-1])
    return Running(proc, host, port)


def _addr(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def main():
    ap = argparse.ArgumentParser(description="a TCP proxy that delays")
    ap.add_argument("--listen", type=_addr, required=True)
    ap.add_argument("--to", type=_addr, required=True)
    ap.add_argument("--delay", type=float, default=0.025,
                    help="seconds each chunk is held, in each direction")
    ap.add_argument("--rate", type=float, default=None,
                    help="bytes a second read from the target")
    ap.add_argument("--handshake", action="store_true",
                    help="a new connection's first bytes wait a round "
                    "trip more")
    a = ap.parse_args()
    p = DelayProxy(a.listen, a.to, a.delay, a.rate, a.handshake).start()
    print("delayproxy: listening on %s:%d" % (p.host, p.port), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1):
        pass
    p.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
