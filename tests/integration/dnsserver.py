# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""A minimal UDP DNS server for the tests, so hopsocks never asks the
machine's resolver.

It answers A and AAAA questions from a table, PTR questions from another
(address -> name), NXDOMAIN for names it does not know, and an empty NOERROR answer for a known name without records of
the asked type.  A per-name delay lets a test hold one resolution open to
prove the event loop is not blocked meanwhile.  Every question is recorded
so a test can tell that hopsocks (and not the client) resolved a name, and
how often.
"""

import socket
import struct
import threading
import time

from harness import BOUND

QTYPE_A, QTYPE_PTR, QTYPE_AAAA = 1, 12, 28
RCODE_NXDOMAIN = 3


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def reverse_name(addr):
    """The PTR question's name for an address: 9.0.0.127.in-addr.arpa."""
    if ":" in addr:
        nibbles = socket.inet_pton(socket.AF_INET6, addr).hex()
        return ".".join(reversed(nibbles)) + ".ip6.arpa"
    return ".".join(reversed(addr.split("."))) + ".in-addr.arpa"


def parse_question(packet):
    """(id, flags, qname, qtype, question bytes) of a query, or None when
    the packet is not a one-question query we understand."""
    if len(packet) < 12:
        return None
    qid, flags, qdcount = struct.unpack(">HHH", packet[:6])
    if flags & 0x8000 or qdcount != 1:
        return None
    pos, labels = 12, []
    while True:
        if pos >= len(packet):
            return None
        length = packet[pos]
        pos += 1
        if length == 0:
            break
        if length > 63 or pos + length > len(packet):
            return None
        labels.append(packet[pos:pos + length].decode("ascii", "replace"))
        pos += length
    if pos + 4 > len(packet):
        return None
    qtype, _qclass = struct.unpack(">HH", packet[pos:pos + 4])
    return qid, flags, ".".join(labels).lower(), qtype, packet[12:pos + 4]


class DnsServer:
    """records: {"name.test": ["127.0.0.1", "::1"], ...}; delays: {name:
    seconds}; ptr: {"127.0.0.9": "name.test", ...} (answered for the
    address's in-addr.arpa / ip6.arpa name).  .resolver is the value for
    hopsocks' `resolver` directive."""

    def __init__(self, records, delays=None, ttl=300, host="127.0.0.1", port=0, ptr=None):
        self.records = {k.lower().rstrip("."): list(v) for k, v in records.items()}
        self.ptr = {reverse_name(a): n for a, n in (ptr or {}).items()}
        self.delays = {k.lower().rstrip("."): v for k, v in (delays or {}).items()}
        self.ttl = ttl
        self.queries = []  # (name, qtype) in arrival order
        self._lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.settimeout(0.1)
        self.host, self.port = host, self.sock.getsockname()[1]
        self._stopping = threading.Event()
        self._timers = []
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    @property
    def resolver(self):
        return "%s:%d" % (self.host, self.port)

    def count(self, name, qtype=None):
        """How many questions for name (of qtype, if given) arrived."""
        with self._lock:
            return sum(1 for n, t in self.queries
                       if n == name.lower() and (qtype is None or t == qtype))

    def _loop(self):
        while not self._stopping.is_set():
            try:
                packet, client = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            parsed = parse_question(packet)
            if parsed is None:
                continue
            with self._lock:
                self.queries.append((parsed[2], parsed[3]))
            answer = self.answer(*parsed)
            delay = self.delays.get(parsed[2], 0)
            if delay:
                timer = threading.Timer(delay, self._send, (answer, client))
                timer.daemon = True
                self._timers.append(timer)
                timer.start()
            else:
                self._send(answer, client)

    def _send(self, answer, client):
        try:
            self.sock.sendto(answer, client)
        except OSError:
            pass  # stopped meanwhile

    def answer(self, qid, flags, name, qtype, question):
        """The response packet for one question."""
        if qtype == QTYPE_PTR and name in self.ptr:
            return self._reply(qid, flags, 0, question, [(QTYPE_PTR, encode_name(self.ptr[name]))])
        addresses = self.records.get(name)
        rcode = RCODE_NXDOMAIN if addresses is None else 0
        rrs = []
        for addr in addresses or ():
            if qtype == QTYPE_A and ":" not in addr:
                rrs.append((QTYPE_A, socket.inet_pton(socket.AF_INET, addr)))
            elif qtype == QTYPE_AAAA and ":" in addr:
                rrs.append((QTYPE_AAAA, socket.inet_pton(socket.AF_INET6, addr)))
        return self._reply(qid, flags, rcode, question, rrs)

    def _reply(self, qid, flags, rcode, question, rrs):
        # QR, opcode copied, AA, RD copied, RA, rcode
        rflags = 0x8000 | (flags & 0x7800) | 0x0400 | (flags & 0x0100) | 0x0080 | rcode
        out = struct.pack(">HHHHHH", qid, rflags, 1, len(rrs), 0, 0) + question
        for rtype, rdata in rrs:
            # 0xc00c: compression pointer to the question's name
            out += struct.pack(">HHHIH", 0xC00C, rtype, 1, self.ttl, len(rdata)) + rdata
        return out

    def stop(self):
        self._stopping.set()
        for timer in self._timers:
            timer.cancel()
        self._thread.join(BOUND)
        self.sock.close()


if __name__ == "__main__":
    # Handy by hand: python3 dnsserver.py name=addr[,addr] ...
    import sys
    table = {}
    for arg in sys.argv[1:]:
        name, _, addrs = arg.partition("=")
        table[name] = addrs.split(",")
    server = DnsServer(table)
    print("listening on %s" % server.resolver, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
