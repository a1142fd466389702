#!/usr/bin/env python3
"""Tiny WebSocket (RFC 6455) echo server and client, standard library only.

    python3 ws_echo.py HOST PORT [NAME]     serve; greets each client with NAME

The server answers the upgrade with 101, sends one text frame "hello from NAME",
then echoes every text/binary frame back and answers ping/close. A plain GET is
answered from docroot when one is given (the fake ClientMessenger serves its
public/ folder that way), else with 426.
"""
import asyncio
import base64
import hashlib
import os
import socket
import struct
import sys

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def frame(opcode, payload, mask=False):
    b0 = 0x80 | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        hdr = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask:
        k = os.urandom(4)
        payload = bytes(c ^ k[i % 4] for i, c in enumerate(payload))
        hdr += k
    return hdr + payload


async def read_frame(reader):
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", await reader.readexactly(8))[0]
    k = await reader.readexactly(4) if b1 & 0x80 else None
    data = await reader.readexactly(n)
    if k:
        data = bytes(c ^ k[i % 4] for i, c in enumerate(data))
    return b0 & 0x0F, data


def static_response(docroot, target):
    path = target.split("?", 1)[0]
    rel = os.path.normpath("/" + path).lstrip("/")
    full = os.path.join(docroot, rel)
    if os.path.isdir(full):
        full = os.path.join(full, "index.html")
    try:
        with open(full, "rb") as f:
            body = f.read()
    except OSError:
        return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    return (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % len(body)) + body


async def handle(reader, writer, name, docroot=None):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        writer.close()
        return
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip()
            for l in lines[1:] if ":" in l}
    if hdrs.get("upgrade", "").lower() != "websocket" or "sec-websocket-key" not in hdrs:
        parts = lines[0].split()
        if docroot and len(parts) >= 2 and parts[0] in ("GET", "HEAD"):
            writer.write(static_response(docroot, parts[1]))
            await writer.drain()
            writer.close()
            return
        writer.write(b"HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()
        return
    writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                  % accept_key(hdrs["sec-websocket-key"])).encode())
    writer.write(frame(1, ("hello from %s" % name).encode()))
    await writer.drain()
    try:
        while True:
            op, data = await read_frame(reader)
            if op == 8:
                writer.write(frame(8, data[:2]))
                await writer.drain()
                break
            if op == 9:
                writer.write(frame(10, data))
            elif op in (1, 2):
                writer.write(frame(op, data))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


async def serve(host, port, name, docroot=None):
    srv = await asyncio.start_server(lambda r, w: handle(r, w, name, docroot), host, port,
                                     reuse_address=True)
    async with srv:
        await srv.serve_forever()


class Client:
    """Blocking client: c = Client(host, port); c.recv(); c.send("x"); c.close()."""

    def __init__(self, host, port, path="/ws", timeout=5, host_header=None, ssl_context=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if ssl_context is not None:      # wss: TLS through haproxy's ssl frontend
            self.sock = ssl_context.wrap_socket(self.sock, server_hostname=host)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % (path, host_header or "%s:%d" % (host, port), key))
        self.sock.sendall(req.encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during handshake: %r" % self.buf)
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.response_head = head.decode("latin-1")
        self.status = int(self.response_head.split()[1])
        if self.status != 101:
            raise ConnectionError("no upgrade: " + self.response_head)
        hdrs = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip()
                for l in self.response_head.split("\r\n")[1:] if ":" in l}
        assert hdrs["sec-websocket-accept"] == accept_key(key)

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        b0, b1 = self._read(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        data = self._read(n)
        return b0 & 0x0F, data

    def send(self, text):
        self.sock.sendall(frame(1, text.encode(), mask=True))

    def close(self):
        try:
            self.sock.sendall(frame(8, struct.pack("!H", 1000), mask=True))
            self.recv()
        except OSError:
            pass
        self.sock.close()


if __name__ == "__main__":
    h, p = sys.argv[1], int(sys.argv[2])
    asyncio.run(serve(h, p, sys.argv[3] if len(sys.argv) > 3 else "%s:%d" % (h, p)))
