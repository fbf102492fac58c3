#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""SOCKS4 and SOCKS5 BIND through hopsocks.

A raw client checks both replies byte for byte (the first names the
listening socket, the second the peer that actually connected, compared
with that peer's getsockname()), data both ways with SHA-256 and half-close
in both directions, bytes the client sends before the peer arrives, IPv6,
names resolved by hopsocks through the loopback DNS server (SOCKS5 domain
and SOCKS4a), the refusal of a wrong peer (127.0.0.2 when DST is 127.0.0.1)
and `bind-peer any`, DST 0.0.0.0, `bind-address`, `timeout bind`, and a
client that gives up while waiting.

FTP active mode, tested as such: a real FTP server (Debian's
python3-pyftpdlib) is driven through hopsocks by a raw FTP client (control
connection by CONNECT, data connection by BIND, PORT built from the first
reply), and by an unmodified curl in active mode (-P) under dante's socksify
over SOCKS5 and SOCKS4, downloading and uploading; files are compared by
SHA-256.

Real BIND clients: PySocks does no BIND (socksocket.bind() proxies only UDP
sockets) and ncat cannot either ("Ncat: Invalid option combination: --proxy
and -l"), so the real client here is dante's socksify around curl.
"""

import os
import resource
import select
import socket
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, SOCKSIFY, Suite, TestFailure, check, check_eq, connect,  # noqa: E402
                     expect_closed, read_socks4_reply, read_socks5_reply, read_to_close,
                     recv_exact, show, socks4_request, socks5_open, socks5_request,
                     socksify_env, wait_until)
from harness import missing, require_program  # noqa: E402
from dnsserver import DnsServer  # noqa: E402
from servers import pattern, sha256  # noqa: E402

suite = Suite()


# ------------------------------------------------------------------ helpers

def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def hostport(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def v5_addr_reply(rep, host, port):
    if ":" in host:
        return b"\x05" + bytes([rep]) + b"\x00\x04" + socket.inet_pton(socket.AF_INET6, host) + struct.pack(">H", port)
    return b"\x05" + bytes([rep]) + b"\x00\x01" + socket.inet_aton(host) + struct.pack(">H", port)


def v4_reply(cd, host, port):
    return b"\x00" + bytes([cd]) + struct.pack(">H", port) + socket.inet_aton(host)


class Bind:
    """A BIND control connection to hopsocks on `via`; .first is the first
    reply as (code, host, port, raw)."""

    def __init__(self, hs, dst, port=0, via="127.0.0.1", version=5, hostname=None):
        self.version = version
        self.ctl = connect(hs.addr_of(via))
        local = self.ctl.getsockname()
        self.client = hostport(local[0], local[1])
        if version == 5:
            self.ctl.sendall(b"\x05\x01\x00")
            check_eq(recv_exact(self.ctl, 2, "method selection"), b"\x05\x00", "method selection")
            self.ctl.sendall(socks5_request(dst, port, cmd=2))
        else:
            self.ctl.sendall(socks4_request(dst, port, userid=b"binder", cmd=2, hostname=hostname))
        self.first = self.reply("first reply")

    def reply(self, what):
        if self.version == 5:
            rep, host, port, raw = read_socks5_reply(self.ctl)
        else:
            rep, port, host, raw = read_socks4_reply(self.ctl)
        return rep, host, port, raw

    @property
    def ok_code(self):
        return 0 if self.version == 5 else 0x5A

    def expect_first_ok(self, host):
        rep, bhost, bport, raw = self.first
        check(rep == self.ok_code and bport != 0, "first reply %s, want success" % show(raw))
        want = (v5_addr_reply(0, host, bport) if self.version == 5 else v4_reply(0x5A, host, bport))
        check_eq(raw, want, "first reply (the listening socket)")
        return (bhost, bport)

    def expect_second(self, peer):
        """The second reply must name peer, the (host, port) of the socket
        that connected, as the peer itself sees it."""
        rep, host, port, raw = self.reply("second reply")
        want = (v5_addr_reply(0, peer[0], peer[1]) if self.version == 5
                else v4_reply(0x5A, peer[0], peer[1]))
        check_eq(raw, want, "second reply (must name the peer that connected)")

    def expect_silent(self, quiet=0.3, what="control connection"):
        self.ctl.settimeout(quiet)
        try:
            data = self.ctl.recv(100)
        except socket.timeout:
            self.ctl.settimeout(BOUND)
            return
        raise TestFailure("%s: unexpected %s" % (what, show(data) if data else "EOF"))

    def close(self):
        self.ctl.close()


def peer_connect(addr, src=None):
    """The application server's connection to the BIND port, from src."""
    s = socket.socket(family_of(addr[0]), socket.SOCK_STREAM)
    s.settimeout(BOUND)
    s.bind((src or ("::1" if ":" in addr[0] else "127.0.0.1"), 0))
    s.connect(addr)
    return s


def refuses(addr):
    """True if a TCP connect to addr is refused right now."""
    s = socket.socket(family_of(addr[0]), socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(addr)
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    finally:
        s.close()


class Worker:
    """fn() on a thread; result() joins it (bounded) and re-raises."""

    def __init__(self, fn):
        self.value, self.error = None, None
        self.thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.thread.start()

    def _run(self, fn):
        try:
            self.value = fn()
        except BaseException as e:  # handed to the test thread
            self.error = e

    def result(self, what):
        self.thread.join(BOUND)
        if self.thread.is_alive():
            raise TestFailure("%s: still running after %.0fs" % (what, BOUND))
        if self.error:
            raise self.error
        return self.value


def read_all(sock, what):
    data, how = read_to_close(sock, BOUND, limit=64 << 20)
    check(how == "eof", "%s: ended with %s after %d bytes, want EOF" % (what, how, len(data)))
    return data


def half_close_exchange(first, second, a_data, b_data, names):
    """`first` sends a_data and its FIN; `second` reads to EOF (the FIN was
    passed on) and only then sends b_data and its FIN, which `first` reads:
    the other direction stayed open after the first FIN."""
    reader = Worker(lambda: read_all(second, names[1] + " reading"))
    first.sendall(a_data)
    first.shutdown(socket.SHUT_WR)
    got_a = reader.result(names[1] + " reading")
    check(sha256(got_a) == sha256(a_data), "%s got %d bytes (sha256 %s), want %d (%s)"
          % (names[1], len(got_a), sha256(got_a)[:16], len(a_data), sha256(a_data)[:16]))
    writer = Worker(lambda: (second.sendall(b_data), second.shutdown(socket.SHUT_WR)))
    got_b = read_all(first, names[0] + " reading")
    writer.result(names[1] + " writing")
    check(sha256(got_b) == sha256(b_data), "%s got %d bytes (sha256 %s), want %d (%s)"
          % (names[0], len(got_b), sha256(got_b)[:16], len(b_data), sha256(b_data)[:16]))


def access_of(hs, client):
    return hs.wait_access(lambda r: r.get("client") == client, what="access line of " + client)


def check_fields(rec, want):
    got = {k: rec.get(k) for k in want}
    check_eq(got, want, "access fields of %r" % rec["_line"])


def bind_fields(peer, up, down, target, proto="socks5", result="ok"):
    return {"proto": proto, "cmd": "bind", "target": target, "addr": hostport(*peer[:2]),
            "result": result, "up": str(up), "down": str(down)}


# --------------------------------------------------------------- raw BIND

@suite.test("SOCKS5 BIND: first reply names the listener, second the peer (its getsockname); 1 MiB up "
            "+ FIN, then 256 KiB down + FIN (sha256); the port then refuses; access exact")
def t_socks5_bind(ctx):
    hs = ctx.hopsocks()
    b = Bind(hs, "127.0.0.1", 21)
    listener = b.expect_first_ok("127.0.0.1")
    check(listener[1] != hs.port, "first reply names the SOCKS port")
    peer = peer_connect(listener)
    paddr = peer.getsockname()
    with peer:
        b.expect_second(paddr)
        check(wait_until(lambda: refuses(listener), 5), "the BIND port still accepts after the peer came")
        up, down = pattern(1 << 20, seed=31), pattern(256 << 10, seed=32)
        half_close_exchange(b.ctl, peer, up, down, ("client", "peer"))
    b.close()
    check_fields(access_of(hs, b.client), bind_fields(paddr, len(up), len(down), "127.0.0.1:21"))


@suite.test("SOCKS4 BIND: 00 5A <port> 7f000001, then 00 5A naming the peer; peer sends 512 KiB + FIN "
            "first, then the client 300 KB + FIN (sha256); access proto=socks4")
def t_socks4_bind(ctx):
    hs = ctx.hopsocks()
    b = Bind(hs, "127.0.0.1", 21, version=4)
    listener = b.expect_first_ok("127.0.0.1")
    peer = peer_connect(listener)
    paddr = peer.getsockname()
    with peer:
        b.expect_second(paddr)
        down, up = pattern(512 << 10, seed=41), pattern(300000, seed=42)
        half_close_exchange(peer, b.ctl, down, up, ("peer", "client"))
    b.close()
    rec = access_of(hs, b.client)
    check_fields(rec, bind_fields(paddr, len(up), len(down), "127.0.0.1:21", "socks4"))
    check_eq(rec.get("user"), "binder", "access user (the SOCKS4 USERID)")


@suite.test("SOCKS5 BIND over IPv6: DST ::1 -> first reply 05 00 00 04 ::1 <port>, second names the "
            "IPv6 peer; echo both ways")
def t_bind_v6(ctx):
    hs = ctx.hopsocks(listen=("::1",))
    b = Bind(hs, "::1", via="::1")
    listener = b.expect_first_ok("::1")
    peer = peer_connect(listener)
    paddr = peer.getsockname()[:2]
    with peer:
        b.expect_second(paddr)
        b.ctl.sendall(b"client to peer over six")
        check_eq(recv_exact(peer, 23, "peer"), b"client to peer over six", "peer got")
        peer.sendall(b"peer to client")
        check_eq(recv_exact(b.ctl, 14, "client"), b"peer to client", "client got")
    b.close()
    check_fields(access_of(hs, b.client), bind_fields(paddr, 23, 14, "[::1]:0"))


@suite.test("bytes the client sends while waiting reach the peer right after the second reply; the "
            "peer's first bytes follow the second reply")
def t_early_bytes(ctx):
    hs = ctx.hopsocks()
    b = Bind(hs, "127.0.0.1")
    listener = b.expect_first_ok("127.0.0.1")
    b.ctl.sendall(b"sent before anyone connected\n")
    time.sleep(0.1)
    peer = peer_connect(listener)
    with peer:
        peer.sendall(b"banner from the peer\n")
        b.expect_second(peer.getsockname())
        check_eq(recv_exact(b.ctl, 21, "peer's banner"), b"banner from the peer\n", "client got")
        check_eq(recv_exact(peer, 29, "early bytes"), b"sent before anyone connected\n", "peer got")
    b.close()


@suite.test("names: SOCKS5 domain and SOCKS4a BIND resolved by hopsocks (DNS server asked); the "
            "resolved IP is the expected peer; NXDOMAIN -> 05 04 / 00 5B")
def t_bind_names(ctx):
    dns = ctx.own(DnsServer({"ftp.bind.test": ["127.0.0.1"]}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver])
    for version in (5, 4):
        if version == 5:
            b = Bind(hs, "ftp.bind.test", 21)
        else:
            b = Bind(hs, "0.0.0.1", 21, version=4, hostname="ftp.bind.test")
        listener = b.expect_first_ok("127.0.0.1")
        wrong = peer_connect(listener, src="127.0.0.2")
        with wrong:
            expect_closed(wrong, "SOCKS%d: a peer other than the resolved address" % version)
        peer = peer_connect(listener)
        paddr = peer.getsockname()
        with peer:
            b.expect_second(paddr)
            b.ctl.sendall(b"named")
            check_eq(recv_exact(peer, 5, "peer"), b"named", "peer got")
        b.close()
        check_fields(access_of(hs, b.client), bind_fields(paddr, 5, 0, "ftp.bind.test:21",
                                                          "socks5" if version == 5 else "socks4a"))
    check(dns.count("ftp.bind.test") >= 1, "hopsocks never asked the DNS server")
    b = Bind(hs, "nx.bind.test", 21)
    check_eq(b.first[3], v5_addr_reply(4, "0.0.0.0", 0), "SOCKS5 BIND of an unknown name")
    expect_closed(b.ctl, "after 05 04")
    b.close()
    b = Bind(hs, "0.0.0.1", 21, version=4, hostname="nx.bind.test")
    check_eq(b.first[3], v4_reply(0x5B, "0.0.0.0", 0), "SOCKS4a BIND of an unknown name")
    expect_closed(b.ctl, "after 00 5B")
    b.close()


@suite.test("a wrong peer (127.0.0.2 when DST is 127.0.0.1) is closed at once and logged; the client "
            "hears nothing; the right peer afterwards gets the second reply (SOCKS5 and SOCKS4)")
def t_wrong_peer(ctx):
    hs = ctx.hopsocks()
    for version in (5, 4):
        b = Bind(hs, "127.0.0.1", 2121, version=version)
        listener = b.expect_first_ok("127.0.0.1")
        wrong = peer_connect(listener, src="127.0.0.2")
        with wrong:
            expect_closed(wrong, "the wrong peer's connection")
            line = "BIND: refused a connection from 127.0.0.2:%d (expected 127.0.0.1" % wrong.getsockname()[1]
        check(wait_until(lambda: line in hs.stderr_text(), BOUND), "no log line %r" % line)
        b.expect_silent(0.3, "SOCKS%d client after a refused peer" % version)
        peer = peer_connect(listener)
        paddr = peer.getsockname()
        with peer:
            b.expect_second(paddr)
            peer.sendall(b"right one")
            check_eq(recv_exact(b.ctl, 9, "client"), b"right one", "client got")
        b.close()
        check_eq(access_of(hs, b.client).get("addr"), "127.0.0.1:%d" % paddr[1],
                 "access addr (the accepted peer)")


@suite.test("bind-peer any: a peer from 127.0.0.2 is accepted for DST 127.0.0.1 and named in the "
            "second reply")
def t_bind_peer_any(ctx):
    hs = ctx.hopsocks(config=["bind-peer any"])
    b = Bind(hs, "127.0.0.1", 21)
    listener = b.expect_first_ok("127.0.0.1")
    peer = peer_connect(listener, src="127.0.0.2")
    with peer:
        b.expect_second(peer.getsockname())
        peer.sendall(b"from .2")
        check_eq(recv_exact(b.ctl, 7, "client"), b"from .2", "client got")
    b.close()


@suite.test("DST 0.0.0.0: listens on the control connection's local address (127.0.0.1 / ::1, SOCKS5 "
            "and SOCKS4) and accepts any peer")
def t_dst_any(ctx):
    hs = ctx.hopsocks(listen=("127.0.0.1", "::1"))
    for version, via, dst, want, src in ((5, "127.0.0.1", "0.0.0.0", "127.0.0.1", "127.0.0.2"),
                                         (4, "127.0.0.1", "0.0.0.0", "127.0.0.1", "127.0.0.3"),
                                         (5, "::1", "0.0.0.0", "::1", "::1"),
                                         (5, "::1", "::", "::1", "::1")):
        b = Bind(hs, dst, via=via, version=version)
        listener = b.expect_first_ok(want)
        peer = peer_connect(listener, src=src)
        with peer:
            b.expect_second(peer.getsockname()[:2])
            peer.sendall(b"any")
            check_eq(recv_exact(b.ctl, 3, "client"), b"any", "client got")
        b.close()


@suite.test("bind-address 127.0.0.3: the first reply names 127.0.0.3 and the peer connects there")
def t_bind_address(ctx):
    hs = ctx.hopsocks(config=["bind-address 127.0.0.3"])
    for version in (5, 4):
        b = Bind(hs, "127.0.0.1", version=version)
        listener = b.expect_first_ok("127.0.0.3")
        peer = peer_connect(listener)
        with peer:
            b.expect_second(peer.getsockname())
        b.close()


@suite.test("timeout bind 1s: SOCKS5 gets 05 06 00 01 0*6, SOCKS4 00 5B 0*6, after >= 0.9 s, then EOF; "
            "access result=timeout; the port refuses once the client is gone")
def t_timeout(ctx):
    hs = ctx.hopsocks(config=["timeout bind 1s"])
    for version, want in ((5, v5_addr_reply(6, "0.0.0.0", 0)), (4, v4_reply(0x5B, "0.0.0.0", 0))):
        started = time.monotonic()
        b = Bind(hs, "127.0.0.1", version=version)
        listener = b.expect_first_ok("127.0.0.1")
        _, _, _, raw = b.reply("timeout reply")
        elapsed = time.monotonic() - started
        check_eq(raw, want, "SOCKS%d reply at the deadline" % version)
        check(elapsed >= 0.9, "timed out after %.2fs, before the 1s deadline" % elapsed)
        expect_closed(b.ctl, "after the timeout reply")
        b.close()
        check_eq(access_of(hs, b.client).get("result"), "timeout", "access result")
        check(wait_until(lambda: refuses(listener), BOUND), "the BIND port still accepts")


@suite.test("timeout bind while DST still resolves: the one reply is 05 06, and the name's late answer "
            "(during the linger) opens no listener and sends nothing more")
def t_timeout_while_resolving(ctx):
    dns = ctx.own(DnsServer({"late.bind.test": ["127.0.0.1"]}, delays={"late.bind.test": 1.6}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver, "timeout bind 1s", "log debug"])
    b = Bind(hs, "late.bind.test", 21)  # its "first reply" is the one at the deadline
    check_eq(b.first[3], v5_addr_reply(6, "0.0.0.0", 0), "the reply at the deadline")
    check(dns.count("late.bind.test") >= 1, "hopsocks never asked for late.bind.test")
    # The client stays (the session lingers up to 2 s after its reply); the
    # answer comes 0.6 s into that. The session's end is the bound.
    rec = access_of(hs, b.client)
    check_eq((rec.get("cmd"), rec.get("result")), ("bind", "timeout"), "access fields of %r" % rec["_line"])
    data, how = read_to_close(b.ctl, BOUND)
    check_eq((data, how), (b"", "eof"), "what came after the timeout reply")
    b.close()
    late = [line for line in hs.stderr_text().splitlines() if "BIND: listening on" in line]
    check(not late, "the late answer opened a listener after the request had failed: %s" % late)


@suite.test("the listening port is closed with the timeout reply, not only when the client goes away")
def t_timeout_listener(ctx):
    hs = ctx.hopsocks(config=["timeout bind 1s"])
    b = Bind(hs, "127.0.0.1")
    listener = b.expect_first_ok("127.0.0.1")
    _, _, _, raw = b.reply("timeout reply")
    check_eq(raw, v5_addr_reply(6, "0.0.0.0", 0), "reply at the deadline")
    expect_closed(b.ctl, "after the timeout reply")
    try:
        check(refuses(listener), "a peer could still connect to the BIND port after the 05 06 reply "
              "(the session lingers with its listening socket open until the client closes)")
    finally:
        b.close()


@suite.test("a client that closes while waiting ends the session at once: access result=closed, the "
            "port refuses; also while hopsocks still resolves DST")
def t_client_gives_up(ctx):
    dns = ctx.own(DnsServer({"slow.bind.test": ["127.0.0.1"]}, delays={"slow.bind.test": 0.5}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver])
    for version in (5, 4):
        b = Bind(hs, "127.0.0.1", version=version)
        listener = b.expect_first_ok("127.0.0.1")
        b.close()
        rec = access_of(hs, b.client)
        check_eq((rec.get("cmd"), rec.get("result"), rec.get("addr")), ("bind", "closed", "-"),
                 "access fields of %r" % rec["_line"])
        check(wait_until(lambda: refuses(listener), BOUND), "the BIND port still accepts")
    # Gone before the name resolved (no first reply yet); the late answer
    # must find nothing to call back.
    c = connect(hs.addr)
    client = hostport(*c.getsockname()[:2])
    c.sendall(b"\x05\x01\x00" + socks5_request("slow.bind.test", 21, cmd=2))
    check_eq(recv_exact(c, 2, "method selection"), b"\x05\x00", "method selection")
    check(wait_until(lambda: dns.count("slow.bind.test") >= 1), "hopsocks never asked for the name")
    c.close()
    rec = access_of(hs, client)
    check_eq((rec.get("cmd"), rec.get("result")), ("bind", "closed"), "access fields of %r" % rec["_line"])
    time.sleep(0.7)  # the answer arrives meanwhile
    b = Bind(hs, "127.0.0.1")
    peer = peer_connect(b.expect_first_ok("127.0.0.1"))
    with peer:
        b.expect_second(peer.getsockname())
    b.close()


@suite.test("a BIND client that sends more than a buffer after its request and goes away ends the "
            "session at once although its input is paused: 70 KB then close (FIN), 300 KB then an "
            "abortive close (RST); access result=closed/reset, the port refuses (timeout bind 120s)")
def t_client_gives_up_paused(ctx):
    hs = ctx.hopsocks(config=["timeout bind 120s"])
    # 70 KB: the FIN fits behind the bytes hopsocks has not read yet. 300 KB
    # fills the socket buffers, so a FIN could not arrive before hopsocks
    # reads on (it must not: those bytes are the peer's); an RST always does.
    for size, abort, result in ((70000, False, "closed"), (300000, True, "reset")):
        b = Bind(hs, "127.0.0.1")
        listener = b.expect_first_ok("127.0.0.1")
        b.ctl.setblocking(False)
        sent = 0
        deadline = time.monotonic() + BOUND
        while sent < size and time.monotonic() < deadline:  # hopsocks reads 64 KiB only
            try:
                sent += b.ctl.send(pattern(size)[sent:])
            except BlockingIOError:
                if not select.select([], [b.ctl], [], 0.2)[1]:
                    break  # every buffer on the way is full
        check(sent > 65536, "%d bytes: only %d could be sent" % (size, sent))
        if abort:
            b.ctl.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        b.close()
        rec = access_of(hs, b.client)  # bounded well below the 120 s deadline
        check(rec.get("cmd") == "bind" and rec.get("result") in ("closed", result),
              "%d bytes: access fields of %r" % (size, rec["_line"]))
        check(wait_until(lambda: refuses(listener), BOUND),
              "%d bytes: the BIND port still accepts after the client left" % size)


@suite.test("SIGTERM with one BIND waiting and one relaying: exit 0, both clients closed, access "
            "result=shutdown (the relaying one with its peer and byte counts)")
def t_sigterm(ctx):
    hs = ctx.hopsocks()
    waiting, relaying = Bind(hs, "127.0.0.1"), Bind(hs, "127.0.0.1")
    waiting.expect_first_ok("127.0.0.1")
    peer = peer_connect(relaying.expect_first_ok("127.0.0.1"))
    paddr = peer.getsockname()
    with peer:
        relaying.expect_second(paddr)
        relaying.ctl.sendall(b"up")
        check_eq(recv_exact(peer, 2, "peer"), b"up", "peer got")
        peer.sendall(b"down")
        check_eq(recv_exact(relaying.ctl, 4, "client"), b"down", "client got")
        hs.stop_expect_zero()
        expect_closed(peer, "the peer after SIGTERM")
    for b in (waiting, relaying):
        expect_closed(b.ctl, "client after SIGTERM")
        b.close()
    check_fields(access_of(hs, waiting.client), {"cmd": "bind", "result": "shutdown", "addr": "-"})
    check_fields(access_of(hs, relaying.client), bind_fields(paddr, 2, 4, "127.0.0.1:0",
                                                             result="shutdown"))


def lowest_free_fd(pid):
    used = set(int(x) for x in os.listdir("/proc/%d/fd" % pid))
    n = 0
    while n in used:
        n += 1
    return n


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@suite.test("out of descriptors while a BIND waits: no busy loop (<0.5 s CPU in 1.5 s), and the peer "
            "is accepted once descriptors are back")
def t_bind_emfile(ctx):
    hs = ctx.hopsocks(workers=1)
    b = Bind(hs, "127.0.0.1")
    listener = b.expect_first_ok("127.0.0.1")
    soft, hard = resource.prlimit(hs.pid, resource.RLIMIT_NOFILE)
    resource.prlimit(hs.pid, resource.RLIMIT_NOFILE, (lowest_free_fd(hs.pid), hard))
    try:
        peer = peer_connect(listener)  # completes in the kernel; accept() fails
        time.sleep(0.2)
        before = cpu_seconds(hs.pid)
        time.sleep(1.5)
        spent = cpu_seconds(hs.pid) - before
    finally:
        resource.prlimit(hs.pid, resource.RLIMIT_NOFILE, (soft, hard))
    with peer:
        b.expect_second(peer.getsockname())
        peer.sendall(b"late but fine")
        check_eq(recv_exact(b.ctl, 13, "client"), b"late but fine", "client got")
    b.close()
    check(spent < 0.5, "hopsocks used %.2fs CPU in 1.5s while a BIND peer waited in the accept "
          "queue and accept() failed with EMFILE" % spent)


@suite.test("SOCKS4 BIND over an IPv6 control connection: DST 0.0.0.0 or a 4a name with only ::1 "
            "(the listener would be IPv6) -> 00 5B 0*6 and a close; DST 127.0.0.1 works (IPv4 listener)")
def t_socks4_v6_control(ctx):
    dns = ctx.own(DnsServer({"six.bind.test": ["::1"]}))
    hs = ctx.hopsocks(listen=("::1",), config=["resolver " + dns.resolver])
    for what, kw in (("DST 0.0.0.0", {"dst": "0.0.0.0"}),
                     ("4a name with only ::1", {"dst": "0.0.0.1", "hostname": "six.bind.test"})):
        b = Bind(hs, via="::1", version=4, **kw)
        check_eq(b.first[3], v4_reply(0x5B, "0.0.0.0", 0), what + ": reply")
        expect_closed(b.ctl, what + ": after 00 5B")
        b.close()
        check_eq(access_of(hs, b.client).get("result"), "error", what + ": access result")
    b = Bind(hs, "127.0.0.1", via="::1", version=4)
    listener = b.expect_first_ok("127.0.0.1")
    peer = peer_connect(listener)
    with peer:
        b.expect_second(peer.getsockname())
        peer.sendall(b"four over six")
        check_eq(recv_exact(b.ctl, 13, "client"), b"four over six", "client got")
    b.close()


# ------------------------------------------------------------- FTP active

FTPD = r"""
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

authorizer = DummyAuthorizer()
authorizer.add_anonymous(sys.argv[1])  # read-only ("elr")
authorizer.add_user("up", "secret", sys.argv[2], perm="elradfmw")


class Handler(FTPHandler):
    pass


Handler.authorizer = authorizer
server = FTPServer(("127.0.0.1", 0), Handler)
print(server.address[1], flush=True)
server.serve_forever(timeout=0.1)
"""


class FtpServer:
    """pyftpdlib (Debian's python3-pyftpdlib) in a subprocess on 127.0.0.1:
    anonymous read-only on .root, user up/secret read-write on .updir."""

    PYTHON = "/usr/bin/python3"

    def __init__(self, ctx, files):
        check_pyftpdlib()
        self.root = os.path.join(ctx.tmpdir, "ftp-ro")
        self.updir = os.path.join(ctx.tmpdir, "ftp-up")
        os.mkdir(self.root)
        os.mkdir(self.updir)
        for name, data in files.items():
            with open(os.path.join(self.root, name), "wb") as f:
                f.write(data)
        self.log = open(os.path.join(ctx.tmpdir, "ftpd.log"), "wb")
        self.proc = subprocess.Popen([self.PYTHON, "-c", FTPD, self.root, self.updir],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.log)
        ctx.own(self)
        ready, _, _ = select.select([self.proc.stdout], [], [], BOUND)
        line = self.proc.stdout.readline() if ready else b""
        check(line.strip().isdigit(), "pyftpdlib did not start within %.0fs (printed %r)"
              % (BOUND, line))
        self.port = int(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(BOUND)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(BOUND)
        self.proc.stdout.close()
        self.log.close()


def check_pyftpdlib():
    """The server runs under /usr/bin/python3: pyftpdlib must import there."""
    probe = subprocess.run([FtpServer.PYTHON, "-c", "import pyftpdlib"], capture_output=True,
                           timeout=BOUND)
    if probe.returncode != 0:
        raise missing("pyftpdlib (for %s)" % FtpServer.PYTHON, "python3-pyftpdlib")


class FtpControl:
    """The FTP control connection, over any connected socket."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise TestFailure("FTP control connection closed (after %r)" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        first = line = self.line()
        while not (len(line) >= 4 and line[:3].isdigit() and line[3] == " "
                   and line[:3] == first[:3]):
            line = self.line()
        return int(line[:3]), line

    def expect(self, codes, what):
        code, line = self.reply()
        check(code in codes, "FTP %s: %r, want %s" % (what, line, codes))
        return line

    def cmd(self, text, codes):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.expect(codes, text.split()[0])


@suite.test("FTP active mode, raw: control by CONNECT, PORT from the BIND reply, RETR of 1 MB over the "
            "BIND connection (sha256), 226; access lines for both")
def t_ftp_raw(ctx):
    data = pattern(1000000, seed=51)
    ftp = FtpServer(ctx, {"file.bin": data})
    hs = ctx.hopsocks()
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", ftp.port)
    with sock:
        fc = FtpControl(sock)
        fc.expect((220,), "greeting")
        fc.cmd("USER anonymous", (331,))
        fc.cmd("PASS tester@", (230,))
        fc.cmd("TYPE I", (200,))
        b = Bind(hs, "127.0.0.1", 0)
        host, port = b.expect_first_ok("127.0.0.1")
        fc.cmd("PORT %s,%d,%d" % (host.replace(".", ","), port >> 8, port & 255), (200,))
        rep, phost, pport, raw = b.reply("second reply")
        check(rep == 0 and phost == "127.0.0.1" and pport not in (0, port),
              "second reply %s, want success naming the FTP server's data connection" % show(raw))
        fc.cmd("RETR file.bin", (125, 150))
        got = read_all(b.ctl, "RETR data over the BIND connection")
        fc.expect((226,), "end of RETR")
        check(sha256(got) == sha256(data), "RETR: %d bytes (sha256 %s), want %d (%s)"
              % (len(got), sha256(got)[:16], len(data), sha256(data)[:16]))
        fc.cmd("QUIT", (221,))
    b.close()
    check_fields(access_of(hs, b.client), bind_fields((phost, pport), 0, len(data), "127.0.0.1:0"))


@suite.test("FTP active mode with outgoing 127.0.0.2: the BIND listener is on the address the FTP "
            "server sees the control connection from, so PORT is accepted and RETR works")
def t_ftp_outgoing(ctx):
    data = pattern(100000, seed=52)
    ftp = FtpServer(ctx, {"file.bin": data})
    hs = ctx.hopsocks(config=["outgoing 127.0.0.2"])
    sock, bhost, _ = socks5_open(hs.addr, "127.0.0.1", ftp.port)
    check_eq(bhost, "127.0.0.2", "CONNECT's BND.ADDR (the control connection's source)")
    with sock:
        fc = FtpControl(sock)
        fc.expect((220,), "greeting")
        fc.cmd("USER anonymous", (331,))
        fc.cmd("PASS tester@", (230,))
        fc.cmd("TYPE I", (200,))
        b = Bind(hs, "127.0.0.1", 0)
        rep, host, port, raw = b.first
        check(rep == 0, "BIND first reply %s" % show(raw))
        check_eq(host, "127.0.0.2", "BIND listener address (the FTP server saw the control "
                 "connection come from 127.0.0.2)")
        fc.cmd("PORT %s,%d,%d" % (host.replace(".", ","), port >> 8, port & 255), (200,))
        check_eq(b.reply("second reply")[0], 0, "second reply")
        fc.cmd("RETR file.bin", (125, 150))
        got = read_all(b.ctl, "RETR data")
        fc.expect((226,), "end of RETR")
        check_eq(sha256(got), sha256(data), "RETR sha256")
        b.close()


def curl_active(ctx, hs, ftp, proxyprotocol, args, what):
    env, log = socksify_env(ctx, hs.addr, proxyprotocol, "tcp")
    cmd = [SOCKSIFY, "curl", "-sS", "--disable-eprt", "-P", "127.0.0.1", "--max-time", str(int(BOUND))]
    for attempt in range(2):
        try:
            run = subprocess.run(cmd + args, capture_output=True, timeout=BOUND + 5, env=env)
        except subprocess.TimeoutExpired:
            raise TestFailure("%s: socksified curl did not finish" % what)
        # On a loaded machine, socksify's getsockname() of the BIND socket
        # can hand curl an address of family 0 before its BIND has
        # finished (curl: "sa_addr inet_ntop() failed with errno 97"):
        # the client side's race, before curl sends PORT, not hopsocks'
        # (whose BIND session then ends with result=reset). Seen once in
        # an ASan run with three builds beside it; tried once more.
        if run.returncode != 8 or b"inet_ntop() failed" not in run.stderr:
            break
    if run.returncode != 0:
        try:
            with open(log, errors="replace") as f:
                tail = f.read()[-1500:]
        except FileNotFoundError:
            tail = ""
        raise TestFailure("%s: curl exit %d: %s; dante log tail: %s"
                          % (what, run.returncode, run.stderr.decode()[-300:], tail))


@suite.test("FTP active mode with a real client: curl -P under dante's socksify, SOCKS5 and SOCKS4, "
            "downloads (RETR) and uploads (STOR) 700 KB through BIND (sha256, access bind lines)")
def t_ftp_curl(ctx):
    require_program("curl", "curl")
    data = pattern(700000, seed=61)
    ftp = FtpServer(ctx, {"file.bin": data})
    hs = ctx.hopsocks()
    src = os.path.join(ctx.tmpdir, "upload.bin")
    with open(src, "wb") as f:
        f.write(pattern(700000, seed=62))
    for proto, proxyprotocol in (("socks5", "socks_v5"), ("socks4", "socks_v4")):
        out = os.path.join(ctx.tmpdir, "download-%s.bin" % proto)
        seen = len(hs.access())
        curl_active(ctx, hs, ftp, proxyprotocol,
                    ["-o", out, "ftp://127.0.0.1:%d/file.bin" % ftp.port], proto + " RETR")
        with open(out, "rb") as f:
            got = f.read()
        check(sha256(got) == sha256(data), "%s RETR: %d bytes (sha256 %s), want %d"
              % (proto, len(got), sha256(got)[:16], len(data)))
        curl_active(ctx, hs, ftp, proxyprotocol,
                    ["-T", src, "ftp://up:secret@127.0.0.1:%d/up-%s.bin" % (ftp.port, proto)],
                    proto + " STOR")
        with open(os.path.join(ftp.updir, "up-%s.bin" % proto), "rb") as f:
            check_eq(sha256(f.read()), sha256(pattern(700000, seed=62)), "%s STOR: sha256 of the "
                     "stored file" % proto)
        # Only the completed BINDs: a try curl_active repeated left a reset one.
        def ok_binds():
            return [r for r in hs.access()[seen:]
                    if r.get("cmd") == "bind" and r.get("result") == "ok"]
        binds = wait_until(lambda: ok_binds() if len(ok_binds()) >= 2 else None)
        check(binds, "%s: no two cmd=bind access lines (%s)" % (proto, hs.access()[seen:]))
        got = sorted((r.get("proto"), r.get("result"), r.get("up"), r.get("down")) for r in binds)
        check_eq(got, sorted([(proto, "ok", "0", "700000"), (proto, "ok", "700000", "0")]),
                 "%s: bind access lines (proto, result, up, down)" % proto)


if __name__ == "__main__":
    suite.run()
