#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""Access control, the destination guard, limits and auth throttling, with
real hopsocks processes and raw SOCKS4/SOCKS5/HTTP CONNECT clients.

Each rule kind (from, user, command, to, port), first-match order, default
deny, the no-rules default, IPv6 and IPv4-mapped clients; the deny replies
(SOCKS5 05 02, SOCKS4 00 5B, HTTP 403) and the access line naming what
decided (deny=rule:FILE:LINE, deny=default:deny, ...); UDP datagrams checked
one by one (drop_denied); the refusal to start an open relay; per-client and
per-user session limits; throttling of failed logins.

Everything here runs on loopback except the destination guard, which only
applies to clients that are not on loopback: those tests create their own
network namespace with a veth pair (198.18.N.1 on this side, 198.18.N.2
inside; RFC 2544 benchmark addresses, which the guard does not cover), plus
a 10.231.N.1/32 on this side as a reachable private target.  The client
sockets are made inside the namespace (setns on a short-lived thread), so
the client really is 198.18.N.2.  They need root and iproute2; otherwise
they are skipped, and the namespace is always deleted.
"""

import ctypes
import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, HOPSOCKS_BIN, Hopsocks, Skip, Suite, TestFailure,  # noqa: E402
                     chain_block, check, check_eq, closed_port, echo_roundtrip, encode_addr5,
                     expect_closed, fmt_addr, free_port, log_lines, port_accepts, read_socks5_reply,
                     read_to_close, recv_exact, show, socks4_request, socks5_auth,
                     socks5_request, wait_until, write_users)
from harness import SLOW, require_program, stats_line  # noqa: E402
from dnsserver import DnsServer  # noqa: E402
from servers import EchoServer, UdpEchoServer  # noqa: E402

suite = Suite()

# The exact deny replies: SOCKS5 REP 02 with an all-zero IPv4 BND, SOCKS4
# CD 91 (0x5B) with zero DSTPORT/DSTIP.
S5_DENIED = b"\x05\x02\x00\x01" + b"\x00" * 6
S4_DENIED = b"\x00\x5b" + b"\x00" * 6
HTTP_OK = b"HTTP/1.1 200 Connection established\r\n\r\n"
REASONS = {403: "Forbidden", 407: "Proxy Authentication Required", 503: "Service Unavailable"}

USERS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}


# ------------------------------------------------------------------ clients

def open_tcp(addr, source=None, factory=None):
    """A blocking, bounded TCP connection to addr, from source (an address
    on this machine, e.g. 127.0.0.2) when given; factory(family, type)
    makes the socket (NetNs.socket for a client inside a namespace)."""
    family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    sock = (factory or socket.socket)(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(BOUND)
        if source:
            sock.bind((source, 0))
        sock.connect(addr)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except BaseException:
        sock.close()
        raise
    return sock


def name_of(sock):
    """The client as the access log writes it: 127.0.0.2:PORT, [::1]:PORT."""
    host, port = sock.getsockname()[:2]
    return fmt_addr(host, port)


def s5_attempt(addr, host, port, source=None, auth=None, cmd=1, factory=None):
    """SOCKS5 greeting (+ RFC 1929 when auth=(user, password)) and one
    request; the method exchange must succeed.  (sock, REP, raw reply)."""
    sock = open_tcp(addr, source, factory)
    try:
        if auth:
            sock.sendall(b"\x05\x01\x02")
            check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x02", "method selection")
            sock.sendall(socks5_auth(*auth))
            check_eq(recv_exact(sock, 2, "RFC 1929 reply"), b"\x01\x00",
                     "RFC 1929 reply for %s" % auth[0])
        else:
            sock.sendall(b"\x05\x01\x00")
            check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x00", "method selection")
        sock.sendall(socks5_request(host, port, cmd))
        rep, _h, _p, raw = read_socks5_reply(sock)
    except BaseException:
        sock.close()
        raise
    return sock, rep, raw


def s4_attempt(addr, ip, port, source=None, hostname=None, userid=b"", cmd=1, factory=None):
    """One SOCKS4 (or 4a with hostname) request: (sock, 8-byte reply)."""
    sock = open_tcp(addr, source, factory)
    try:
        sock.sendall(socks4_request(ip, port, userid=userid, cmd=cmd, hostname=hostname))
        raw = recv_exact(sock, 8, "SOCKS4 reply")
    except BaseException:
        sock.close()
        raise
    return sock, raw


def basic(user, password):
    import base64
    return b"Proxy-Authorization: Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()) + b"\r\n"


def http_request(target, auth=None):
    t = target.encode()
    return (b"CONNECT " + t + b" HTTP/1.1\r\nHost: " + t + b"\r\n"
            + (basic(*auth) if auth else b"") + b"\r\n")


def http_error(status, detail=None):
    """The exact bytes hopsocks answers an HTTP error with (http.c)."""
    reason = REASONS[status]
    body = (reason + (": " + detail if detail else "") + "\n").encode()
    head = "HTTP/1.1 %d %s\r\n" % (status, reason)
    if status == 407:
        head += 'Proxy-Authenticate: Basic realm="hopsocks"\r\n'
    head += ("Content-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
             % len(body))
    return head.encode() + body


def http_refused(addr, target, source=None, auth=None, factory=None):
    """An HTTP CONNECT that hopsocks answers and closes: (client, bytes)."""
    with open_tcp(addr, source, factory) as sock:
        client = name_of(sock)
        sock.sendall(http_request(target, auth))
        data, how = read_to_close(sock)
    check(how in ("eof", "reset"), "HTTP CONNECT %s: connection not closed (%s), got %s"
          % (target, how, show(data)))
    return client, data


# ----------------------------------------------------------- expectations

def rule_of(hs, text):
    """deny= value for the config line `text` of hs's generated config:
    rule:FILE:LINE (the access log turns the blanks of "rule FILE:LINE" into
    colons)."""
    with open(hs.conf_path) as f:
        lines = f.read().split("\n")
    check(text in lines, "sanity: %r is not a line of %s" % (text, hs.conf_path))
    return "rule:%s:%d" % (hs.conf_path, lines.index(text) + 1)


def access_of(hs, client, what="access line"):
    return hs.wait_access(lambda r: r.get("client") == client,
                          what="%s of %s" % (what, client))


def check_fields(rec, want):
    got = {k: rec.get(k) for k in want}
    check_eq(got, want, "access fields of %r" % rec["_line"])


def deny_fields(deny, proto="socks5", cmd="connect", target=None):
    want = {"proto": proto, "cmd": cmd, "result": "denied", "deny": deny, "up": "0",
            "down": "0"}
    if target is not None:
        want["target"] = target
    return want


def expect_s5_denied(hs, host, port, deny, what, source=None, auth=None, cmd=1, addr=None,
                     factory=None, extra=None):
    """SOCKS5 request refused with exactly 05 02 00 01 0*6 and a close; the
    access line says result=denied and deny=<deny> (None: no deny= field)."""
    sock, _rep, raw = s5_attempt(addr or hs.addr, host, port, source, auth, cmd, factory)
    with sock:
        client = name_of(sock)
        check_eq(raw, S5_DENIED, "%s: SOCKS5 reply" % what)
        expect_closed(sock, what + " (after the reply)")
    rec = access_of(hs, client, what)
    want = deny_fields(deny, cmd={1: "connect", 2: "bind", 3: "udp"}[cmd],
                       target=fmt_addr(host, port))
    want.update(extra or {})
    check_fields(rec, want)
    return rec


def expect_s5_refused_early(hs, deny, what, source=None, auth=None, addr=None, factory=None):
    """A client no rule could ever admit: its SOCKS5 greeting (offering
    user/password when auth is given, with the credentials and a request
    pipelined behind it) is answered exactly 05 FF and the connection
    closed; nothing after the greeting is read. Access line: cmd=- target=-
    result=denied deny=<deny>."""
    with open_tcp(addr or hs.addr, source, factory) as sock:
        port = sock.getsockname()[1]  # client= may be the mapped form: match the port
        greeting = b"\x05\x01\x02" + socks5_auth(*auth) if auth else b"\x05\x01\x00"
        sock.sendall(greeting + socks5_request("127.0.0.1", 9, 1))
        data, how = read_to_close(sock)
        check_eq(data, b"\x05\xff", "%s: everything the client got" % what)
        check(how in ("eof", "reset"), "%s: not closed after 05 FF (%s)" % (what, how))
    rec = hs.wait_access(lambda r: r.get("client", "").endswith(":%d" % port), what=what)
    check_fields(rec, {"proto": "socks5", "cmd": "-", "target": "-", "result": "denied",
                       "deny": deny, "user": "-"})
    return rec


def expect_s5_ok(hs, host, port, what, source=None, auth=None, addr=None, factory=None):
    """SOCKS5 CONNECT succeeds, bytes are echoed, access result=ok."""
    sock, rep, raw = s5_attempt(addr or hs.addr, host, port, source, auth, 1, factory)
    with sock:
        client = name_of(sock)
        check(rep == 0, "%s: reply %s, want success" % (what, show(raw)))
        echo_roundtrip(sock, b"allowed: " + what.encode(), what)
    rec = access_of(hs, client, what)
    check_fields(rec, {"result": "ok", "target": fmt_addr(host, port)})
    check("deny" not in rec, "%s: deny= on an allowed session: %r" % (what, rec["_line"]))
    return rec


def expect_s4(hs, ip, port, want_cd, what, source=None, hostname=None, deny=None, cmd=1,
              factory=None, userid=b""):
    """A SOCKS4/4a request gets CD want_cd (0x5A: echo works; 0x5B: exactly
    00 5B 0*6, close, access denied)."""
    sock, raw = s4_attempt(hs.addr, ip, port, source, hostname, userid, cmd, factory)
    with sock:
        client = name_of(sock)
        if want_cd == 0x5B:
            check_eq(raw, S4_DENIED, "%s: SOCKS4 reply" % what)
            expect_closed(sock, what + " (after the reply)")
        else:
            check(raw[:2] == b"\x00\x5a", "%s: SOCKS4 reply %s, want 00 5A" % (what, show(raw)))
            echo_roundtrip(sock, b"socks4 " + what.encode(), what)
    rec = access_of(hs, client, what)
    proto = "socks4a" if hostname else "socks4"
    if want_cd == 0x5B:
        check_fields(rec, deny_fields(deny, proto=proto, cmd={1: "connect", 2: "bind"}[cmd]))
    else:
        check_fields(rec, {"proto": proto, "result": "ok"})
    return rec


def expect_http_denied(hs, target, deny, what, source=None, auth=None, factory=None):
    """HTTP CONNECT refused with exactly a 403 whose body says only "access
    denied" (what decided -- "rule FILE:LINE", "default deny", "destination
    guard" -- stays in hopsocks's log: clients need not learn config paths),
    and the access line names it."""
    client, data = http_refused(hs.addr, target, source, auth, factory)
    check_eq(data, http_error(403, "access denied"), "%s: HTTP response" % what)
    rec = access_of(hs, client, what)
    check_fields(rec, deny_fields(deny, proto="http", target=target))
    return rec


def expect_http_ok(hs, target, what, source=None, auth=None, factory=None, addr=None):
    with open_tcp(addr or hs.addr, source, factory) as sock:
        client = name_of(sock)
        sock.sendall(http_request(target, auth))
        check_eq(recv_exact(sock, len(HTTP_OK), what), HTTP_OK, "%s: HTTP response" % what)
        echo_roundtrip(sock, b"http " + what.encode(), what)
    rec = access_of(hs, client, what)
    check_fields(rec, {"proto": "http", "result": "ok", "target": target})


def users_hopsocks(ctx, config=(), users=USERS, **kw):
    path = write_users(ctx, users)
    return ctx.hopsocks(config=["users " + path] + list(config), **kw)


# ---------------------------------------------------------------- UDP

def udp_header(host, port):
    return b"\x00\x00\x00" + encode_addr5(host) + struct.pack(">H", port)


class Assoc:
    """A raw UDP association: the control connection from `source` (or
    made by factory), the reply, and a UDP socket on the same address."""

    def __init__(self, addr, source="127.0.0.1", auth=None, factory=None):
        family = socket.AF_INET6 if ":" in source else socket.AF_INET
        self.udp = (factory or socket.socket)(family, socket.SOCK_DGRAM)
        self.udp.bind((source, 0))
        self.udp.settimeout(BOUND)
        try:
            self.ctl, rep, self.reply = s5_attempt(addr, "0.0.0.0", 0, source, auth, 3, factory)
        except BaseException:
            self.udp.close()
            raise
        self.client = name_of(self.ctl)
        self.rep = rep
        if rep == 0:
            atyp = self.reply[3]
            if atyp == 1:
                host = socket.inet_ntop(socket.AF_INET, self.reply[4:8])
            else:
                host = socket.inet_ntop(socket.AF_INET6, self.reply[4:20])
            self.relay = (host, struct.unpack(">H", self.reply[-2:])[0])

    def send(self, payload, target):
        self.udp.sendto(udp_header(target[0], target[1]) + payload, self.relay)

    def roundtrip(self, payload, target, what):
        self.send(payload, target)
        try:
            data, src = self.udp.recvfrom(70000)
        except socket.timeout:
            raise TestFailure("%s: no datagram back within %.0fs" % (what, BOUND))
        want = udp_header(target[0], target[1])
        check_eq(src[:2], self.relay, "%s: sender" % what)
        check_eq((data[:len(want)], data[len(want):]), (want, payload),
                 "%s: header naming the target, payload" % what)

    def expect_nothing(self, what, quiet=0.3):
        self.udp.settimeout(quiet)
        try:
            data, src = self.udp.recvfrom(70000)
        except socket.timeout:
            return
        finally:
            self.udp.settimeout(BOUND)
        raise TestFailure("%s: unexpected datagram from %s: %s" % (what, src, show(data)))

    def close(self):
        self.ctl.close()
        self.udp.close()

    def stop(self):
        self.close()


def udp_counts(pkts_up, pkts_down, drop_denied, **other):
    want = {"cmd": "udp", "result": "ok", "pkts_up": str(pkts_up), "pkts_down": str(pkts_down),
            "drop_denied": str(drop_denied)}
    want.update({k: str(v) for k, v in other.items()})
    return want


# ------------------------------------------------------ network namespace

CLONE_NEWNET = 0x40000000
_LIBC = None


def _setns(fd):
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None, use_errno=True)
    if _LIBC.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: %s" % os.strerror(err))


class NetNs:
    """A network namespace joined to this one by a veth pair:
    self.host (198.18.N.1/24, this side), self.peer (198.18.N.2, inside),
    self.private (10.231.N.1/32 on this side: private, reachable); with
    ipv6, also self.host6 (2001:db8:N::1) and self.peers6: 2001:db8:N::2 and
    ::3 (one /64) and 2001:db8:N:1::2 (another), documentation addresses.
    socket() makes sockets that live inside.  stop() deletes it all."""

    _serial = 0

    def __init__(self):
        NetNs._serial += 1
        tag = "%d%d" % (os.getpid() % 100000, NetNs._serial)
        self.name = "hsacl" + tag
        self.veth_host, self.veth_peer = "hsa%sh" % tag, "hsa%sn" % tag
        self.created = False

    def _ip(self, *args):
        run = subprocess.run([self.ip] + list(args), capture_output=True, timeout=BOUND)
        if run.returncode != 0:
            raise OSError("ip %s: %s" % (" ".join(args),
                                         run.stderr.decode(errors="replace").strip()))
        return run.stdout.decode(errors="replace")

    def start(self, ipv6=False):
        if os.geteuid() != 0:
            raise Skip("needs root to create a network namespace (the destination guard "
                       "only applies to non-loopback clients)")
        self.ip = require_program("ip", "iproute2")
        used = (self._ip("-o", "addr", "show") + self._ip("route", "show", "table", "all")
                + self._ip("-6", "route", "show", "table", "all"))
        for k in range(200):
            n = (os.getpid() + k) % 200 + 20
            if not any(p % n in used for p in ("198.18.%d.", "10.231.%d.", "2001:db8:%x:")):
                break
        self.host, self.peer = "198.18.%d.1" % n, "198.18.%d.2" % n
        self.private = "10.231.%d.1" % n
        self.host6 = "2001:db8:%x::1" % n
        self.peers6 = ("2001:db8:%x::2" % n, "2001:db8:%x::3" % n, "2001:db8:%x:1::2" % n)
        try:
            self._ip("netns", "add", self.name)
            self.created = True
            self._ip("link", "add", self.veth_host, "type", "veth", "peer", "name",
                     self.veth_peer)
            self._ip("link", "set", self.veth_peer, "netns", self.name)
            self._ip("addr", "add", self.host + "/24", "dev", self.veth_host)
            self._ip("addr", "add", self.private + "/32", "dev", self.veth_host)
            self._ip("link", "set", self.veth_host, "up")
            self._ip("-n", self.name, "addr", "add", self.peer + "/24", "dev", self.veth_peer)
            self._ip("-n", self.name, "link", "set", self.veth_peer, "up")
            self._ip("-n", self.name, "link", "set", "lo", "up")
            if ipv6:
                # nodad: usable at once, no 1-2 s of duplicate detection
                for addr in (self.host6 + "/64", self.host6.replace("::1", ":1::1") + "/64"):
                    self._ip("addr", "add", addr, "dev", self.veth_host, "nodad")
                for addr in self.peers6:
                    self._ip("-n", self.name, "addr", "add", addr + "/64", "dev",
                             self.veth_peer, "nodad")
        except OSError as e:
            self.stop()
            raise Skip("cannot set up a network namespace here (%s)" % e)
        if not wait_until(lambda: "LOWER_UP" in self._ip("-o", "link", "show", self.veth_host)):
            raise TestFailure("veth %s did not come up" % self.veth_host)
        return self

    def socket(self, family, type_):
        """A socket created inside the namespace (it stays there for its
        life, whatever thread uses it)."""
        box = {}

        def run():
            try:
                fd = os.open("/var/run/netns/" + self.name, os.O_RDONLY)
                try:
                    _setns(fd)
                finally:
                    os.close(fd)
                box["sock"] = socket.socket(family, type_)
            except Exception as e:
                box["err"] = e
        t = threading.Thread(target=run, daemon=True)
        t.start()
        t.join(BOUND)
        if "err" in box:
            raise TestFailure("socket in namespace %s: %s" % (self.name, box["err"]))
        return box["sock"]

    def stop(self):
        if self.created:
            subprocess.run([self.ip, "netns", "del", self.name], capture_output=True,
                           timeout=BOUND)
            self.created = False
        # Deleting the namespace deletes the inner end and so the pair; in
        # case it was never moved in:
        subprocess.run([self.ip, "link", "del", self.veth_host], capture_output=True,
                       timeout=BOUND)


def netns(ctx, ipv6=False):
    ns = NetNs()
    ctx.own(ns)
    return ns.start(ipv6)


# ============================================================== rule kinds

@suite.test("from: bare IP, CIDR and *, first match wins: 127.0.0.3 hits 'deny from 127.0.0.3' "
            "before 'allow from 127.0.0.0/30'; .1/.2 allowed, .9 by its bare IP; .4 and .10 by "
            "'deny from *'; deny=rule:FILE:LINE")
def t_from(ctx):
    echo = ctx.own(EchoServer())
    rules = ["deny from 127.0.0.3", "allow from 127.0.0.0/30", "allow from 127.0.0.9",
             "deny from *"]
    hs = ctx.hopsocks(config=rules)
    for src in ("127.0.0.1", "127.0.0.2", "127.0.0.9"):
        expect_s5_ok(hs, "127.0.0.1", echo.port, "from %s" % src, source=src)
    # These clients are refused by a rule that names only them: at their
    # greeting, before a method is chosen.
    expect_s5_refused_early(hs, rule_of(hs, rules[0]), "from 127.0.0.3", source="127.0.0.3")
    for src in ("127.0.0.4", "127.0.0.10"):
        expect_s5_refused_early(hs, rule_of(hs, rules[3]), "from %s" % src, source=src)
    check_eq(len(echo.peers), 3, "connections the target saw (denied ones never connect)")


@suite.test("first match decides: 'allow from 127.0.0.0/30' before 'deny from 127.0.0.3' "
            "lets 127.0.0.3 through; no rule matches 127.0.0.5: default deny (deny=default:deny)")
def t_first_match(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(config=["allow from 127.0.0.0/30", "deny from 127.0.0.3"])
    expect_s5_ok(hs, "127.0.0.1", echo.port, "from 127.0.0.3", source="127.0.0.3")
    expect_s5_refused_early(hs, "default:deny", "from 127.0.0.5", source="127.0.0.5")


@suite.test("deny codes: the same rule denies SOCKS5 (05 02), SOCKS4 and 4a (00 5B) and HTTP "
            "(exact 403 'Forbidden: access denied'); default deny likewise; 127.0.0.2 passes "
            "in all three protocols")
def t_deny_codes(ctx):
    echo = ctx.own(EchoServer())
    other = closed_port()
    # The last rule makes 127.0.0.1 admissible for something (no request
    # here goes to that port), so its requests are decided one by one.
    rules = ["deny from 127.0.0.1 port %d" % echo.port, "allow from 127.0.0.2",
             "allow from 127.0.0.1 port %d" % closed_port()]
    hs = ctx.hopsocks(config=rules)
    deny = rule_of(hs, rules[0])
    expect_s5_denied(hs, "127.0.0.1", echo.port, deny, "SOCKS5 by rule")
    expect_s4(hs, "127.0.0.1", echo.port, 0x5B, "SOCKS4 by rule", deny=deny)
    expect_s4(hs, None, echo.port, 0x5B, "SOCKS4a by rule", hostname="localhost", deny=deny)
    expect_http_denied(hs, "127.0.0.1:%d" % echo.port, deny, "HTTP by rule")
    # Nothing matches 127.0.0.1 to another port: the default.
    expect_s5_denied(hs, "127.0.0.1", other, "default:deny", "SOCKS5 by default")
    expect_s4(hs, "127.0.0.1", other, 0x5B, "SOCKS4 by default", deny="default:deny")
    expect_http_denied(hs, "127.0.0.1:%d" % other, "default:deny", "HTTP by default")
    # The allowed client, each protocol.
    expect_s5_ok(hs, "127.0.0.1", echo.port, "SOCKS5 from 127.0.0.2", source="127.0.0.2")
    expect_s4(hs, "127.0.0.1", echo.port, 0x5A, "SOCKS4 from 127.0.0.2", source="127.0.0.2")
    expect_http_ok(hs, "127.0.0.1:%d" % echo.port, "HTTP from 127.0.0.2", source="127.0.0.2")
    check_eq(len(log_lines(hs, ": denied connect to ")), 7, "'denied connect to' log lines")


@suite.test("a locked-out network cannot test passwords: with a user file, 'allow from 10.0.0.0/8' "
            "and 'deny *', a loopback client gets 05 FF for a right and a wrong password alike, "
            "SOCKS4 00 5B, HTTP 403 (never 407) with or without Basic; nothing is verified "
            "(auth counters 0), one log line each; a deny with more terms refuses nothing early")
def t_refused_before_auth(ctx):
    rules = ["allow from 10.0.0.0/8", "deny *"]
    hs = users_hopsocks(ctx, ["socks4 on"] + rules)
    deny = rule_of(hs, rules[1])
    expect_s5_refused_early(hs, deny, "right password", auth=("alice", USERS["alice"]))
    expect_s5_refused_early(hs, deny, "wrong password", auth=("alice", "wrong"))
    expect_s5_refused_early(hs, deny, "no authentication offered")
    for what, auth in (("HTTP, right password", ("alice", USERS["alice"])),
                       ("HTTP, wrong password", ("alice", "wrong")), ("HTTP, no credentials", None)):
        client, data = http_refused(hs.addr, "127.0.0.1:9", auth=auth)
        check_eq(data, http_error(403, "access denied"), "%s: HTTP response" % what)
        check_fields(access_of(hs, client, what),
                     {"proto": "http", "target": "-", "result": "denied", "deny": deny})
    sock, raw = s4_attempt(hs.addr, "127.0.0.1", 9, userid=b"alice")
    with sock:
        check_eq(raw, S4_DENIED, "SOCKS4 reply")
        client = name_of(sock)
    check_fields(access_of(hs, client, "SOCKS4"),
                 {"proto": "socks4", "cmd": "-", "result": "denied", "deny": deny})
    check_eq(len(log_lines(hs, ": refused before authentication by rule ")), 7,
             "'refused before authentication' log lines (one per client)")
    check_eq(log_lines(hs, "authentication failed"), [], "failed-login lines")
    stats = stats_line(hs)
    check(" auth_ok=0 auth_failed=0 auth_cache_hits=0 " in stats and " denied=7 " in stats,
          "counters after the refusals: %s" % stats)
    # A deny that depends on more than the address decides per request.
    hs2 = users_hopsocks(ctx, ["deny from 127.0.0.1 command bind", "allow user *"])
    expect_s5_ok_auth_only(hs2, "bind-only deny")


def expect_s5_ok_auth_only(hs, what):
    """The greeting offering user/password is answered 05 02 and the right
    password 01 00: the client was not refused at its greeting."""
    with open_tcp(hs.addr) as sock:
        sock.sendall(b"\x05\x01\x02")
        check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x02", "%s: method" % what)
        sock.sendall(socks5_auth("bob", USERS["bob"]))
        check_eq(recv_exact(sock, 2, "RFC 1929 reply"), b"\x01\x00", "%s: RFC 1929 reply" % what)


@suite.test("user: 'deny user bob' before 'allow user * port P'; alice by name anywhere, carol "
            "by user * only to P; bob denied (SOCKS5 and HTTP 403); SOCKS4 userid alice is not "
            "a login: default deny")
def t_user(ctx):
    echo, echo2 = ctx.own(EchoServer()), ctx.own(EchoServer())
    rules = ["deny user bob", "allow user alice", "allow user * port %d" % echo.port]
    hs = users_hopsocks(ctx, ["socks4 on"] + rules)
    pw = USERS
    expect_s5_ok(hs, "127.0.0.1", echo2.port, "alice to P2", auth=("alice", pw["alice"]))
    expect_http_ok(hs, "127.0.0.1:%d" % echo2.port, "alice over HTTP",
                   auth=("alice", pw["alice"]))
    rec = expect_s5_denied(hs, "127.0.0.1", echo.port, rule_of(hs, rules[0]), "bob",
                           auth=("bob", pw["bob"]))
    check_eq(rec.get("user"), "bob", "access user= of bob's session")
    expect_http_denied(hs, "127.0.0.1:%d" % echo.port, rule_of(hs, rules[0]), "bob over HTTP",
                       auth=("bob", pw["bob"]))
    expect_s5_ok(hs, "127.0.0.1", echo.port, "carol to P", auth=("carol", pw["carol"]))
    expect_s5_denied(hs, "127.0.0.1", echo2.port, "default:deny", "carol to P2",
                     auth=("carol", pw["carol"]))
    expect_s4(hs, "127.0.0.1", echo.port, 0x5B, "SOCKS4 claiming alice", userid=b"alice",
              deny="default:deny")
    # The same rules for UDP: bob's association is refused outright
    # (his rule has no destination term); carol's is admitted because
    # 'user * port P' could allow something, and her datagram to another
    # port is dropped; alice's passes.
    u = ctx.own(UdpEchoServer())
    expect_s5_denied(hs, "0.0.0.0", 0, rule_of(hs, rules[0]), "bob's UDP ASSOCIATE",
                     auth=("bob", pw["bob"]), cmd=3)
    a = ctx.own(Assoc(hs.addr, auth=("carol", pw["carol"])))
    check(a.rep == 0, "carol's UDP ASSOCIATE: reply %s, want success" % show(a.reply))
    a.send(b"carol's datagram", u.addr)
    a.expect_nothing("carol's datagram to a port her rule does not allow")
    a.close()
    check_fields(access_of(hs, a.client), udp_counts(0, 0, 1, user="carol"))
    a = ctx.own(Assoc(hs.addr, auth=("alice", pw["alice"])))
    a.roundtrip(b"alice's datagram", u.addr, "alice's datagram")
    a.close()
    check_fields(access_of(hs, a.client), udp_counts(1, 1, 0, user="alice"))
    check_eq([peer for peer, data in u.received if data == b"carol's datagram"], [],
             "datagrams from carol at the UDP target")


@suite.test("command: 'deny command bind' (SOCKS5 and SOCKS4 BIND refused), 'allow command udp "
            "to 127.0.0.1 port U1' admits the association and only datagrams to U1 "
            "(drop_denied=1), 'allow command connect' for CONNECT")
def t_command(ctx):
    echo = ctx.own(EchoServer())
    u1, u2 = ctx.own(UdpEchoServer()), ctx.own(UdpEchoServer())
    rules = ["deny command bind", "allow command udp to 127.0.0.1 port %d" % u1.port,
             "allow command connect"]
    hs = ctx.hopsocks(config=rules)
    expect_s5_ok(hs, "127.0.0.1", echo.port, "CONNECT")
    expect_s5_denied(hs, "127.0.0.1", echo.port, rule_of(hs, rules[0]), "SOCKS5 BIND", cmd=2)
    expect_s4(hs, "127.0.0.1", echo.port, 0x5B, "SOCKS4 BIND", cmd=2, deny=rule_of(hs, rules[0]))
    a = ctx.own(Assoc(hs.addr))
    check(a.rep == 0, "UDP ASSOCIATE: reply %s, want success" % show(a.reply))
    a.send(b"to U2", u2.addr)
    a.roundtrip(b"to U1", u1.addr, "datagram to U1")
    a.expect_nothing("after the datagram to U2")
    a.close()
    check_fields(access_of(hs, a.client), udp_counts(1, 1, 1))
    check_eq(u2.received, [], "datagrams at U2")


@suite.test("UDP: 'deny command udp to 127.0.0.1 port U1' + 'allow *' admits the association "
            "and drops datagrams to U1 only; 'deny command udp' refuses UDP ASSOCIATE (05 02, "
            "rule); with only 'allow command connect' it is default deny")
def t_udp_rules(ctx):
    u1, u2 = ctx.own(UdpEchoServer()), ctx.own(UdpEchoServer())
    hs = ctx.hopsocks(config=["deny command udp to 127.0.0.1 port %d" % u1.port, "allow *"])
    a = ctx.own(Assoc(hs.addr))
    check(a.rep == 0, "UDP ASSOCIATE: reply %s, want success" % show(a.reply))
    for i in range(3):
        a.send(b"to U1 %d" % i, u1.addr)
    a.roundtrip(b"to U2", u2.addr, "datagram to U2")
    a.close()
    check_fields(access_of(hs, a.client), udp_counts(1, 1, 3))
    check_eq(u1.received, [], "datagrams at U1")

    rules = ["deny command udp", "allow *"]
    hs2 = ctx.hopsocks(config=rules)
    expect_s5_denied(hs2, "0.0.0.0", 0, rule_of(hs2, rules[0]), "UDP ASSOCIATE", cmd=3)
    hs3 = ctx.hopsocks(config=["allow command connect"])
    expect_s5_denied(hs3, "0.0.0.0", 0, "default:deny", "UDP ASSOCIATE", cmd=3)


@suite.test("BIND is checked against the address its request names: 'allow command bind to "
            "127.0.0.2' admits BIND 127.0.0.2 (first reply 05 00), BIND 127.0.0.3 is default deny")
def t_bind_dest(ctx):
    hs = ctx.hopsocks(config=["allow command bind to 127.0.0.2"])
    sock, rep, raw = s5_attempt(hs.addr, "127.0.0.2", 0, cmd=2)
    with sock:
        check(rep == 0, "BIND 127.0.0.2: first reply %s, want success" % show(raw))
    expect_s5_denied(hs, "127.0.0.3", 0, "default:deny", "BIND 127.0.0.3", cmd=2)


@suite.test("to and port: .suffix (case and final dot do not escape it, no match across a "
            "label), exact name (not its subdomains), CIDR (also for a domain-typed literal "
            "and ::ffff:), port range inclusive at both ends, a name never matches a CIDR; "
            "SOCKS4a and HTTP")
def t_to(ctx):
    e1, e2 = ctx.own(EchoServer()), ctx.own(EchoServer())
    lo, hi = sorted((e1.port, e2.port))
    names = ["a.blocked.test", "a.allowed.test", "allowed.test", "xallowed.test", "exact.test",
             "sub.exact.test", "other.test"]
    dns = ctx.own(DnsServer({n: ["127.0.0.1"] for n in names}))
    rules = ["deny to .blocked.test", "allow to .allowed.test", "allow to exact.test port %d" % lo,
             "allow to 127.0.0.0/8 port %d-%d" % (lo, hi), "deny to *"]
    hs = ctx.hopsocks(config=["resolver " + dns.resolver] + rules)
    r = [rule_of(hs, t) for t in rules]
    for host in ("a.allowed.test", "allowed.test", "A.ALLOWED.Test."):
        expect_s5_ok(hs, host, lo, "to %s" % host)
    for host in ("a.blocked.test", "A.Blocked.TEST."):
        expect_s5_denied(hs, host, lo, r[0], "to %s" % host)
    expect_s5_denied(hs, "xallowed.test", lo, r[4], "to xallowed.test")
    expect_s5_ok(hs, "exact.test", lo, "to exact.test")
    expect_s5_denied(hs, "sub.exact.test", lo, r[4], "to sub.exact.test")
    expect_s5_denied(hs, "exact.test", hi, r[4], "to exact.test, other port")
    for port in (lo, hi):
        expect_s5_ok(hs, "127.0.0.1", port, "to 127.0.0.1 port %d in %d-%d" % (port, lo, hi))
    for port in (lo - 1, hi + 1):
        expect_s5_denied(hs, "127.0.0.1", port, r[4], "to 127.0.0.1 port %d" % port)
    # A literal in a domain-typed (ATYP 03) request is an address, and
    # ::ffff:127.0.0.1 is 127.0.0.1, for the rules.
    sock, rep, raw = s5_attempt(hs.addr, "::ffff:127.0.0.1", lo)
    with sock:
        check(rep == 0, "to ::ffff:127.0.0.1: reply %s, want success" % show(raw))
        echo_roundtrip(sock, b"mapped", "to ::ffff:127.0.0.1")
    with open_tcp(hs.addr) as sock:
        sock.sendall(b"\x05\x01\x00")
        check_eq(recv_exact(sock, 2, "method"), b"\x05\x00", "method selection")
        sock.sendall(b"\x05\x01\x00\x03\x09127.0.0.1" + struct.pack(">H", hi))
        rep, _h, _p, raw = read_socks5_reply(sock)
        check(rep == 0, "to '127.0.0.1' as a name: reply %s, want success" % show(raw))
        echo_roundtrip(sock, b"literal as name", "to '127.0.0.1' as a name")
    # other.test resolves into 127.0.0.0/8, but a name only meets name rules.
    expect_s5_denied(hs, "other.test", lo, r[4], "to other.test (resolves to 127.0.0.1)")
    expect_s5_denied(hs, "::1", lo, r[4], "to ::1")
    expect_s4(hs, None, lo, 0x5A, "SOCKS4a to a.allowed.test", hostname="a.allowed.test")
    expect_s4(hs, None, lo, 0x5B, "SOCKS4a to a.blocked.test", hostname="a.blocked.test",
              deny=r[0])
    expect_http_denied(hs, "a.blocked.test:%d" % lo, r[0], "HTTP to a.blocked.test")
    expect_http_ok(hs, "a.allowed.test:%d" % lo, "HTTP to a.allowed.test")
    check_eq(dns.count("a.blocked.test") + dns.count("other.test"), 0,
             "DNS questions for denied names (rules come before resolution)")


@suite.test("IPv6 clients: ::1 against 'allow from ::1 to ::1' and 'allow from ::/0 to "
            "127.0.0.1 port P'; 'deny from 127.0.0.0/8' does not catch ::1 but does catch "
            "127.0.0.1; HTTP from ::1")
def t_ipv6_clients(ctx):
    e4, e6 = ctx.own(EchoServer()), ctx.own(EchoServer("::1"))
    rules = ["deny from 127.0.0.0/8", "allow from ::1 to ::1",
             "allow from ::/0 to 127.0.0.1 port %d" % e4.port]
    hs = ctx.hopsocks(config=rules, listen=("::1", "127.0.0.1"))
    v6, v4 = hs.addr_of("::1"), hs.addr_of("127.0.0.1")
    rec = expect_s5_ok(hs, "::1", e6.port, "::1 to ::1", addr=v6)
    check(rec["client"].startswith("[::1]:"), "client= of an IPv6 client: %r" % rec["_line"])
    expect_s5_ok(hs, "127.0.0.1", e4.port, "::1 to 127.0.0.1", addr=v6)
    expect_s5_denied(hs, "127.0.0.1", closed_port(), "default:deny", "::1 to another port",
                     addr=v6)
    # 127.0.0.0/8 is denied whatever it asks: refused at its greeting.
    expect_s5_refused_early(hs, rule_of(hs, rules[0]), "127.0.0.1", addr=v4)
    expect_s5_refused_early(hs, rule_of(hs, rules[0]), "127.0.0.2 over the IPv4 listener",
                            addr=v4, source="127.0.0.2")
    expect_http_ok(hs, "[::1]:%d" % e6.port, "HTTP from ::1", addr=v6)


class ActivatedHopsocks(Hopsocks):
    """A hopsocks whose first listen address is a socket made here and
    inherited the systemd way (LISTEN_FDS=1, descriptor 3): an AF_INET6
    socket on ::ffff:127.0.0.1 without IPV6_V6ONLY, which IPv4 clients
    reach as ::ffff:a.b.c.d, as with systemd's BindIPv6Only=both.
    (hopsocks' own IPv6 listeners are IPv6-only.)  Further listen hosts
    are bound by hopsocks itself."""

    def __init__(self, ctx, more_listen=(), **kw):
        super().__init__(ctx, listen=("::ffff:127.0.0.1",) + tuple(more_listen), **kw)
        self.lsock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        self.lsock.bind(("::ffff:127.0.0.1", 0))
        self.lsock.listen(16)

    def start(self):
        self.ports = {h: free_port(h) for h in self.listen_hosts[1:]}
        self.ports = dict([("::ffff:127.0.0.1", self.lsock.getsockname()[1])]
                          + list(self.ports.items()))
        self._write_config()
        fd = self.lsock.fileno() if self.lsock.fileno() != 3 else os.dup(self.lsock.fileno())
        cmd = ["/bin/sh", "-c", "exec 3<&%d %d<&-; LISTEN_PID=$$ LISTEN_FDS=1; export "
               "LISTEN_PID LISTEN_FDS; unset LISTEN_FDNAMES; exec \"$0\" \"$@\"" % (fd, fd)]
        with open(self.err_path, "ab") as err:
            self.proc = subprocess.Popen(cmd + self.command(), stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err, pass_fds=(fd,))
        if fd != self.lsock.fileno():
            os.close(fd)
        self.lsock.close()  # hopsocks holds it now
        wait_until(lambda: self.proc.poll() is not None or " listening on " in self.stderr_text())
        if self.proc.poll() is not None:
            self.returncode = self.proc.returncode
            raise TestFailure("hopsocks with an inherited socket exited with status %d"
                              % self.returncode)
        check(" listening on " in self.stderr_text(), "hopsocks did not start listening")
        return self


@suite.test("IPv4 clients reaching a dual-stack IPv6 listener (inherited, ::ffff:127.0.0.1) "
            "count as IPv4: 'deny from ::ffff:127.0.0.3' and 'allow from 127.0.0.2/32' "
            "decide, 127.0.0.1 is default deny; max-connections-per-client 1 counts "
            "127.0.0.2 and ::ffff:127.0.0.2 as one (the second is turned away at accept)")
def t_mapped_clients(ctx):
    echo = ctx.own(EchoServer())
    rules = ["deny from ::ffff:127.0.0.3", "allow from 127.0.0.2/32",
             "max-connections-per-client 1"]
    hs = ActivatedHopsocks(ctx, more_listen=("127.0.0.1",), config=rules)
    ctx.hopsocks_list.append(hs)
    ctx.own(hs)
    hs.start()
    mapped, plain = ("127.0.0.1", hs.port), hs.addr_of("127.0.0.1")

    def record(sock):
        """The access record of sock's session (call before closing it)."""
        port = sock.getsockname()[1]
        return lambda: hs.wait_access(lambda r: r.get("client", "").endswith(":%d" % port))
    sock, rep, raw = s5_attempt(mapped, "127.0.0.1", echo.port, source="127.0.0.2")
    with sock:
        rec = record(sock)
        check(rep == 0, "127.0.0.2: reply %s, want success" % show(raw))
        echo_roundtrip(sock, b"mapped client", "127.0.0.2")
    check_fields(rec(), {"result": "ok"})
    for src, deny in (("127.0.0.3", rule_of(hs, rules[0])), ("127.0.0.1", "default:deny")):
        expect_s5_refused_early(hs, deny, "from %s" % src, addr=mapped, source=src)
    held, rep, raw = s5_attempt(plain, "127.0.0.1", echo.port, source="127.0.0.2")
    with held:
        check(rep == 0, "127.0.0.2 on the IPv4 listener: reply %s" % show(raw))
        # Counted from accept: the mapped form is the same client.
        expect_turned_away(hs, "second session of 127.0.0.2, via the mapped listener",
                           source="127.0.0.2", addr=mapped)


@suite.test("no rules: loopback clients (127.0.0.1, 127.0.0.3, ::1) go anywhere; with a user "
            "file, logged-in clients and loopback SOCKS4 (socks4 on) are served")
def t_no_rules(ctx):
    e4, e6 = ctx.own(EchoServer()), ctx.own(EchoServer("::1"))
    hs = ctx.hopsocks(listen=("127.0.0.1", "::1"))
    expect_s5_ok(hs, "127.0.0.1", e4.port, "127.0.0.1")
    expect_s5_ok(hs, "::1", e6.port, "127.0.0.3 to ::1", source="127.0.0.3")
    expect_s5_ok(hs, "127.0.0.1", e4.port, "::1", addr=hs.addr_of("::1"))
    hs2 = users_hopsocks(ctx, ["socks4 on"])
    expect_s5_ok(hs2, "127.0.0.1", e4.port, "alice from 127.0.0.2", source="127.0.0.2",
                 auth=("alice", USERS["alice"]))
    expect_s4(hs2, "127.0.0.1", e4.port, 0x5A, "SOCKS4 from 127.0.0.3", source="127.0.0.3")


# ======================================================= open relay check

OPEN_RELAY = ("hopsocks: listen %s accepts clients beyond loopback without authentication or an "
              "allow rule: add 'users FILE', or 'allow from NETWORK', or listen on %s\n")


def run_hopsocks(ctx, args, config=None):
    cmd = [HOPSOCKS_BIN] + list(args)
    if config is not None:
        path = os.path.join(ctx.tmpdir, "check-%d.conf" % ctx.next_index())
        with open(path, "w") as f:
            f.write("\n".join(config) + "\n")
        cmd += ["-c", path]
    try:
        run = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=BOUND)
    except subprocess.TimeoutExpired:
        raise TestFailure("%s did not exit within %.0fs" % (" ".join(cmd), BOUND))
    return run.returncode, run.stderr.decode(errors="replace"), cmd


@suite.test("open relay refused: -l 0.0.0.0:P (with and without -t) and -l [::]:P exit 1 with "
            "the exact message; loopback-only allow rules or a deny do not count; users or "
            "'allow from 10.0.0.0/8' pass -t")
def t_open_relay(ctx):
    port = closed_port()
    want4 = OPEN_RELAY % ("0.0.0.0:%d" % port, "127.0.0.1")
    want6 = OPEN_RELAY % ("[::]:%d" % port, "[::1]")
    for args, want in ((["-l", "0.0.0.0:%d" % port, "-t"], want4),
                       (["-l", "0.0.0.0:%d" % port], want4),
                       (["-l", "[::]:%d" % port, "-t"], want6)):
        rc, err, cmd = run_hopsocks(ctx, args)
        check_eq((rc, err), (1, want), "%s: exit status and stderr" % " ".join(cmd))
    check(not port_accepts("127.0.0.1", port), "something listens on %d after the refusal" % port)
    for rules in (["allow from 127.0.0.0/8", "allow from ::1"], ["deny from 10.0.0.0/8"],
                  ["allow from 127.0.0.2 to *"]):
        rc, err, cmd = run_hopsocks(ctx, ["-l", "0.0.0.0:%d" % port, "-t"], rules)
        check_eq((rc, err), (1, want4), "rules %s: exit status and stderr" % rules)
    users = write_users(ctx, {"alice": "pw"})
    for args, config in ((["-U", users], None), ([], ["allow from 10.0.0.0/8"]),
                         ([], ["deny from 10.1.0.0/16", "allow to .example port 443"]),
                         ([], ["users " + users])):
        rc, err, cmd = run_hopsocks(ctx, ["-l", "0.0.0.0:%d" % port, "-t"] + args, config)
        check(rc == 0 and "is valid" in err, "%s (config %s): exit %d, stderr %r, want 0"
              % (" ".join(cmd), config, rc, err))


# ================================================================ limits

def hold(hs, echo, n, source=None, auth=None, factory=None):
    """n relaying SOCKS5 sessions (checked with an echo)."""
    socks = []
    for i in range(n):
        sock, rep, raw = s5_attempt(hs.addr, "127.0.0.1", echo.port, source, auth, 1, factory)
        socks.append(sock)
        check(rep == 0, "held session %d: reply %s, want success" % (i + 1, show(raw)))
        echo_roundtrip(sock, b"held %d" % i, "held session %d" % (i + 1))
    return socks


def expect_busy(hs, echo, what, source=None, auth=None, user="-"):
    """SOCKS5 05 02 (exact), access result=busy without deny=, the limit
    named in a warning; then SOCKS4 00 5B (when no login is needed) and
    HTTP 503."""
    sock, rep, raw = s5_attempt(hs.addr, "127.0.0.1", echo.port, source, auth)
    with sock:
        client = name_of(sock)
        check_eq(raw, S5_DENIED, "%s: SOCKS5 reply" % what)
        expect_closed(sock, what + " (after the reply)")
    rec = access_of(hs, client, what)
    check_fields(rec, {"proto": "socks5", "result": "busy", "user": user, "up": "0", "down": "0"})
    check("deny" not in rec, "%s: deny= in %r" % (what, rec["_line"]))
    if auth is None:
        sock, raw = s4_attempt(hs.addr, "127.0.0.1", echo.port, source)
        with sock:
            check_eq(raw, S4_DENIED, "%s: SOCKS4 reply" % what)
    client, data = http_refused(hs.addr, "127.0.0.1:%d" % echo.port, source, auth)
    head = data.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    check_eq(head.split(b"\r\n")[0], b"HTTP/1.1 503 Service Unavailable", "%s: HTTP status line"
             % what)
    body = data[len(head):]
    check(b"\r\nContent-Length: %d\r\nConnection: close\r\n" % len(body) in head
          and body.startswith(b"Service Unavailable"),
          "%s: HTTP response %s" % (what, show(data)))
    check_fields(access_of(hs, client, what), {"proto": "http", "result": "busy"})


def probe_gone(hs):
    """Wait until the connection the harness opened to see hopsocks ready
    has ended there: until then it holds a slot of its client address."""
    hs.wait_access(lambda r: r.get("proto") == "-" and r.get("result") == "closed",
                   what="the readiness probe's access line")


def expect_turned_away(hs, what, source=None, factory=None, addr=None):
    """A connection beyond max-connections-per-client: closed at once,
    before any byte (the greeting it sends gets no answer); no access line."""
    with open_tcp(addr or hs.addr, source, factory) as sock:
        try:
            sock.sendall(b"\x05\x01\x00")
        except OSError:
            pass  # already closed: as good
        data, how = read_to_close(sock)
    check(data == b"" and how in ("eof", "reset"),
          "%s: got %s and %s, want a close without a byte" % (what, show(data), how))


@suite.test("max-connections-per-client 2 counts connections from accept: two idle handshakes "
            "(nothing sent) hold both slots, the third connection is closed at once without a "
            "byte; 127.0.0.2 gets its own two; a slot frees when a session ends; a burst of 20 "
            "refusals logs one warning; HTTP and SOCKS4 are turned away alike")
def t_per_client(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(config=["max-connections-per-client 2", "allow *"], workers=1)
    probe_gone(hs)
    base = hs.stable_fd_count()
    idle = [open_tcp(hs.addr) for _ in range(2)]  # handshakes that never speak
    check(wait_until(lambda: hs.fd_count() >= base + 2),
          "hopsocks did not accept the two idle connections")
    for k in range(20):
        expect_turned_away(hs, "connection %d beyond the limit" % (k + 3))
    check(wait_until(lambda: len(log_lines(hs, "refused at accept, "
                                                "max-connections-per-client (2)")) == 1),
          "want one warning for the burst: %s" % hs.stderr_tail(5))
    client, data = http_refused(hs.addr, "127.0.0.1:%d" % echo.port)
    check_eq(data, b"", "HTTP beyond the limit: what came back")
    other = hold(hs, echo, 2, source="127.0.0.2")
    gone = name_of(idle[0])
    idle[0].close()
    access_of(hs, gone, "the idle handshake's access line (result=closed)")
    held = hold(hs, echo, 1)  # the slot the idle handshake held
    expect_turned_away(hs, "again third from 127.0.0.1")
    check_eq(len(log_lines(hs, "refused at accept")), 1, "warnings within 10 s")
    stats = stats_line(hs)
    check(" refused_max_connections=22 " in stats, "refusals counted: %s" % stats)
    for s in held + other + idle[1:]:
        s.close()


@suite.test("max-connections-per-user 1: alice's second session (from another address) gets "
            "05 02 and HTTP 503 with user=alice result=busy; bob is served; alice again after "
            "her session ends")
def t_per_user(ctx):
    echo = ctx.own(EchoServer())
    hs = users_hopsocks(ctx, ["max-connections-per-user 1"])
    alice, bob = ("alice", USERS["alice"]), ("bob", USERS["bob"])
    held = hold(hs, echo, 1, auth=alice)
    expect_busy(hs, echo, "alice's second", source="127.0.0.2", auth=alice, user="alice")
    check_eq(len(log_lines(hs, "refused: max-connections-per-user reached")), 2,
             "warnings naming max-connections-per-user")
    bobs = hold(hs, echo, 1, auth=bob)
    client = name_of(held[0])
    held[0].close()
    access_of(hs, client, "alice's first session's access line")
    held = hold(hs, echo, 1, source="127.0.0.2", auth=alice)
    for s in held + bobs:
        s.close()


@suite.test("the HTTP 503 for a connection limit does not blame the rules")
def t_busy_http_body(ctx):
    echo = ctx.own(EchoServer())
    hs = users_hopsocks(ctx, ["max-connections-per-user 1"])
    alice = ("alice", USERS["alice"])
    held = hold(hs, echo, 1, auth=alice)
    client, data = http_refused(hs.addr, "127.0.0.1:%d" % echo.port, auth=alice)
    held[0].close()
    check(data.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), "status: %s" % show(data))
    check(b"ruleset" not in data, "503 body: %r" % data.split(b"\r\n\r\n", 1)[-1])


# ========================================================= auth throttling

BLOCKED_LINE = "too many failed authentications: blocked for 2000 ms"


def login(hs, user, password, source=None):
    """RFC 1929 exchange: the 2-byte reply; a failure must be followed by a
    close."""
    with open_tcp(hs.addr, source) as sock:
        sock.sendall(b"\x05\x01\x02")
        check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x02", "method selection")
        sock.sendall(socks5_auth(user, password))
        reply = recv_exact(sock, 2, "RFC 1929 reply")
        if reply != b"\x01\x00":
            expect_closed(sock, "after RFC 1929 reply %s" % show(reply))
    return reply


def http_login(hs, user, password, echo, source=None):
    """HTTP CONNECT with Basic credentials: the status line."""
    with open_tcp(hs.addr, source) as sock:
        sock.sendall(http_request("127.0.0.1:%d" % echo.port, (user, password)))
        data = recv_exact(sock, 12, "HTTP status")
        if data.startswith(b"HTTP/1.1 407"):
            rest, how = read_to_close(sock)
            check_eq(data + rest, http_error(407), "HTTP 407 response")
        return data.split(b" ")[1].decode()


def blocked_lines(hs, line=BLOCKED_LINE):
    return [text for text in log_lines(hs, line) if " warn client 127.0.0.1:" in text]


def parallel_logins(hs, n, user, password, source=None):
    """n SOCKS5 logins from one address sent at once (greeting and RFC 1929
    pipelined on n connections before any answer is read): [(client,
    2-byte reply)] once every connection has its answer and its close."""
    socks = [open_tcp(hs.addr, source) for _ in range(n)]
    try:
        for sock in socks:
            sock.sendall(b"\x05\x01\x02" + socks5_auth(user, password))
        out = []
        for sock in socks:
            check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x02", "method selection")
            reply = recv_exact(sock, 2, "RFC 1929 reply")
            expect_closed(sock, "after RFC 1929 reply %s" % show(reply))
            out.append((name_of(sock), reply))
        return out
    finally:
        for sock in socks:
            sock.close()


@suite.test("auth-throttle 3 60s 60s: ten wrong passwords sent at once from one address are "
            "counted as they are handed to the verifier, so the third blocks and the other seven "
            "are refused unverified (01 01 each, 'address blocked' seven times, one block line)")
def t_throttle_parallel(ctx):
    hs = users_hopsocks(ctx, ["auth-throttle 3 60s 60s"])
    replies = parallel_logins(hs, 10, "alice", "wrong")
    check_eq([r for _, r in replies], [b"\x01\x01"] * 10, "RFC 1929 replies")
    check(wait_until(lambda: len(log_lines(hs, "address blocked for failing")) == 7),
          "want 7 attempts refused unverified: %s" % hs.stderr_tail(12))
    check_eq(len(log_lines(hs, "too many failed authentications: blocked for 60000 ms")), 1,
             "block lines")
    check_eq(login(hs, "alice", USERS["alice"]), b"\x01\x01", "the right password, blocked")


@suite.test("the verifier's queue is bounded per address: sixteen wrong passwords at once from "
            "one address (no throttle) get 01 01 each, some unverified as 'auth-busy' "
            "(auth_queue_full counts them), while another address logs in")
def t_verifier_queue_per_client(ctx):
    hs = users_hopsocks(ctx, ["auth-throttle off"])
    replies = parallel_logins(hs, 16, "alice", "wrong")
    check_eq([r for _, r in replies], [b"\x01\x01"] * 16, "RFC 1929 replies")
    results = [access_of(hs, client, "login %s" % client).get("result") for client, _ in replies]
    busy = results.count("auth-busy")
    check(busy >= 1 and set(results) <= {"auth-failed", "auth-busy"},
          "access results %s: want some auth-busy (the per-address bound is 8 waiting)" % results)
    stats = stats_line(hs)
    check(" auth_queue_full=%d" % busy in stats, "auth_queue_full counts the %d: %s" % (busy, stats))
    check_eq(login(hs, "alice", USERS["alice"], source="127.0.0.2"), b"\x01\x00",
             "alice from another address")


@suite.test("auth-throttle 3 10s 2s: three wrong passwords from 127.0.0.1 block it (one warn "
            "line 'too many failed authentications: blocked for 2000 ms'); the right password "
            "then gets 01 01 and HTTP 407 without verification; 127.0.0.2 unaffected; after "
            "2 s the right password works")
def t_throttle(ctx):
    echo = ctx.own(EchoServer())
    hs = users_hopsocks(ctx, ["auth-throttle 3 10s 2s"])
    for i in range(2):
        check_eq(login(hs, "alice", "wrong-%d" % i), b"\x01\x01", "wrong password %d" % (i + 1))
    check_eq(blocked_lines(hs), [], "block lines before the third failure")
    check_eq(login(hs, "alice", "wrong-2"), b"\x01\x01", "wrong password 3")
    started = time.monotonic()
    check(wait_until(lambda: len(blocked_lines(hs)) == 1, 5), "no block line: %s"
          % hs.stderr_tail(8))
    check_eq(login(hs, "alice", USERS["alice"]), b"\x01\x01", "right password while blocked")
    check_eq(http_login(hs, "alice", USERS["alice"], echo), "407",
             "HTTP, right password while blocked")
    check_eq(len(log_lines(hs, "authentication refused: address blocked for failing")), 2,
             "'address blocked' lines for the two refused attempts")
    check_eq(login(hs, "alice", USERS["alice"], source="127.0.0.2"), b"\x01\x00",
             "right password from 127.0.0.2")
    check_eq(login(hs, "bob", "wrong", source="127.0.0.2"), b"\x01\x01",
             "wrong password from 127.0.0.2")
    # Refused attempts during the block neither verify nor extend it.
    got = wait_until(lambda: login(hs, "alice", USERS["alice"]) == b"\x01\x00", 2 + BOUND, 0.2)
    waited = time.monotonic() - started
    check(got, "the right password still refused %.1fs after the block began" % waited)
    check(waited >= 1.5, "the block lasted only %.2fs, want 2s" % waited)
    check_eq(len(blocked_lines(hs)), 1, "block lines in total")
    check(all("127.0.0.2" not in line for line in log_lines(hs, BLOCKED_LINE)),
          "127.0.0.2 was blocked")


@suite.test("auth-throttle 3 10s 2s: a success clears the count (wrong, wrong, right, wrong, "
            "wrong, right all answered as such), then three failures block again")
def t_throttle_reset(ctx):
    hs = users_hopsocks(ctx, ["auth-throttle 3 10s 2s"])
    right = USERS["alice"]
    seq = [("w1", b"\x01\x01"), ("w2", b"\x01\x01"), (right, b"\x01\x00"),
           ("w3", b"\x01\x01"), ("w4", b"\x01\x01"), (right, b"\x01\x00"), ("w5", b"\x01\x01")]
    for i, (password, want) in enumerate(seq):
        check_eq(login(hs, "alice", password), want, "attempt %d" % (i + 1))
    check_eq(blocked_lines(hs), [], "block lines after two failures in a row at most")
    check_eq(login(hs, "alice", "w6"), b"\x01\x01", "attempt 8")
    check_eq(login(hs, "alice", "w7"), b"\x01\x01", "attempt 9 (third in a row)")
    check(wait_until(lambda: len(blocked_lines(hs)) == 1, 5), "no block line after three "
          "failures in a row: %s" % hs.stderr_tail(8))
    check_eq(login(hs, "alice", right), b"\x01\x01", "right password once blocked")


@suite.test("auth-throttle 2 1500ms 2s: a failure after the window of the first starts a new "
            "count (not blocked); two within the window block")
def t_throttle_window(ctx):
    hs = users_hopsocks(ctx, ["auth-throttle 2 1500ms 2s"])
    check_eq(login(hs, "alice", "w1"), b"\x01\x01", "failure 1")
    time.sleep(1.7)
    # Failures count when they are handed to the verifier: the window of
    # failure 2 starts before its answer, so the time is taken before.
    second = time.monotonic()
    check_eq(login(hs, "alice", "w2"), b"\x01\x01", "failure 2, after the window")
    check_eq(log_lines(hs, "too many failed authentications"), [], "block lines")
    check_eq(login(hs, "alice", "w3"), b"\x01\x01", "failure 3, in the window of failure 2")
    if time.monotonic() - second > 1.5:
        raise Skip("the machine is too slow for a 1.5 s window (%.2fs between two logins)"
                   % (time.monotonic() - second))
    check(wait_until(lambda: len(log_lines(hs, "blocked for 2000 ms")) == 1, 5),
          "no block line: %s" % hs.stderr_tail(8))
    check_eq(login(hs, "alice", USERS["alice"]), b"\x01\x01", "right password once blocked")


@suite.test("auth-throttle 3 10s 2s over HTTP: three wrong Basic credentials (407) block the "
            "address for HTTP and SOCKS5 alike; no credentials at all is not a failure")
def t_throttle_http(ctx):
    echo = ctx.own(EchoServer())
    # The window and the block scale with HOPSOCKS_TEST_SLOW: under valgrind
    # three argon2 checks and the fourth login outlast a 2 s block.
    block_s = 2 * SLOW
    hs = users_hopsocks(ctx, ["auth-throttle 3 %ds %ds" % (10 * SLOW, block_s)])
    blocked = "too many failed authentications: blocked for %d ms" % (block_s * 1000)
    for i in range(4):
        client, data = http_refused(hs.addr, "127.0.0.1:%d" % echo.port)
        check_eq(data, http_error(407), "no credentials %d" % (i + 1))
    check_eq(blocked_lines(hs, blocked), [], "block lines after requests without credentials")
    check_eq(http_login(hs, "alice", USERS["alice"], echo), "200",
             "HTTP, right password before any failure")
    for i in range(3):
        check_eq(http_login(hs, "alice", "nope-%d" % i, echo), "407", "HTTP wrong %d" % (i + 1))
    check(wait_until(lambda: len(blocked_lines(hs, blocked)) == 1, 5 * SLOW),
          "no block line: %s" % hs.stderr_tail(8))
    check_eq(http_login(hs, "alice", USERS["alice"], echo), "407",
             "HTTP, right password while blocked")
    check_eq(login(hs, "alice", USERS["alice"]), b"\x01\x01", "SOCKS5, right password while "
             "blocked")


# ================================================ destination guard (netns)

def guard_setup(ctx, extra=()):
    """Namespace, targets and a hopsocks on ns.host (+127.0.0.1) with the
    guard on and 'allow from <veth net>'."""
    ns = netns(ctx)
    t = {"e4": ctx.own(EchoServer()), "e6": ctx.own(EchoServer("::1")),
         "e10": ctx.own(EchoServer(ns.private)), "epub": ctx.own(EchoServer(ns.host))}
    dns = ctx.own(DnsServer({"loop.test": ["127.0.0.1"], "loop6.test": ["::1"],
                             "ten.test": [ns.private], "pub.test": [ns.host],
                             "mixed.test": ["127.0.0.1", ns.host]}))
    net = ns.host.rsplit(".", 1)[0] + ".0/24"
    hs = ctx.hopsocks(config=["resolver " + dns.resolver, "destination-guard on",
                              "allow from %s" % net, "allow from 127.0.0.0/8"] + list(extra),
                      listen=(ns.host, "127.0.0.1"))
    return ns, t, dns, hs


@suite.test("destination guard (client 198.18.N.2 in a network namespace): 127.0.0.1, 10.x, "
            "169.254.x, 172.16.x, 192.168.x, 0.0.0.0, ::1, ::ffff:127.0.0.1, fd00::, fe80::, "
            "64:ff9b::7f00:1 refused 05 02 deny=destination:guard despite the allow rule; "
            "SOCKS4 5B, HTTP 403; an unguarded reachable address passes; loopback clients "
            "are exempt; BIND is not guarded")
def t_guard_literals(ctx):
    ns, t, dns, hs = guard_setup(ctx)
    at = hs.addr_of(ns.host)
    f = ns.socket
    guarded = [("127.0.0.1", t["e4"].port), (ns.private, t["e10"].port),
               ("169.254.169.254", 80), ("172.16.0.1", 80), ("172.31.255.255", 80),
               ("192.168.1.1", 80), ("0.0.0.0", t["e4"].port), ("::1", t["e6"].port),
               ("::ffff:127.0.0.1", t["e4"].port), ("fd00::1", 80), ("fe80::1", 80),
               ("64:ff9b::7f00:1", t["e4"].port), ("::", t["e4"].port)]
    for host, port in guarded:
        expect_s5_denied(hs, host, port, "destination:guard", "to %s" % host, addr=at, factory=f,
                         extra={"user": "-"})
    # A literal written as a name (ATYP 03) is still an address.
    with open_tcp(at, factory=f) as sock:
        client = name_of(sock)
        sock.sendall(b"\x05\x01\x00\x05\x01\x00\x03\x09127.0.0.1" + struct.pack(">H", t["e4"].port))
        check_eq(recv_exact(sock, 2, "method"), b"\x05\x00", "method selection")
        check_eq(recv_exact(sock, 10, "reply"), S5_DENIED, "'127.0.0.1' as a name")
    check_fields(access_of(hs, client), deny_fields("destination:guard"))
    expect_s4(hs, "127.0.0.1", t["e4"].port, 0x5B, "SOCKS4 to 127.0.0.1", factory=f,
              deny="destination:guard")
    expect_http_denied(hs, "127.0.0.1:%d" % t["e4"].port, "destination:guard",
                       "HTTP to 127.0.0.1", factory=f)
    # Unguarded and reachable: allowed, up to the rules.
    expect_s5_ok(hs, ns.host, t["epub"].port, "to %s" % ns.host, addr=at, factory=f)
    # Nothing guarded was ever connected to.
    for name in ("e4", "e6", "e10"):
        check_eq(t[name].peers, [], "connections at the guarded target %s" % name)
    # Loopback clients are exempt, and 10.231.N.1 really is reachable.
    lo = hs.addr_of("127.0.0.1")
    expect_s5_ok(hs, "127.0.0.1", t["e4"].port, "127.0.0.2 to 127.0.0.1", source="127.0.0.2",
                 addr=lo)
    expect_s5_ok(hs, ns.private, t["e10"].port, "127.0.0.1 to %s" % ns.private, addr=lo)
    # BIND makes no outgoing connection: not guarded.
    sock, rep, raw = s5_attempt(at, "127.0.0.1", 0, cmd=2, factory=f)
    with sock:
        check(rep == 0, "BIND from the namespace: first reply %s, want success" % show(raw))


@suite.test("destination guard on resolved names: loop.test (127.0.0.1), loop6.test (::1), "
            "ten.test (10.x) and localhost refused 05 02 / HTTP 403 before any connect; "
            "mixed.test (127.0.0.1 + a public-looking address) connects to the second; "
            "pub.test passes")
def t_guard_names(ctx):
    ns, t, dns, hs = guard_setup(ctx)
    at = hs.addr_of(ns.host)
    f = ns.socket
    for host, port in (("loop.test", t["e4"].port), ("loop6.test", t["e6"].port),
                       ("ten.test", t["e10"].port), ("localhost", t["e4"].port)):
        sock, rep, raw = s5_attempt(at, host, port, factory=f)
        with sock:
            client = name_of(sock)
            check_eq(raw, S5_DENIED, "to %s: SOCKS5 reply" % host)
            expect_closed(sock, "to %s (after the reply)" % host)
        rec = access_of(hs, client)
        check_fields(rec, {"result": "denied", "target": fmt_addr(host, port)})
    client, data = http_refused(at, "loop.test:%d" % t["e4"].port, factory=f)
    check(data.startswith(b"HTTP/1.1 403 Forbidden\r\n"), "HTTP to loop.test: %s" % show(data))
    check_fields(access_of(hs, client), {"proto": "http", "result": "denied"})
    sock, raw = s4_attempt(at, None, t["e4"].port, hostname="loop.test", factory=f)
    with sock:
        check_eq(raw, S4_DENIED, "SOCKS4a to loop.test")
    for name in ("e4", "e6", "e10"):
        check_eq(t[name].peers, [], "connections at the guarded target %s" % name)
    check(dns.count("loop.test") >= 1, "loop.test was never resolved (so not checked after "
          "resolution)")
    rec = expect_s5_ok(hs, "mixed.test", t["epub"].port, "to mixed.test", addr=at, factory=f)
    check_eq(rec.get("addr"), "%s:%d" % (ns.host, t["epub"].port), "addr= of mixed.test")
    expect_s5_ok(hs, "pub.test", t["epub"].port, "to pub.test", addr=at, factory=f)
    # From loopback, the same names are fine.
    expect_s5_ok(hs, "loop.test", t["e4"].port, "127.0.0.1 to loop.test",
                 addr=hs.addr_of("127.0.0.1"))


@suite.test("destination guard on resolved names: the access line names the guard "
            "(deny=destination:guard) and HTTP gets 'Forbidden: access denied', as for "
            "literals")
def t_guard_names_deny_field(ctx):
    ns, t, dns, hs = guard_setup(ctx)
    expect_s5_denied(hs, "loop.test", t["e4"].port, "destination:guard", "to loop.test",
                     addr=hs.addr_of(ns.host), factory=ns.socket)
    expect_http_denied(hs, "loop.test:%d" % t["e4"].port, "destination:guard",
                       "HTTP to loop.test", factory=ns.socket)


@suite.test("destination guard with a chain that resolves locally (resolve local): a name "
            "resolving to 127.0.0.1 is refused like the literal (05 02), the upstream is never "
            "asked")
def t_guard_chain_local(ctx):
    ns = netns(ctx)
    echo = ctx.own(EchoServer())
    up = ctx.hopsocks()  # an upstream on this machine, no rules
    dns = ctx.own(DnsServer({"loop.test": ["127.0.0.1"]}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver, "destination-guard on",
                              "allow from %s/32" % ns.peer]
                      + chain_block("up", ["socks5://127.0.0.1:%d" % up.port], resolve="local")
                      + ["route * via up"], listen=(ns.host,))
    expect_s5_denied(hs, "127.0.0.1", echo.port, "destination:guard", "literal through the chain",
                     factory=ns.socket)
    sock, rep, raw = s5_attempt(hs.addr, "loop.test", echo.port, factory=ns.socket)
    with sock:
        check_eq(raw, S5_DENIED, "loop.test through the chain (resolve local)")
    check_eq(echo.peers, [], "connections at 127.0.0.1 (via the upstream)")


@suite.test("destination guard for UDP (client in a namespace): datagrams to 127.0.0.1, "
            "loop.test, 10.x and ::ffff:127.0.0.1 dropped (drop_denied=4), to an unguarded "
            "address echoed")
def t_guard_udp(ctx):
    ns = netns(ctx)
    u4, u10, upub = (ctx.own(UdpEchoServer()), ctx.own(UdpEchoServer(ns.private)),
                     ctx.own(UdpEchoServer(ns.host)))
    dns = ctx.own(DnsServer({"loop.test": ["127.0.0.1"]}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver, "destination-guard on",
                              "allow from %s/32" % ns.peer], listen=(ns.host,))
    a = ctx.own(Assoc(hs.addr, source=ns.peer, factory=ns.socket))
    check(a.rep == 0, "UDP ASSOCIATE from the namespace: reply %s" % show(a.reply))
    check_eq(a.relay[0], ns.host, "relay address")
    for target in (u4.addr, ("loop.test", u4.port), u10.addr, ("::ffff:127.0.0.1", u4.port)):
        a.send(b"guarded", target)
    a.roundtrip(b"public", upub.addr, "datagram to %s" % ns.host)
    a.expect_nothing("after the guarded datagrams")
    check(wait_until(lambda: dns.count("loop.test") >= 1, 5), "loop.test never resolved")
    time.sleep(0.2)  # the answer to loop.test reaches hopsocks
    a.close()
    check_fields(access_of(hs, a.client), udp_counts(1, 1, 4))
    check_eq((u4.received, u10.received), ([], []), "datagrams at the guarded targets")


@suite.test("no rules, client beyond loopback (namespace): logged in it goes anywhere (even "
            "127.0.0.1, the guard being off); SOCKS4 (socks4 on) is 'default: loopback only' "
            "(00 5B); without users or an allow rule a non-loopback listen is refused")
def t_beyond_loopback_default(ctx):
    ns = netns(ctx)
    echo = ctx.own(EchoServer())
    hs = users_hopsocks(ctx, ["socks4 on"], listen=(ns.host,))
    expect_s5_ok(hs, "127.0.0.1", echo.port, "alice from %s" % ns.peer,
                 auth=("alice", USERS["alice"]), factory=ns.socket)
    expect_http_ok(hs, "127.0.0.1:%d" % echo.port, "alice over HTTP",
                   auth=("alice", USERS["alice"]), factory=ns.socket)
    rec = expect_s4(hs, "127.0.0.1", echo.port, 0x5B, "SOCKS4 from %s" % ns.peer,
                    deny="default::loopback:only", factory=ns.socket)
    check(rec["client"].startswith(ns.peer + ":"), "client= %r" % rec["_line"])
    port = closed_port()
    rc, err, cmd = run_hopsocks(ctx, ["-l", "%s:%d" % (ns.host, port)])
    check_eq((rc, err), (1, OPEN_RELAY % ("%s:%d" % (ns.host, port), "127.0.0.1")),
             "hopsocks -l %s:%d: exit status and stderr" % (ns.host, port))


@suite.test("max-connections-per-client 1 counts an IPv6 /64 as one client (namespace): N::2 "
            "holds the slot, N::3 of the same /64 is turned away at accept, N:1::2 is served")
def t_per_client_ipv6_64(ctx):
    ns = netns(ctx, ipv6=True)
    p2, p3, other = ns.peers6
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(config=["max-connections-per-client 1", "allow *"],
                      listen=(ns.host6,), workers=1)
    probe_gone(hs)  # it came from N::1, of the same /64
    f = ns.socket
    held = hold(hs, echo, 1, source=p2, factory=f)
    expect_turned_away(hs, "from %s (same /64)" % p3, source=p3, factory=f)
    more = hold(hs, echo, 1, source=other, factory=f)
    check_eq(len(log_lines(hs, "refused at accept")), 1, "warnings")
    for s in held + more:
        s.close()


@suite.test("IPv6 clients beyond loopback (namespace, 2001:db8:N::/64): 'deny from N::3', "
            "'allow from N::/64' decide, N:1::2 is default deny; failed logins are counted per "
            "/64: N::2 failing blocks N::3 but not N:1::2")
def t_ipv6_beyond_loopback(ctx):
    ns = netns(ctx, ipv6=True)
    p2, p3, other = ns.peers6
    echo = ctx.own(EchoServer())
    net = ns.host6.replace("::1", "::/64")
    rules = ["deny from %s" % p3, "allow from %s" % net]
    hs = ctx.hopsocks(config=rules, listen=(ns.host6,))
    f = ns.socket
    rec = expect_s5_ok(hs, "127.0.0.1", echo.port, "from %s" % p2, source=p2, factory=f)
    check(rec["client"].startswith("[%s]:" % p2), "client= %r" % rec["_line"])
    expect_s5_refused_early(hs, rule_of(hs, rules[0]), "from %s" % p3, source=p3, factory=f)
    expect_s5_refused_early(hs, "default:deny", "from %s" % other, source=other, factory=f)
    client, data = http_refused(hs.addr, "127.0.0.1:%d" % echo.port, p3, factory=f)
    check_eq(data, http_error(403, "access denied"), "HTTP from %s: response" % p3)
    check_fields(access_of(hs, client, "HTTP from %s" % p3),
                 {"proto": "http", "target": "-", "result": "denied", "deny": rule_of(hs, rules[0])})

    hs2 = users_hopsocks(ctx, ["auth-throttle 3 10s 2s"], listen=(ns.host6,))

    def login6(password, source):
        with open_tcp(hs2.addr, source, f) as sock:
            sock.sendall(b"\x05\x01\x02")
            check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x02", "method selection")
            sock.sendall(socks5_auth("alice", password))
            return recv_exact(sock, 2, "RFC 1929 reply")
    for i in range(3):
        check_eq(login6("wrong", p2), b"\x01\x01", "wrong password %d from %s" % (i + 1, p2))
    check(wait_until(lambda: len(log_lines(hs2, "blocked for 2000 ms")) == 1, 5),
          "no block line: %s" % hs2.stderr_tail(8))
    check_eq(login6(USERS["alice"], p3), b"\x01\x01", "right password from %s (same /64)" % p3)
    check_eq(login6(USERS["alice"], other), b"\x01\x00",
             "right password from %s (another /64)" % other)


if __name__ == "__main__":
    suite.run()
