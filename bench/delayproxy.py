#!/usr/bin/env python3
# delayproxy.py -- a TCP proxy that delays what it forwards, to make a
# link of a given round-trip time where `tc netem` is not available (the
# kernel of the benchmark machine has no sch_netem).  Every chunk of bytes
# read from one side is written to the other DELAY seconds (one way) after
# it came, in order, with no limit on bandwidth; a new connection costs a
# round trip before its first bytes reach the server, as TCP's handshake
# would.  So a request and its answer over it take 2 * DELAY more than
# without it, whatever their size.
#
# usage: python3 bench/delayproxy.py --listen HOST:PORT --to HOST:PORT
#                                    --delay SECONDS
# PORT 0 in --listen takes a free port.  The first line on standard
# output is "listening HOST:PORT" once it accepts; it runs until SIGTERM
# or SIGINT.  Run it inside a network namespace with
# `nsenter --net=/run/netns/NAME python3 bench/delayproxy.py ...`.
#
# Also a module, for tests and benchmarks that import it:
#     p = delayproxy.start(["nsenter", "--net=/run/netns/s"], "10.1.0.2:0",
#                          "127.0.0.1:8080", 0.025)
#     p.port ... p.stop()
# (start() runs the script as a process, with an optional prefix to its
# argv such as nsenter; Proxy(...).run() serves in the calling thread.)

import asyncio
import collections
import os
import signal
import subprocess
import sys


def split_addr(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("%s: not HOST:PORT" % text)
    return host.strip("[]"), int(port)


class Pipe:
    """One direction of a connection: chunks queued with the time they
    are due at the other side, written in order when due."""

    def __init__(self, reader, writer, delay, not_before=0.0):
        self.reader, self.writer = reader, writer
        self.delay = delay
        self.not_before = not_before     # the handshake's round trip
        self.queue = collections.deque()
        self.ready = asyncio.Event()

    async def read(self):
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await self.reader.read(65536)
                due = max(loop.time(), self.not_before) + self.delay
                self.queue.append((due, data))
                self.ready.set()
                if not data:
                    return
        except (ConnectionError, OSError):
            self.queue.append((loop.time(), None))
            self.ready.set()

    async def write(self):
        loop = asyncio.get_running_loop()
        try:
            while True:
                while not self.queue:
                    self.ready.clear()
                    await self.ready.wait()
                due, data = self.queue.popleft()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:             # the other side broke off
                    self.writer.transport.abort()
                    return
                if not data:                 # end of file: half-close
                    if self.writer.can_write_eof():
                        self.writer.write_eof()
                    return
                self.writer.write(data)
                await self.writer.drain()
        except (ConnectionError, OSError):
            return


class Proxy:
    def __init__(self, listen, to, delay):
        self.listen = split_addr(listen) if isinstance(listen, str) else listen
        self.to = split_addr(to) if isinstance(to, str) else to
        self.delay = float(delay)
        self.port = None
        self.connections = 0

    async def handle(self, c_reader, c_writer):
        loop = asyncio.get_running_loop()
        self.connections += 1
        handshake = loop.time() + 2 * self.delay
        try:
            s_reader, s_writer = await asyncio.open_connection(*self.to)
        except OSError:
            c_writer.transport.abort()
            return
        up = Pipe(c_reader, s_writer, self.delay, handshake)
        down = Pipe(s_reader, c_writer, self.delay)
        await asyncio.gather(up.read(), up.write(), down.read(), down.write())
        for w in (c_writer, s_writer):
            w.close()

    async def serve(self, started=None):
        server = await asyncio.start_server(self.handle, *self.listen,
                                            reuse_address=True)
        self.port = server.sockets[0].getsockname()[1]
        if started:
            started(self)
        async with server:
            await server.serve_forever()

    def run(self, started=None):
        asyncio.run(self.serve(started))


class Running:
    """A delay proxy running as a process of its own."""

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


def start(prefix, listen, to, delay):
    """Run this script as a process (its argv after `prefix`, e.g.
    ["nsenter", "--net=/run/netns/NAME"]) and wait until it listens (or
    exits)."""
    argv = list(prefix) + [sys.executable, os.path.abspath(__file__),
                           "--listen", listen, "--to", to,
                           "--delay", str(delay)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    line = proc.stdout.readline().decode()
    if not line.startswith("listening "):
        proc.kill()
        proc.wait()
        raise RuntimeError("delayproxy did not start: %r" % line)
    host, port = split_addr(line.split()[1])
    return Running(proc, host, port)


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="A TCP proxy adding DELAY "
                                 "seconds each way.")
    ap.add_argument("--listen", required=True, help="HOST:PORT (0: any)")
    ap.add_argument("--to", required=True, help="HOST:PORT of the server")
    ap.add_argument("--delay", required=True, type=float,
                    help="one-way delay in seconds (RTT = 2 x DELAY)")
    a = ap.parse_args(argv)
    # nothing to flush: end at once, whatever is in flight
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    p = Proxy(a.listen, a.to, a.delay)

    def started(p):
        print("listening %s:%d" % (p.listen[0], p.port), flush=True)
    try:
        p.run(started)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
