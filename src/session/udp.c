/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* UDP ASSOCIATE. See udp.h.
 *
 *   client ──(SOCKS5 UDP header + data)──> relay_fd ──(data)──> out_fd[family] ──> target
 *   client <──(SOCKS5 UDP header + data)── relay_fd <──(data)── out_fd[family] <── target
 *
 * One outbound socket per family means every target sees one stable source
 * port for the whole association, as games and STUN-style protocols expect. */
#include "session/udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/log.h"
#include "base/stats.h"
#include "base/util.h"
#include "net/dial.h"
#include "net/loop.h"
#include "net/resolve.h"
#include "policy/acl.h"
#include "policy/route.h"
#include "proto/socks5.h"
#include "session/session_ctx.h"

/* Largest UDP payload (IPv4: 65535 - 8 - 20). A receive slot holds any
 * datagram plus room for our header in front of it. */
#define UDP_PAYLOAD_MAX 65507
#define UDP_SLOT_SIZE	(SOCKS5_UDP_HEADER_MAX + 65536)
/* Datagrams taken by one recvmmsg(2), and sent by one sendmmsg(2). */
#define UDP_RX_BATCH 32
#define UDP_TX_BATCH UDP_RX_BATCH
/* Datagrams handled per wake-up, so one busy association cannot starve
 * the rest of the worker. */
#define UDP_WAKEUP_MAX 64
/* Datagrams waiting for a name: bounded in count and bytes. */
#define UDP_QUEUE_MAX	32
#define UDP_QUEUE_BYTES (256 * 1024)
#define UDP_LOOKUPS_MAX 4
/* Remembered targets (for filtering replies); forgotten all at once when full. */
#define UDP_PEERS_MAX 4096

enum { FAM_V4 = 0, FAM_V6 = 1 };

struct udp_peer {
	uint8_t family; /* 0 = empty slot */
	uint16_t port;
	uint8_t addr[16];
};

struct udp_pending {
	struct udp_pending *next;
	char name[TARGET_DOMAIN_MAX + 1];
	uint16_t port;
	size_t len;
	uint8_t data[];
};

struct udp_lookup {
	struct udp_assoc *a;
	struct resolve_query *query; /* NULL = slot free */
	char name[TARGET_DOMAIN_MAX + 1];
};

struct udp_out {
	struct loop_io io;
	struct udp_assoc *a;
	int fd;
};

struct udp_assoc {
	struct session_ctx *ctx;
	const struct config *cfg;	    /* the owning session's snapshot */
	const char *user;		    /* authenticated user or NULL, for access rules */
	struct sockaddr_storage tcp_client; /* the control connection's peer, for rules */
	struct loop_io relay_io;
	int relay_fd;
	struct udp_out out[2];
	struct sockaddr_storage relay_addr;
	struct sockaddr_storage client; /* the client's IP; port once known */
	bool client_port_known;
	bool via_upstream; /* out[0] is connected to an upstream SOCKS5 relay */
	/* Per family: has a route been looked for, and was there one? */
	bool route_checked[2], routable[2];
	uint64_t last_active_ms;

	struct udp_peer *peers;
	size_t npeers, peers_cap;

	struct udp_pending *queue_head, *queue_tail;
	size_t queue_len, queue_bytes;
	struct udp_lookup lookups[UDP_LOOKUPS_MAX];

	struct udp_counters c;
	/* Datagrams already given to the process's counters (udp_assoc_take_packets). */
	uint64_t pkts_up_taken, pkts_down_taken;
};

/* Batching: datagrams are received with one recvmmsg(2) per up to
 * UDP_RX_BATCH and sent with one sendmmsg(2) per run of datagrams leaving
 * through the same socket, instead of one recvfrom and one sendto each
 * (plus a recvfrom that found the socket empty). With the benchmark's UDP
 * load (bench/loadgen udp: 4 associations x 16 in flight, 512 bytes) on
 * hopsocks -w 1, syscalls per relayed datagram (strace -c -f) went from
 * 2.08 (1.06 recvfrom, 1.00 sendto, 0.016 epoll_wait) to 0.14 (0.063
 * recvmmsg, 0.063 sendmmsg, 0.016 epoll_wait); without strace slowing it
 * (perf stat on the syscall tracepoints), 0.21. 32 slots rather than 16:
 * with 16 a full window arrived as exactly one full batch, and the call
 * that then found the socket empty was 20-30 % of the syscalls. */

enum udp_tx_kind {
	UDP_TX_TARGET,	 /* an outbound socket to a target: remember it, count up */
	UDP_TX_UPSTREAM, /* the socket connected to the upstream relay: count up */
	UDP_TX_CLIENT,	 /* the relay socket back to the client: count down */
};

/* Datagrams waiting to leave through one socket, for one association.
 * Their bytes stay where they were received (a slot, or a queued
 * udp_pending), so the batch is sent before those are reused or freed:
 * every handler empties it before it returns. */
struct udp_tx {
	struct udp_assoc *a;
	int fd;
	enum udp_tx_kind kind;
	unsigned n;
	struct mmsghdr msg[UDP_TX_BATCH];
	struct iovec iov[UDP_TX_BATCH];
	struct sockaddr_storage dst[UDP_TX_BATCH];
	size_t payload[UDP_TX_BATCH]; /* payload bytes, for the counters */
};

/* The worker's UDP scratch area, shared by all its associations (an idle
 * association holds no buffer at all), allocated at the first datagram:
 * the receive slots one recvmmsg fills and the send batch built from
 * them. About 2 MiB of address space, but the kernel writes only as far
 * as each datagram goes, so a worker relaying small datagrams keeps a
 * page or two per slot resident. */
struct udp_scratch {
	struct mmsghdr rx[UDP_RX_BATCH];
	struct iovec rx_iov[UDP_RX_BATCH];
	struct sockaddr_storage rx_src[UDP_RX_BATCH];
	struct udp_tx tx;
	uint8_t slot[UDP_RX_BATCH][UDP_SLOT_SIZE];
};

static struct udp_scratch *udp_scratch(struct session_ctx *ctx)
{
	/* The worker frees it with free() when it ends. Not calloc: that
	 * would touch all 2 MiB when the block comes from the heap rather
	 * than a fresh mmap. But the empty send batch must be set: malloc
	 * gives no zeroes, and a stale tx.n would index past the batch
	 * (valgrind saw it read uninitialised under `scripts/test
	 * --valgrind`). */
	if (!ctx->udp_scratch) {
		ctx->udp_scratch = malloc(sizeof(*ctx->udp_scratch));
		if (ctx->udp_scratch) {
			ctx->udp_scratch->tx.n = 0;
			ctx->udp_scratch->tx.a = NULL;
		}
	}
	return ctx->udp_scratch;
}

static void udp_drop(struct udp_assoc *a, enum udp_drop why)
{
	a->c.drops[why]++;
	stats_inc(a->ctx->net.stats, udp_dropped);
}

/* A burst of large datagrams overflows the default receive buffer before
 * the loop gets to read it; ask for more (the kernel caps it at rmem_max). */
static void udp_grow_buffers(int fd)
{
	int size = 1024 * 1024;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

/* ---- remembered targets: open addressing, linear probing ---- */

static struct udp_peer udp_peer_of(const struct sockaddr_storage *ss)
{
	struct udp_peer p = { .family = (uint8_t)ss->ss_family, .port = util_sa_port(ss) };
	memcpy(p.addr, util_sa_addr(ss), ss->ss_family == AF_INET ? 4 : 16);
	return p;
}

static size_t udp_peer_hash(const struct udp_peer *p)
{
	uint64_t h = 1469598103934665603ull ^ p->family ^ ((uint64_t)p->port << 8);
	for (size_t i = 0; i < sizeof(p->addr); i++) {
		h ^= p->addr[i];
		h *= 1099511628211ull;
	}
	return (size_t)h;
}

static bool udp_peer_eq(const struct udp_peer *x, const struct udp_peer *y)
{
	return x->family == y->family && x->port == y->port &&
	       memcmp(x->addr, y->addr, sizeof(x->addr)) == 0;
}

static struct udp_peer *udp_peer_slot(struct udp_peer *tab, size_t cap, const struct udp_peer *p)
{
	size_t i = udp_peer_hash(p) & (cap - 1);
	while (tab[i].family != 0 && !udp_peer_eq(&tab[i], p))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static bool udp_peer_known(const struct udp_assoc *a, const struct sockaddr_storage *ss)
{
	if (a->peers_cap == 0)
		return false;
	struct udp_peer p = udp_peer_of(ss);
	return udp_peer_slot(a->peers, a->peers_cap, &p)->family != 0;
}

/* Keep the table at most half full; past UDP_PEERS_MAX start over rather
 * than grow without bound. */
static bool udp_peers_grow(struct udp_assoc *a)
{
	size_t cap = a->peers_cap ? a->peers_cap * 2 : 16;
	if (a->npeers >= UDP_PEERS_MAX) {
		memset(a->peers, 0, a->peers_cap * sizeof(*a->peers));
		a->npeers = 0;
		return true;
	}
	struct udp_peer *tab = calloc(cap, sizeof(*tab));
	if (!tab)
		return false;
	for (size_t i = 0; i < a->peers_cap; i++)
		if (a->peers[i].family != 0)
			*udp_peer_slot(tab, cap, &a->peers[i]) = a->peers[i];
	free(a->peers);
	a->peers = tab;
	a->peers_cap = cap;
	return true;
}

static void udp_peer_remember(struct udp_assoc *a, const struct sockaddr_storage *ss)
{
	struct udp_peer p = udp_peer_of(ss);
	if (a->peers_cap && udp_peer_slot(a->peers, a->peers_cap, &p)->family != 0)
		return;
	if ((a->npeers + 1) * 2 > a->peers_cap && !udp_peers_grow(a))
		return;
	*udp_peer_slot(a->peers, a->peers_cap, &p) = p;
	a->npeers++;
}

/* ---- batched sends and receives ---- */

static void udp_tx_sent(struct udp_tx *tx, unsigned i)
{
	struct udp_assoc *a = tx->a;
	switch (tx->kind) {
	case UDP_TX_TARGET:
		udp_peer_remember(a, &tx->dst[i]);
		/* fall through */
	case UDP_TX_UPSTREAM:
		a->c.pkts_up++;
		a->c.bytes_up += tx->payload[i];
		break;
	case UDP_TX_CLIENT:
		a->c.pkts_down++;
		a->c.bytes_down += tx->payload[i];
		break;
	}
}

/* Send the batch, in order. sendmmsg stops at the first datagram that
 * fails and reports it only on the next call (as its error), so a failed
 * datagram is dropped and the rest tried again, as one sendto each used
 * to be: a bad destination (port 0) or a reply too big for the client
 * loses only itself. A full socket buffer (EAGAIN) would refuse the rest
 * as well; they are dropped at once, each counted as a send failure. */
static void udp_tx_flush(struct udp_tx *tx)
{
	unsigned i = 0;
	while (i < tx->n) {
		int sent = sendmmsg(tx->fd, &tx->msg[i], tx->n - i, 0);
		if (sent > 0) {
			for (unsigned end = i + (unsigned)sent; i < end; i++)
				udp_tx_sent(tx, i);
			continue;
		}
		unsigned failed =
			sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? tx->n - i : 1;
		for (; failed > 0; failed--, i++)
			udp_drop(tx->a, UDP_DROP_SEND);
	}
	tx->n = 0;
	tx->a = NULL;
}

/* Queue a datagram of len bytes at data (payload bytes of it, for the
 * counters) to leave through fd, to dst (NULL: fd is connected). A batch
 * holds one association's datagrams for one socket; anything else sends
 * what is queued first, which keeps every socket's datagrams in order. A
 * client writing to IPv4 and IPv6 targets in turn thus gets one sendmmsg
 * per run of one family: no worse than the sendto per datagram of old. */
static void udp_tx_add(struct udp_tx *tx, struct udp_assoc *a, int fd, enum udp_tx_kind kind,
		       const struct sockaddr_storage *dst, const uint8_t *data, size_t len,
		       size_t payload)
{
	if (tx->n > 0 && (tx->a != a || tx->fd != fd || tx->n == UDP_TX_BATCH))
		udp_tx_flush(tx);
	unsigned i = tx->n++;
	tx->a = a;
	tx->fd = fd;
	tx->kind = kind;
	tx->iov[i] = (struct iovec){ .iov_base = (void *)data, .iov_len = len };
	tx->msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &tx->iov[i], .msg_iovlen = 1 } };
	if (dst) {
		tx->dst[i] = *dst;
		tx->msg[i].msg_hdr.msg_name = &tx->dst[i];
		tx->msg[i].msg_hdr.msg_namelen = util_sa_len(dst);
	}
	tx->payload[i] = payload;
}

/* Receive up to want datagrams from fd, each at offset `at` of its slot
 * (room for a header in front). Returns how many arrived: fewer than
 * asked means the socket is drained (or has an error queued by ICMP,
 * which the call consumed: nothing to do about it). */
static unsigned udp_rx_batch(struct udp_scratch *s, int fd, size_t at, unsigned want)
{
	for (unsigned i = 0; i < want; i++) {
		s->rx_iov[i] = (struct iovec){ .iov_base = s->slot[i] + at,
					       .iov_len = UDP_SLOT_SIZE - at };
		s->rx[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &s->rx_src[i],
							  .msg_namelen = sizeof(s->rx_src[i]),
							  .msg_iov = &s->rx_iov[i],
							  .msg_iovlen = 1 } };
	}
	/* MSG_TRUNC: msg_len is a datagram's real length, even when it did
	 * not fit its slot (and msg_flags says MSG_TRUNC). */
	int n = recvmmsg(fd, s->rx, want, MSG_DONTWAIT | MSG_TRUNC, NULL);
	return n > 0 ? (unsigned)n : 0;
}

/* Datagram i of the last batch: its bytes and length; false if it was
 * cut short because it did not fit its slot. */
static bool udp_rx_get(struct udp_scratch *s, unsigned i, uint8_t **data, size_t *len)
{
	const struct mmsghdr *m = &s->rx[i];
	if ((m->msg_hdr.msg_flags & MSG_TRUNC) || m->msg_len > m->msg_hdr.msg_iov->iov_len)
		return false;
	*data = m->msg_hdr.msg_iov->iov_base;
	*len = m->msg_len;
	return true;
}

typedef void (*udp_rx_fn)(struct udp_assoc *a, struct udp_scratch *s, unsigned i);

/* Everything fd has, up to UDP_WAKEUP_MAX datagrams: receive a batch,
 * hand each datagram to fn (which may queue sends), send what it queued
 * before the next batch reuses the slots. A short batch means the socket
 * is drained, so the idle case costs no extra EAGAIN call. */
static void udp_pump(struct udp_assoc *a, int fd, size_t at, udp_rx_fn fn)
{
	struct udp_scratch *s = udp_scratch(a->ctx);
	if (!s)
		return;
	unsigned done = 0, want, got;
	do {
		want = UDP_WAKEUP_MAX - done < UDP_RX_BATCH ? UDP_WAKEUP_MAX - done : UDP_RX_BATCH;
		got = udp_rx_batch(s, fd, at, want);
		for (unsigned i = 0; i < got; i++)
			fn(a, s, i);
		udp_tx_flush(&s->tx);
		done += got;
	} while (got == want && done < UDP_WAKEUP_MAX);
}

/* ---- client -> target ---- */

static void udp_on_out_readable(struct loop *loop, void *arg, unsigned events);

/* The association's source for a family: its user's, else the global
 * one (one socket per family carries datagrams to every target, so a
 * route's source cannot apply). NULL = the kernel picks. */
static const struct config_source *udp_source(const struct udp_assoc *a, int family)
{
	struct route_source src;
	route_source_pick(a->cfg, NULL, a->user, &src);
	return family == AF_INET ? src.v4 : src.v6;
}

static int udp_out_socket(struct udp_assoc *a, int family)
{
	struct udp_out *o = &a->out[family == AF_INET ? FAM_V4 : FAM_V6];
	if (o->fd >= 0)
		return o->fd;
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	udp_grow_buffers(fd);
	const struct config_source *src = udp_source(a, family);
	int err = src ? dial_bind_source(fd, src, false) : 0;
	if (err < 0) {
		close(fd);
		return err;
	}
	if (loop_io_add(a->ctx->net.loop, &o->io, fd, LOOP_READ) < 0) {
		close(fd);
		return -ENOMEM;
	}
	o->fd = fd;
	return fd;
}

/* Access rules for one datagram's destination as the client named it. */
static bool udp_acl_allows(struct udp_assoc *a, const struct target *dst)
{
	if (a->cfg->nacl == 0 && !a->cfg->destination_guard)
		return true; /* the default admitted the association already */
	struct acl_request req = {
		.client = &a->tcp_client, .user = a->user, .command = ACL_CMD_UDP, .dst = dst
	};
	if (acl_check(a->cfg, &req).allow)
		return true;
	udp_drop(a, UDP_DROP_DENIED);
	return false;
}

/* The target is remembered and the datagram counted once it is sent
 * (udp_tx_sent). */
static void udp_send_to_target(struct udp_assoc *a, struct udp_tx *tx,
			       const struct sockaddr_storage *dst, const uint8_t *data, size_t len)
{
	/* The guard again on the resolved address: a name may point inward. */
	if (acl_guard_blocks(a->cfg, &a->tcp_client, (const struct sockaddr *)dst)) {
		udp_drop(a, UDP_DROP_DENIED);
		return;
	}
	int fd = udp_out_socket(a, dst->ss_family);
	if (fd < 0) {
		udp_drop(a, UDP_DROP_SEND);
		return;
	}
	udp_tx_add(tx, a, fd, UDP_TX_TARGET, dst, data, len, len);
}

/* Can datagrams of dst's family leave this machine at all? Asked once per
 * association and family: a spare UDP socket (bound like the outbound
 * one) is connected to dst, which looks up a route and sends nothing. A
 * host with no IPv6 route answers ENETUNREACH for every IPv6 name. */
static bool udp_family_routable(struct udp_assoc *a, const struct sockaddr_storage *dst)
{
	int f = dst->ss_family == AF_INET ? FAM_V4 : FAM_V6;
	if (a->route_checked[f])
		return a->routable[f];
	a->route_checked[f] = true;
	a->routable[f] = true; /* unless shown otherwise */
	int fd = socket(dst->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		a->routable[f] = errno != EAFNOSUPPORT;
		return a->routable[f];
	}
	const struct config_source *src = udp_source(a, dst->ss_family);
	if ((src == NULL || dial_bind_source(fd, src, false) == 0) &&
	    connect(fd, (const struct sockaddr *)dst, util_sa_len(dst)) < 0)
		a->routable[f] = errno != ENETUNREACH && errno != EHOSTUNREACH &&
				 errno != EADDRNOTAVAIL;
	close(fd);
	return a->routable[f];
}

/* A name's datagram goes to its first address (address-order applied)
 * of a family that has a route: a name with an AAAA record still reaches
 * its A address from a host without IPv6. Each family leaves through the
 * association's one socket for it, so a target sees one source. */
static void udp_send_resolved(struct udp_assoc *a, struct udp_tx *tx,
			      const struct resolve_result *res, uint16_t port, const uint8_t *data,
			      size_t len)
{
	struct sockaddr_storage dst;
	for (size_t i = 0; i < res->n; i++) {
		resolve_addr_to_sockaddr(&res->addr[i], port, &dst);
		if (i + 1 == res->n || udp_family_routable(a, &dst))
			break;
	}
	udp_send_to_target(a, tx, &dst, data, len);
}

static void udp_on_lookup(void *arg, int status, const struct resolve_result *res);

static struct udp_lookup *udp_lookup_find(struct udp_assoc *a, const char *name)
{
	for (size_t i = 0; i < UDP_LOOKUPS_MAX; i++)
		if (a->lookups[i].query && strcasecmp(a->lookups[i].name, name) == 0)
			return &a->lookups[i];
	return NULL;
}

/* Make sure a lookup of name is running; false when every slot is busy. */
static bool udp_lookup_start(struct udp_assoc *a, const char *name)
{
	if (udp_lookup_find(a, name))
		return true;
	for (size_t i = 0; i < UDP_LOOKUPS_MAX; i++) {
		struct udp_lookup *l = &a->lookups[i];
		if (l->query)
			continue;
		snprintf(l->name, sizeof(l->name), "%s", name);
		l->a = a;
		stats_inc(a->ctx->net.stats, dns_queries);
		l->query = resolver_lookup(a->ctx->net.resolver, name, udp_on_lookup, l);
		return l->query != NULL;
	}
	return false;
}

static void udp_queue_for_name(struct udp_assoc *a, const struct target *t, const uint8_t *data,
			       size_t len)
{
	if (a->queue_len >= UDP_QUEUE_MAX || a->queue_bytes + len > UDP_QUEUE_BYTES ||
	    !udp_lookup_start(a, t->addr.domain)) {
		udp_drop(a, UDP_DROP_QUEUE);
		return;
	}
	struct udp_pending *p = malloc(sizeof(*p) + len);
	if (!p) {
		udp_drop(a, UDP_DROP_QUEUE);
		return;
	}
	p->next = NULL;
	snprintf(p->name, sizeof(p->name), "%s", t->addr.domain);
	p->port = t->port;
	p->len = len;
	memcpy(p->data, data, len);
	if (a->queue_tail)
		a->queue_tail->next = p;
	else
		a->queue_head = p;
	a->queue_tail = p;
	a->queue_len++;
	a->queue_bytes += len;
}

/* Unlink the datagrams queued for name, in the order they came. */
static struct udp_pending *udp_queue_take(struct udp_assoc *a, const char *name)
{
	struct udp_pending *taken = NULL, **tail = &taken;
	struct udp_pending **pp = &a->queue_head, *last = NULL;
	while (*pp) {
		struct udp_pending *p = *pp;
		if (strcasecmp(p->name, name) != 0) {
			last = p;
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		a->queue_len--;
		a->queue_bytes -= p->len;
		p->next = NULL;
		*tail = p;
		tail = &p->next;
	}
	a->queue_tail = last;
	return taken;
}

/* Send (or drop) every queued datagram for the name that just resolved. */
static void udp_on_lookup(void *arg, int status, const struct resolve_result *res)
{
	struct udp_lookup *l = arg;
	struct udp_assoc *a = l->a;
	/* The scratch exists: the queued datagrams were received into it. */
	struct udp_scratch *s = udp_scratch(a->ctx);

	l->query = NULL;
	if (status < 0)
		stats_inc(a->ctx->net.stats, dns_failures);
	struct udp_pending *ready = udp_queue_take(a, l->name);
	for (struct udp_pending *p = ready; p; p = p->next) {
		if (status < 0 || res->n == 0)
			udp_drop(a, UDP_DROP_DNS);
		else if (!s)
			udp_drop(a, UDP_DROP_SEND);
		else
			udp_send_resolved(a, &s->tx, res, p->port, p->data, p->len);
	}
	/* The batch points into the queued datagrams: send before freeing. */
	if (s)
		udp_tx_flush(&s->tx);
	while (ready) {
		struct udp_pending *p = ready;
		ready = p->next;
		free(p);
	}
}

/* The header is already what the upstream relay expects: pass the whole
 * datagram on, once we know it is well-formed. */
static void udp_to_upstream(struct udp_assoc *a, struct udp_tx *tx, const uint8_t *buf, size_t len,
			    size_t dlen)
{
	udp_tx_add(tx, a, a->out[0].fd, UDP_TX_UPSTREAM, NULL, buf, len, dlen);
}

static void udp_from_client(struct udp_assoc *a, struct udp_tx *tx, const uint8_t *buf, size_t len)
{
	struct socks5_udp_header h;
	ssize_t hl = socks5_parse_udp_header(buf, len, &h);
	if (hl < 0) {
		udp_drop(a, UDP_DROP_MALFORMED);
		return;
	}
	if (h.frag != 0) {
		udp_drop(a, UDP_DROP_FRAGMENT);
		return;
	}
	const uint8_t *data = buf + hl;
	size_t dlen = len - (size_t)hl;
	if (!udp_acl_allows(a, &h.dst))
		return;
	if (a->via_upstream) {
		udp_to_upstream(a, tx, buf, len, dlen);
		return;
	}
	if (h.dst.type != TARGET_DOMAIN) {
		struct sockaddr_storage dst;
		if (target_to_sockaddr(&h.dst, &dst) < 0) {
			udp_drop(a, UDP_DROP_MALFORMED);
			return;
		}
		udp_send_to_target(a, tx, &dst, data, dlen);
		return;
	}
	struct resolve_result res;
	if (resolver_lookup_now(a->ctx->net.resolver, h.dst.addr.domain, &res)) {
		if (res.n == 0) {
			udp_drop(a, UDP_DROP_DNS);
			return;
		}
		udp_send_resolved(a, tx, &res, h.dst.port, data, dlen);
		return;
	}
	udp_queue_for_name(a, &h.dst, data, dlen);
}

/* Only the client's IP may use the relay; its port is pinned by the
 * request or latched from the first datagram. */
static bool udp_accept_source(struct udp_assoc *a, const struct sockaddr_storage *src)
{
	if (!util_sa_same_ip(src, &a->client))
		return false;
	if (a->client_port_known)
		return util_sa_port(src) == util_sa_port(&a->client);
	util_sa_set_port(&a->client, util_sa_port(src));
	a->client_port_known = true;
	return true;
}

/* One datagram from the relay socket (udp_rx_fn). */
static void udp_rx_from_client(struct udp_assoc *a, struct udp_scratch *s, unsigned i)
{
	uint8_t *buf;
	size_t len;
	if (!udp_rx_get(s, i, &buf, &len)) {
		udp_drop(a, UDP_DROP_MALFORMED);
		return;
	}
	if (!udp_accept_source(a, &s->rx_src[i])) {
		udp_drop(a, UDP_DROP_FOREIGN);
		return;
	}
	a->last_active_ms = loop_now_ms(a->ctx->net.loop);
	udp_from_client(a, &s->tx, buf, len);
}

static void udp_on_relay_readable(struct loop *loop, void *arg, unsigned events)
{
	struct udp_assoc *a = arg;
	udp_pump(a, a->relay_fd, 0, udp_rx_from_client);
}

/* ---- target -> client ---- */

static void udp_to_client(struct udp_assoc *a, struct udp_tx *tx,
			  const struct sockaddr_storage *src, uint8_t *payload, size_t len)
{
	struct target from;
	uint8_t hdr[SOCKS5_UDP_HEADER_MAX];

	/* Clients are told the source as an IP address, never a name: some
	 * cannot parse the domain form in replies. */
	target_from_sockaddr(&from, (const struct sockaddr *)src);
	target_unmap_ipv4(&from);
	ssize_t hl = socks5_encode_udp_header(hdr, sizeof(hdr), &from);
	if (hl < 0) {
		udp_drop(a, UDP_DROP_MALFORMED);
		return;
	}
	/* The payload was received SOCKS5_UDP_HEADER_MAX bytes into the
	 * scratch buffer, so the header fits in front of it without a copy
	 * of the data. */
	uint8_t *start = payload - hl;
	memcpy(start, hdr, (size_t)hl);
	udp_tx_add(tx, a, a->relay_fd, UDP_TX_CLIENT, &a->client, start, (size_t)hl + len, len);
}

/* One datagram from a target (udp_rx_fn); it was received
 * SOCKS5_UDP_HEADER_MAX bytes into its slot. */
static void udp_rx_from_target(struct udp_assoc *a, struct udp_scratch *s, unsigned i)
{
	uint8_t *payload;
	size_t len;
	if (!udp_rx_get(s, i, &payload, &len) || len > UDP_PAYLOAD_MAX) {
		udp_drop(a, UDP_DROP_MALFORMED);
		return;
	}
	const struct sockaddr_storage *src = &s->rx_src[i];
	if (!a->client_port_known || (!a->cfg->udp_replies_any && !udp_peer_known(a, src))) {
		udp_drop(a, UDP_DROP_UNCONTACTED);
		return;
	}
	a->last_active_ms = loop_now_ms(a->ctx->net.loop);
	udp_to_client(a, &s->tx, src, payload, len);
}

static void udp_on_out_readable(struct loop *loop, void *arg, unsigned events)
{
	struct udp_out *o = arg;
	udp_pump(o->a, o->fd, SOCKS5_UDP_HEADER_MAX, udp_rx_from_target);
}

/* One datagram from the upstream relay (udp_rx_fn). It already carries
 * the SOCKS5 header the client expects. */
static void udp_rx_from_upstream(struct udp_assoc *a, struct udp_scratch *s, unsigned i)
{
	uint8_t *buf;
	size_t len;
	struct socks5_udp_header h;
	ssize_t hl = udp_rx_get(s, i, &buf, &len) ? socks5_parse_udp_header(buf, len, &h) : -1;
	if (hl < 0 || h.frag != 0) {
		udp_drop(a, hl < 0 ? UDP_DROP_MALFORMED : UDP_DROP_FRAGMENT);
		return;
	}
	if (!a->client_port_known) {
		udp_drop(a, UDP_DROP_UNCONTACTED);
		return;
	}
	a->last_active_ms = loop_now_ms(a->ctx->net.loop);
	udp_tx_add(&s->tx, a, a->relay_fd, UDP_TX_CLIENT, &a->client, buf, len, len - (size_t)hl);
}

/* From the upstream relay (the socket is connected: nothing else gets in). */
static void udp_on_upstream_readable(struct loop *loop, void *arg, unsigned events)
{
	struct udp_out *o = arg;
	udp_pump(o->a, o->fd, 0, udp_rx_from_upstream);
}

static int udp_connect_upstream(struct udp_assoc *a, const struct sockaddr_storage *relay)
{
	int fd = socket(relay->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	udp_grow_buffers(fd);
	struct udp_out *o = &a->out[0];
	loop_io_init(&o->io, udp_on_upstream_readable, o);
	const struct config_source *src = udp_source(a, relay->ss_family);
	int rc = src ? dial_bind_source(fd, src, false) : 0;
	if (rc == 0 && connect(fd, (const struct sockaddr *)relay, util_sa_len(relay)) < 0)
		rc = -errno;
	if (rc == 0)
		rc = loop_io_add(a->ctx->net.loop, &o->io, fd, LOOP_READ);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	o->fd = fd;
	a->via_upstream = true;
	return 0;
}

/* ---- setting up ---- */

/* Bind the relay socket, within udp-ports when configured: start at a
 * random port of the range and walk it once. */
static int udp_bind_relay(int fd, struct sockaddr_storage *addr, const struct config *cfg)
{
	if (cfg->udp_port_min == 0) {
		util_sa_set_port(addr, 0);
		return bind(fd, (struct sockaddr *)addr, util_sa_len(addr)) < 0 ? -errno : 0;
	}
	uint32_t span = (uint32_t)cfg->udp_port_max - cfg->udp_port_min + 1;
	uint32_t start;
	if (getrandom(&start, sizeof(start), GRND_NONBLOCK) != sizeof(start))
		start = (uint32_t)getpid();
	for (uint32_t i = 0; i < span; i++) {
		util_sa_set_port(addr, (uint16_t)(cfg->udp_port_min + (start + i) % span));
		if (bind(fd, (struct sockaddr *)addr, util_sa_len(addr)) == 0)
			return 0;
		if (errno != EADDRINUSE)
			return -errno;
	}
	return -EADDRINUSE;
}

static int udp_open_relay(struct udp_assoc *a, int control_fd)
{
	socklen_t len = sizeof(a->relay_addr);
	/* The local address of the control connection is one the client can
	 * reach; the wildcard would make us advertise 0.0.0.0. */
	if (getsockname(control_fd, (struct sockaddr *)&a->relay_addr, &len) < 0)
		return -errno;
	int fd = socket(a->relay_addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	udp_grow_buffers(fd);
	int rc = udp_bind_relay(fd, &a->relay_addr, a->cfg);
	len = sizeof(a->relay_addr);
	if (rc == 0 && getsockname(fd, (struct sockaddr *)&a->relay_addr, &len) < 0)
		rc = -errno;
	if (rc == 0)
		rc = loop_io_add(a->ctx->net.loop, &a->relay_io, fd, LOOP_READ);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	a->relay_fd = fd;
	return 0;
}

/* Is the request's DST.ADDR the control connection's peer address? (A
 * peer seen as IPv4-mapped IPv6 does not match a plain IPv4 DST: the port
 * is then latched, which admits no more than the peer's address.) */
static bool udp_names_peer(const struct target *requested, const struct sockaddr_storage *peer)
{
	struct sockaddr_storage named;

	if (requested->type == TARGET_DOMAIN || target_to_sockaddr(requested, &named) <= 0)
		return false;
	return util_sa_same_ip(&named, peer);
}

struct udp_assoc *udp_assoc_new(struct session_ctx *ctx, const struct config *cfg, const char *user,
				int control_fd, const struct sockaddr_storage *client,
				const struct target *requested, int *err)
{
	struct udp_assoc *a = calloc(1, sizeof(*a));
	if (!a) {
		*err = -ENOMEM;
		return NULL;
	}
	a->ctx = ctx;
	a->cfg = cfg;
	a->user = user;
	a->tcp_client = *client;
	a->relay_fd = -1;
	loop_io_init(&a->relay_io, udp_on_relay_readable, a);
	for (int i = 0; i < 2; i++) {
		a->out[i].fd = -1;
		a->out[i].a = a;
		loop_io_init(&a->out[i].io, udp_on_out_readable, &a->out[i]);
	}
	a->client = *client;
	/* Datagrams are taken from the control connection's peer address
	 * only. DST names the client's own UDP address and port when it
	 * knows them: then that port is pinned. A client behind NAT names
	 * its private address (or 0.0.0.0:0), and the port it names is not
	 * the one its datagrams arrive from: then the first datagram's source
	 * port is latched and kept. */
	a->client_port_known = requested->port != 0 && udp_names_peer(requested, client);
	util_sa_set_port(&a->client, a->client_port_known ? requested->port : 0);
	a->last_active_ms = loop_now_ms(ctx->net.loop);
	*err = udp_open_relay(a, control_fd);
	if (*err < 0) {
		free(a);
		return NULL;
	}
	return a;
}

struct udp_assoc *udp_assoc_new_upstream(struct session_ctx *ctx, const struct config *cfg,
					 const char *user, int control_fd,
					 const struct sockaddr_storage *client,
					 const struct target *requested,
					 const struct sockaddr_storage *relay, int *err)
{
	struct udp_assoc *a = udp_assoc_new(ctx, cfg, user, control_fd, client, requested, err);
	if (!a)
		return NULL;
	*err = udp_connect_upstream(a, relay);
	if (*err < 0) {
		udp_assoc_free(a);
		return NULL;
	}
	return a;
}

void udp_assoc_free(struct udp_assoc *a)
{
	if (!a)
		return;
	struct loop *loop = a->ctx->net.loop;
	loop_io_del(loop, &a->relay_io);
	if (a->relay_fd >= 0)
		close(a->relay_fd);
	for (int i = 0; i < 2; i++) {
		loop_io_del(loop, &a->out[i].io);
		if (a->out[i].fd >= 0)
			close(a->out[i].fd);
	}
	for (size_t i = 0; i < UDP_LOOKUPS_MAX; i++)
		resolver_cancel(a->lookups[i].query);
	while (a->queue_head) {
		struct udp_pending *p = a->queue_head;
		a->queue_head = p->next;
		free(p);
	}
	free(a->peers);
	/* Events for our sockets may still be queued in this loop round. */
	loop_defer_free(loop, free, a);
}

void udp_assoc_reply_addr(const struct udp_assoc *a, struct sockaddr_storage *out)
{
	const struct config *cfg = a->cfg;
	const struct config_addr *adv = a->relay_addr.ss_family == AF_INET ? &cfg->udp_advertise_v4
									   : &cfg->udp_advertise_v6;
	if (adv->len == 0) {
		*out = a->relay_addr;
		return;
	}
	*out = adv->ss;
	util_sa_set_port(out, util_sa_port(&a->relay_addr));
}

uint64_t udp_assoc_last_active(const struct udp_assoc *a)
{
	return a->last_active_ms;
}

const struct udp_counters *udp_assoc_counters(const struct udp_assoc *a)
{
	return &a->c;
}

void udp_assoc_take_packets(struct udp_assoc *a, uint64_t *up, uint64_t *down)
{
	*up = a->c.pkts_up - a->pkts_up_taken;
	*down = a->c.pkts_down - a->pkts_down_taken;
	a->pkts_up_taken = a->c.pkts_up;
	a->pkts_down_taken = a->c.pkts_down;
}

void udp_counters_fields(const struct udp_counters *c, struct log_field *out)
{
	static const char *const drop_keys[] = {
		[UDP_DROP_FOREIGN] = "drop_foreign", [UDP_DROP_MALFORMED] = "drop_malformed",
		[UDP_DROP_FRAGMENT] = "drop_frag",   [UDP_DROP_QUEUE] = "drop_queue",
		[UDP_DROP_DNS] = "drop_dns",	     [UDP_DROP_UNCONTACTED] = "drop_uncontacted",
		[UDP_DROP_SEND] = "drop_send",	     [UDP_DROP_DENIED] = "drop_denied",
	};
	_Static_assert(UDP_COUNTER_FIELDS == 2 + UDP_DROP_COUNT, "one field per counter");
	out[0] = (struct log_field){ .key = "pkts_up", .num = c->pkts_up };
	out[1] = (struct log_field){ .key = "pkts_down", .num = c->pkts_down };
	for (size_t i = 0; i < UDP_DROP_COUNT; i++)
		out[2 + i] = (struct log_field){ .key = drop_keys[i], .num = c->drops[i] };
}
