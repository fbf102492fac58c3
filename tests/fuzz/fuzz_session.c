/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* libFuzzer target: one whole client session, the real state machine.
 *
 * src/session/ and src/net/ run unchanged on a real loop; the input plays
 * everything around them:
 *  - the configuration: the first three bytes pick options (a user file,
 *    socks4 mode, access rules, destination guard, a chain of one or two
 *    hops of any type with or without credentials, routes, timeouts,
 *    address order), written as config text and read by the real loader;
 *  - the client: one end of a unix socketpair (a unix socket's bytes are
 *    in the peer's queue when send() returns, so "nothing to do" is
 *    exact, where TCP loopback delivery can lag) whose bytes, FIN or
 *    close come from the input, cut wherever the input says; its address
 *    as the session sees it is on loopback or beyond (ACL, throttle). A
 *    UDP ASSOCIATE's relay, made next to the control connection's local
 *    address, is therefore a unix datagram socket (its reply says
 *    0.0.0.0:0), and no datagram is sent: the association is fuzzed up
 *    to its end, not its traffic;
 *  - every destination and hop: dial.c gets its sockets from the
 *    net_ctx.connect_fn seam -- a socketpair whose other end the input
 *    writes to (hop replies, target bytes), an immediate connect error,
 *    or a connect that never completes; no packet leaves the process;
 *  - DNS: the resolver_set_hook seam answers each name from the input
 *    (addresses, not found, timeout, failure; at once or later);
 *  - time: the loop reads a fake clock (loop_set_clock) that moves only
 *    when the input says, or to the next deadline at the end;
 *  - password checks: auth_pool_submit is replaced at link time
 *    (-Wl,--wrap=auth_pool_submit, see scripts/fuzz) by a queue this
 *    target completes itself, so argon2's dummy for unknown users (tens
 *    of ms) is never run and no thread is involved (a plain main() that
 *    replays inputs needs the same flag);
 *  - reloads: an operation swaps in a configuration with the user file
 *    turned on or off (session_on_reload).
 * Input after the options is a list of operations (see run_op). When it
 * ends, both peers send FIN and time runs on until the session ends.
 *
 * Checked on every input:
 *  - the session ends by itself once both peers closed and its deadlines
 *    passed, and the loop goes quiet between inputs (no busy loop);
 *  - what the client received is well formed for its protocol (SOCKS4: 8
 *    bytes, VN 0, CD 90-93; SOCKS5: method choice, RFC 1929 status, replies
 *    with VER 5, RSV 0 and an IPv4/IPv6 BND; HTTP: one status line and
 *    header), a request the session parsed got exactly one reply (BIND:
 *    one or two), and nothing follows a refusal;
 *  - bytes are relayed exactly: once a direct CONNECT relayed and both
 *    peers ended cleanly, the target got exactly what the client sent
 *    after its request and the client got our reply then exactly what the
 *    target sent (through a chain: a tail of what the hop sent);
 *  - every descriptor is closed after the session (counted in
 *    /proc/self/fd) and every allocation freed (LeakSanitizer).
 * No libFuzzer API is used: tests/fuzz/replay.c may call
 * LLVMFuzzerTestOneInput from a plain main(). */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/stats.h"
#include "config/config_load.h"
#include "net/loop.h"
#include "net/net_ctx.h"
#include "net/resolve.h"
#include "policy/auth.h"
#include "policy/auth_cache.h"
#include "policy/connlimit.h"
#include "policy/snapshot.h"
#include "policy/throttle.h"
#include "proto/http.h"
#include "proto/socks4.h"
#include "proto/socks5.h"
#include "session/session.h"
#include "session/session_core.h"
#include "session/session_ctx.h"

#define FZ_MAX_UPSTREAMS 8
#define FZ_MAX_QUERIES	 16
#define FZ_MAX_JOBS	 8
#define FZ_SPECS	 8
/* Rounds of the loop one step may take before it must have gone quiet. */
#define FZ_MAX_ROUNDS 5000
/* Deadlines the end of an input may run through before the session must
 * have ended. */
#define FZ_MAX_DEADLINES 200

/* ---- growable byte strings for what each side sent and received ---- */

struct bytes {
	uint8_t *p;
	size_t n, cap;
};

static void bytes_add(struct bytes *b, const uint8_t *p, size_t n)
{
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		while (cap < b->n + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			abort();
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
}

/* Is tail a suffix of all? */
static bool bytes_ends_with(const struct bytes *all, const uint8_t *tail, size_t n)
{
	return n <= all->n && (n == 0 || memcmp(all->p + all->n - n, tail, n) == 0);
}

/* ---- one end of a connection, played by the input ---- */

struct peer {
	int fd;
	struct bytes tx, rx;
	bool fin_sent, closed; /* we sent FIN / closed our end completely */
	bool eof, reset;       /* what reading it told us */
};

static void peer_init(struct peer *p, int fd)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd;
}

static void peer_send(struct peer *p, const uint8_t *data, size_t n)
{
	if (p->fd < 0 || p->fin_sent || n == 0)
		return;
	ssize_t w = send(p->fd, data, n, MSG_NOSIGNAL);
	if (w > 0)
		bytes_add(&p->tx, data, (size_t)w);
}

/* Read what there is; true when something (data or EOF) came. */
static bool peer_drain(struct peer *p)
{
	uint8_t buf[4096];
	bool any = false;
	while (p->fd >= 0 && !p->eof && !p->reset) {
		ssize_t n = recv(p->fd, buf, sizeof(buf), 0);
		if (n > 0) {
			bytes_add(&p->rx, buf, (size_t)n);
			any = true;
		} else if (n == 0) {
			p->eof = any = true;
		} else if (errno == EINTR) {
			continue;
		} else {
			if (errno != EAGAIN)
				p->reset = any = true;
			break;
		}
	}
	return any;
}

static void peer_fin(struct peer *p)
{
	if (p->fd >= 0 && !p->fin_sent) {
		shutdown(p->fd, SHUT_WR);
		p->fin_sent = true;
	}
}

static void peer_close(struct peer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->fin_sent = p->closed = true;
}

static void peer_free(struct peer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	free(p->tx.p);
	free(p->rx.p);
}

/* ---- the run ---- */

enum connect_spec { CS_OK, CS_REFUSED, CS_NETUNREACH, CS_HOSTUNREACH, CS_PENDING, CS_NOFD };

struct resolve_spec {
	int status;
	bool hold; /* answered only when the input says so (or never) */
	struct resolve_result res;
};

struct fz {
	const uint8_t *in;
	size_t left;
	uint8_t opts[3]; /* the configuration's option bytes */

	uint64_t now;
	struct loop *loop;
	struct stats *stats;
	struct buf_pool bufs;
	struct pipe_pool pipes;
	struct session_shared shared;
	struct session_ctx ctx;
	struct auth_done_queue done; /* only its address is used */

	struct peer client;
	struct peer up[FZ_MAX_UPSTREAMS];
	size_t nup;

	enum connect_spec cspec[FZ_SPECS];
	size_t ncspec;
	struct resolve_spec rspec[FZ_SPECS];
	size_t nrspec;
	struct resolve_query *held[FZ_MAX_QUERIES];
	struct resolve_spec held_spec[FZ_MAX_QUERIES]; /* the answer each will get */
	size_t nheld;

	struct auth_job *jobs[FZ_MAX_JOBS];
	size_t njobs;
	bool auth_hold, auth_refuse_next;

	/* What the session was seen doing (its struct, between rounds). */
	enum session_proto proto;
	uint8_t cmd;
	bool relayed;
	bool chained; /* its route was a chain */
	enum session_state last_state;
	/* What the client and the newest upstream had sent when it ended:
	 * bytes sent later cannot have been relayed. */
	size_t client_sent, up_sent;
};

static struct fz *fz_now; /* the run in progress, for the wrapped pool */

/* ---- input ---- */

static uint8_t in_byte(struct fz *f)
{
	if (f->left == 0)
		return 0;
	f->left--;
	return *f->in++;
}

static size_t in_take(struct fz *f, size_t want, const uint8_t **out)
{
	size_t n = want < f->left ? want : f->left;
	*out = f->in;
	f->in += n;
	f->left -= n;
	return n;
}

static bool fz_tracing(void)
{
	static int on = -1;

	if (on < 0)
		on = getenv("FUZZ_SESSION_TRACE") != NULL;
	return on;
}

/* ---- the seams ---- */

static uint64_t fz_clock(void *arg)
{
	return ((struct fz *)arg)->now;
}

static int fz_connect(void *arg, const struct sockaddr *addr, socklen_t len)
{
	struct fz *f = arg;
	enum connect_spec spec = CS_OK;
	int sv[2];

	FUZZ_CHECK(addr->sa_family == AF_INET || addr->sa_family == AF_INET6);
	FUZZ_CHECK(len == (addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
						      : sizeof(struct sockaddr_in6)));
	if (f->ncspec > 0) {
		spec = f->cspec[0];
		memmove(f->cspec, f->cspec + 1, --f->ncspec * sizeof(f->cspec[0]));
	}
	switch (spec) {
	case CS_REFUSED:
		return -ECONNREFUSED;
	case CS_NETUNREACH:
		return -ENETUNREACH;
	case CS_HOSTUNREACH:
		return -EHOSTUNREACH;
	case CS_NOFD:
		return -EMFILE;
	case CS_PENDING: {
		/* Never writable: an eventfd whose counter is one below its
		 * maximum cannot take a write, so the connect never completes
		 * and the dial's deadline decides. */
		int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		uint64_t v = UINT64_MAX - 1;
		if (fd < 0)
			return -errno;
		if (write(fd, &v, sizeof(v)) != sizeof(v))
			abort();
		return fd;
	}
	default:
		break;
	}
	if (f->nup == FZ_MAX_UPSTREAMS)
		return -EMFILE;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	peer_init(&f->up[f->nup++], sv[1]);
	return sv[0];
}

static void fz_resolve(void *arg, const char *name, struct resolve_query *q)
{
	struct fz *f = arg;
	struct resolve_spec spec = { .status = 0, .res = { .n = 2 } };

	FUZZ_CHECK(name[0] != '\0' && strlen(name) <= 255);
	/* Nothing said: two documentation addresses, one of each family. */
	spec.res.addr[0] = (struct resolve_addr){ .family = AF_INET, .bytes = { 192, 0, 2, 1 } };
	spec.res.addr[1] = (struct resolve_addr){ .family = AF_INET6,
						  .bytes = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } };
	if (f->nrspec > 0) {
		spec = f->rspec[0];
		memmove(f->rspec, f->rspec + 1, --f->nrspec * sizeof(f->rspec[0]));
	}
	if (spec.hold && f->nheld < FZ_MAX_QUERIES) {
		f->held_spec[f->nheld] = spec;
		f->held[f->nheld++] = q;
		return;
	}
	resolver_answer(q, spec.status, spec.status == 0 ? &spec.res : NULL);
}

/* Answer the oldest held query: with its answer, or with status when
 * that is not 0. */
static void fz_release_query(struct fz *f, int status)
{
	if (f->nheld == 0)
		return;
	struct resolve_query *q = f->held[0];
	struct resolve_spec spec = f->held_spec[0];
	f->nheld--;
	memmove(f->held, f->held + 1, f->nheld * sizeof(f->held[0]));
	memmove(f->held_spec, f->held_spec + 1, f->nheld * sizeof(f->held_spec[0]));
	if (status != 0)
		spec.status = status;
	resolver_answer(q, spec.status, spec.status == 0 ? &spec.res : NULL);
}

/* The verification pool, replaced at link time: jobs wait here until the
 * input (or the end of a step) completes them, on the loop's thread. */
bool __wrap_auth_pool_submit(struct auth_pool *pool, struct auth_job *job);

bool __wrap_auth_pool_submit(struct auth_pool *pool, struct auth_job *job)
{
	struct fz *f = fz_now;

	(void)pool;
	if (f->auth_refuse_next || f->njobs == FZ_MAX_JOBS) {
		f->auth_refuse_next = false;
		return false;
	}
	f->jobs[f->njobs++] = job;
	return true;
}

static void fz_complete_jobs(struct fz *f)
{
	while (f->njobs > 0) {
		struct auth_job *job = f->jobs[0];
		memmove(f->jobs, f->jobs + 1, --f->njobs * sizeof(f->jobs[0]));
		/* An unknown user's hash is "" (the dummy): wrong, without
		 * spending argon2's interactive cost on it. */
		job->verified = !atomic_load(&job->cancelled);
		job->ok = job->verified && job->hash[0] && auth_verify(job->hash, job->pass);
		session_on_auth_done(job);
		auth_job_free(job);
	}
}

/* ---- driving the loop ---- */

/* Note what the session is doing; there is at most one. */
static void fz_observe(struct fz *f)
{
	struct session *s = f->ctx.sessions;
	if (!s)
		return;
	FUZZ_CHECK(s->next == NULL);
	if (s->proto != P_NONE)
		f->proto = s->proto;
	if (s->cmd)
		f->cmd = s->cmd;
	if (s->state == S_RELAY)
		f->relayed = true;
	f->last_state = s->state;
	if (s->route && strcmp(s->route, "direct") != 0)
		f->chained = true;
}

static bool fz_drain_all(struct fz *f)
{
	bool any = peer_drain(&f->client);
	for (size_t i = 0; i < f->nup; i++)
		any |= peer_drain(&f->up[i]);
	return any;
}

/* Run rounds until nothing is left to do at this time: no event, nothing
 * to read on our ends, no timer due. A loop that never goes quiet is a
 * busy loop. */
static void fz_pump(struct fz *f)
{
	for (int round = 0;; round++) {
		FUZZ_CHECK(round < FZ_MAX_ROUNDS);
		int n = loop_run_once(f->loop, 0);
		FUZZ_CHECK(n >= 0);
		fz_observe(f);
		bool read = fz_drain_all(f);
		if (n > 0 || read || loop_next_timer_ms(f->loop) <= f->now)
			continue;
		if (f->njobs > 0 && !f->auth_hold) {
			fz_complete_jobs(f);
			fz_observe(f);
			continue;
		}
		return;
	}
}

static void fz_advance(struct fz *f, uint64_t ms)
{
	f->now += ms;
	fz_pump(f);
}

/* Every peer sends its FIN, and the session does what that makes it do. */
static void fz_finish_peers(struct fz *f)
{
	peer_fin(&f->client);
	for (size_t i = 0; i < f->nup; i++)
		peer_fin(&f->up[i]);
	fz_pump(f);
}

static struct peer *fz_upstream(struct fz *f)
{
	return f->nup > 0 ? &f->up[f->nup - 1] : NULL;
}

static const uint64_t time_steps[16] = { 1,    10,   50,    100,   500,	  999,	 1000,	 2000,
					 5000, 9999, 10000, 10001, 30000, 60000, 300000, 3600000 };

static const enum connect_spec connect_specs[8] = {
	CS_OK, CS_REFUSED, CS_NETUNREACH, CS_HOSTUNREACH, CS_PENDING, CS_NOFD, CS_OK, CS_PENDING,
};

/* A resolver answer from the input: op argument bits 0-1 the status,
 * bit 2 hold it, bits 3-4 how many addresses; each address a family byte
 * (odd: IPv6) and 4 or 16 bytes. */
static void fz_push_resolve_spec(struct fz *f, unsigned arg)
{
	static const int statuses[4] = { 0, -ENOENT, -ETIMEDOUT, -EIO };
	struct resolve_spec spec = { .status = statuses[arg & 3], .hold = arg & 4 };
	size_t n = ((arg >> 3) & 3) + 1;

	for (size_t i = 0; spec.status == 0 && i < n; i++) {
		struct resolve_addr *a = &spec.res.addr[spec.res.n++];
		const uint8_t *p;
		bool v6 = in_byte(f) & 1;
		size_t len = in_take(f, v6 ? 16 : 4, &p);

		a->family = v6 ? AF_INET6 : AF_INET;
		memcpy(a->bytes, p, len);
	}
	if (f->nrspec < FZ_SPECS)
		f->rspec[f->nrspec++] = spec;
}

static void fz_reload(struct fz *f);

/* One operation: the top 3 bits of its byte say what, the low 5 bits
 * (arg) how:
 *   0 client sends arg+1 bytes        1 the newest upstream sends arg+1 bytes
 *   2 client FIN (arg odd: closes)    3 the newest upstream FIN (odd: closes)
 *   4 time passes: time_steps[arg & 15], or (arg & 16) to the next deadline
 *   5 the next connect: connect_specs[arg & 7]
 *   6 the next DNS answer (fz_push_resolve_spec)
 *   7 arg 0: answer the oldest held query, 1: ... with "not found" instead,
 *     2: complete verifications now, 3: hold them, 4: refuse the next one,
 *     5: a reload that turns the user file on or off */
static void run_op(struct fz *f, uint8_t op)
{
	unsigned arg = op & 31;
	const uint8_t *p;
	size_t n;
	struct peer *up = fz_upstream(f);

	if (fz_tracing())
		fprintf(stderr, "op %u arg %u at %llu ms\n", (unsigned)op >> 5, arg,
			(unsigned long long)f->now);
	switch (op >> 5) {
	case 0:
		n = in_take(f, arg + 1, &p);
		peer_send(&f->client, p, n);
		break;
	case 1:
		n = in_take(f, arg + 1, &p);
		if (up)
			peer_send(up, p, n);
		break;
	case 2:
		if (arg & 1)
			peer_close(&f->client);
		else
			peer_fin(&f->client);
		break;
	case 3:
		if (up && (arg & 1))
			peer_close(up);
		else if (up)
			peer_fin(up);
		break;
	case 4:
		if (arg & 16) {
			uint64_t next = loop_next_timer_ms(f->loop);
			if (next != UINT64_MAX && next > f->now)
				f->now = next;
			fz_pump(f);
		} else {
			fz_advance(f, time_steps[arg & 15]);
		}
		break;
	case 5:
		if (f->ncspec < FZ_SPECS)
			f->cspec[f->ncspec++] = connect_specs[arg & 7];
		break;
	case 6:
		fz_push_resolve_spec(f, arg);
		break;
	default:
		if (arg == 0 || arg == 1)
			fz_release_query(f, arg == 0 ? 0 : -ENOENT);
		else if (arg == 2)
			f->auth_hold = false;
		else if (arg == 3)
			f->auth_hold = true;
		else if (arg == 4)
			f->auth_refuse_next = true;
		else if (arg == 5)
			fz_reload(f);
		break;
	}
	fz_pump(f);
}

/* ---- the configuration ---- */

static char users_path[64];

/* A user file with two users whose passwords are "secret" and "pw2", at
 * the cheapest argon2id cost, made once per process. */
static void fz_make_user_file(void)
{
	char h1[crypto_pwhash_STRBYTES], h2[crypto_pwhash_STRBYTES];
	char dir[] = "/tmp/hopsocks-fuzz-session.XXXXXX";

	if (sodium_init() < 0 || !mkdtemp(dir))
		abort();
	if (crypto_pwhash_str(h1, "secret", 6, crypto_pwhash_OPSLIMIT_MIN,
			      crypto_pwhash_MEMLIMIT_MIN) != 0 ||
	    crypto_pwhash_str(h2, "pw2", 3, crypto_pwhash_OPSLIMIT_MIN,
			      crypto_pwhash_MEMLIMIT_MIN) != 0)
		abort();
	snprintf(users_path, sizeof(users_path), "%s/users", dir);
	FILE *fp = fopen(users_path, "w");
	if (!fp)
		abort();
	fprintf(fp, "alice:%s\nbob:%s\n", h1, h2);
	fclose(fp);
}

static void fz_remove_user_file(void)
{
	char dir[sizeof(users_path)];

	snprintf(dir, sizeof(dir), "%s", users_path);
	unlink(users_path);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
}

static const char *const hop_types[8] = {
	NULL, "socks5", "socks5h", "socks4", "socks4a", "http", "socks5h", "http",
};

/* Access rules; [1] without a user file, where naming users is refused. */
static const char *const rule_sets[2][4] = {
	{
		"",
		"allow from 127.0.0.0/8 command connect,bind,udp\ndeny to 10.0.0.0/8\ndeny *\n",
		"deny to .blocked.example\ndeny port 25\nallow *\n",
		"allow from 192.0.2.0/24 port 80-443\nallow from ::1\ndeny *\n",
	},
	{
		"",
		("allow from 127.0.0.0/8 command connect,bind,udp\ndeny to 10.0.0.0/8\n"
		 "allow user *\ndeny *\n"),
		"deny to .blocked.example\ndeny port 25\nallow *\n",
		"allow from 192.0.2.0/24 port 80-443\nallow from ::1 user alice\ndeny *\n",
	},
};

static const char *const orders[4] = { "as-returned", "ipv4-first", "ipv6-only", "ipv4-only" };
static const char *const socks4_modes[4] = { "auto", "on", "known-user", "off" };

/* Option bytes o[0..2] as config text:
 *   o0 bits 0-2 chain (0: none), 3 hop credentials, 4 hop given by name,
 *      5 mode dynamic, 6 resolve local, 7 route only some destinations
 *   o1 bit 0 users, 1-2 socks4 mode, 3-4 rules, 5 destination guard,
 *      6 auth-throttle 2 failures, 7 max-connections-per-user 1
 *   o2 bits 0-1 address order, 2 idle timeout off, 3 udp-idle off,
 *      4-5 the client's address as the session sees it, 6 proxy-protocol
 *      any from the loopback addresses (so the client must send a PROXY
 *      header, or is refused at accept when not on loopback), 7 the hops
 *      get a PROXY v2 header (hop ... proxy-protocol v2) */
static size_t fz_config_text(const uint8_t o[3], char *out, size_t cap)
{
	int len = snprintf(out, cap,
			   "listen 127.0.0.1:1080\ntimeout handshake 10s\ntimeout connect 5s\n"
			   "timeout idle %s\ntimeout udp-idle %s\ntimeout bind 20s\n"
			   "bind-address 127.0.0.1\nbind-address ::1\naddress-order %s\n"
			   "socks4 %s\n%s%s%s%s%s%s",
			   o[2] & 4 ? "0" : "30s", o[2] & 8 ? "0" : "1m", orders[o[2] & 3],
			   /* known-user needs a user file */
			   socks4_modes[(o[1] >> 1) & 3 & (o[1] & 1 ? 3 : 1)],
			   rule_sets[o[1] & 1][(o[1] >> 3) & 3],
			   o[1] & 32 ? "destination-guard on\n" : "",
			   o[1] & 64 ? "auth-throttle 2 1m 5m\n" : "",
			   o[1] & 128 ? "max-connections-per-user 1\n" : "",
			   o[2] & 64 ? "proxy-protocol any from 127.0.0.1 ::1\n" : "",
			   o[1] & 1 ? "users " : "");
	if (o[1] & 1)
		len += snprintf(out + len, cap - (size_t)len, "%s\n", users_path);
	const char *type = hop_types[o[0] & 7];
	if (type) {
		/* SOCKS4 has a user ID and no password */
		const char *cred = !(o[0] & 8)			? ""
				   : strncmp(type, "socks4", 6) ? "hopuser:hoppass@"
								: "hopuser@";
		const char *host = o[0] & 16 ? "hop1.example" : "127.0.0.1";
		const char *pp = o[2] & 128 ? " proxy-protocol v2" : "";
		len += snprintf(out + len, cap - (size_t)len,
				"chain c {\n  mode %s\n  resolve %s\n  hop %s://%s%s:1081%s\n",
				o[0] & 32 ? "dynamic" : "strict", o[0] & 64 ? "local" : "remote",
				type, cred, host, pp);
		/* 6 and 7: a second hop behind the first */
		if ((o[0] & 7) >= 6)
			len += snprintf(out + len, cap - (size_t)len,
					"  hop %s://hop2.example:1082%s\n",
					(o[0] & 7) == 6 ? "http" : "socks4a", pp);
		len += snprintf(out + len, cap - (size_t)len, "}\n%s",
				o[0] & 128 ? "route .example via c\nroute 192.0.2.0/24 via c\n"
					   : "route * via c\n");
	}
	FUZZ_CHECK(len > 0 && (size_t)len < cap);
	return (size_t)len;
}

static struct snapshot *fz_snapshot(const uint8_t o[3])
{
	char text[2048], err[CONFIG_ERR_MAX];
	struct config cfg;
	struct userdb *users = NULL;
	size_t len = fz_config_text(o, text, sizeof(text));

	config_init(&cfg);
	if (config_parse_text(&cfg, "fuzz.conf", text, len, err, sizeof(err)) < 0 ||
	    config_finish(&cfg, err, sizeof(err)) < 0 ||
	    (cfg.users_file && userdb_load(cfg.users_file, &users, err, sizeof(err)) < 0)) {
		fprintf(stderr, "fuzz_session: the config it made is refused: %s\n%s", err, text);
		abort();
	}
	struct snapshot *snap = snapshot_new(&cfg, users, 1);
	FUZZ_CHECK(snap != NULL);
	return snap;
}

/* What a worker does on SIGHUP, with the user file turned on or off. */
static void fz_reload(struct fz *f)
{
	struct snapshot *old = f->ctx.snap;

	f->opts[1] ^= 1;
	f->ctx.snap = fz_snapshot(f->opts);
	session_on_reload(&f->ctx);
	snapshot_unref(old);
}

/* ---- the client connection ---- */

/* The address the session is told its client has: on loopback, or
 * beyond it (what the access rules and the throttle see). */
static void fz_client_address(unsigned which, struct sockaddr_storage *peer, socklen_t *len)
{
	memset(peer, 0, sizeof(*peer));
	if (which < 2) {
		struct sockaddr_in *in = (struct sockaddr_in *)peer;
		in->sin_family = AF_INET;
		in->sin_port = htons(40000);
		in->sin_addr.s_addr = htonl(which == 0 ? 0x7f000001 : 0xc0000207); /* 192.0.2.7 */
		*len = sizeof(*in);
		return;
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)peer;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(40001);
	in6->sin6_addr = (struct in6_addr){ .s6_addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 7 } };
	if (which == 2)
		in6->sin6_addr = in6addr_loopback;
	*len = sizeof(*in6);
}

/* ---- the checks at the end ---- */

static size_t count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	if (!d)
		abort();
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own */
}

/* SOCKS5: method choice, [RFC 1929 status], reply [, second BIND reply].
 * Returns the length of our part, or aborts when it is malformed. */
static size_t check_socks5_replies(const struct fz *f, const uint8_t *p, size_t n, bool *refused,
				   size_t *replies)
{
	size_t off = 0;

	if (n == 0)
		return 0;
	FUZZ_CHECK(n >= 2 && p[0] == SOCKS5_VERSION);
	FUZZ_CHECK(p[1] == SOCKS5_METHOD_NONE || p[1] == SOCKS5_METHOD_USERPASS ||
		   p[1] == SOCKS5_METHOD_UNACCEPTABLE);
	off = 2;
	if (p[1] == SOCKS5_METHOD_UNACCEPTABLE) {
		*refused = true;
		return off;
	}
	if (p[1] == SOCKS5_METHOD_USERPASS && off < n) {
		FUZZ_CHECK(n >= off + 2 && p[off] == 0x01);
		FUZZ_CHECK(p[off + 1] == 0x00 || p[off + 1] == 0x01);
		off += 2;
		if (p[off - 1] != 0) {
			*refused = true;
			return off;
		}
	}
	while (off < n && *replies < (f->cmd == SOCKS5_CMD_BIND ? 2u : 1u)) {
		struct socks5_reply r;
		ssize_t m = socks5_parse_reply(p + off, n - off, &r);
		FUZZ_CHECK(m > 0);
		FUZZ_CHECK(p[off + 2] == 0x00); /* RSV */
		FUZZ_CHECK(r.bnd.type == TARGET_IPV4 || r.bnd.type == TARGET_IPV6);
		FUZZ_CHECK(r.rep <= SOCKS5_REP_ATYP_NOT_SUPPORTED);
		off += (size_t)m;
		(*replies)++;
		if (r.rep != SOCKS5_REP_SUCCEEDED) {
			*refused = true;
			break;
		}
	}
	return off;
}

static size_t check_socks4_replies(const struct fz *f, const uint8_t *p, size_t n, bool *refused,
				   size_t *replies)
{
	size_t off = 0;

	while (off < n && *replies < (f->cmd == SOCKS4_CMD_BIND ? 2u : 1u)) {
		FUZZ_CHECK(n - off >= SOCKS4_REPLY_LEN);
		FUZZ_CHECK(p[off] == 0);
		FUZZ_CHECK(p[off + 1] >= SOCKS4_CD_GRANTED && p[off + 1] <= 93);
		(*replies)++;
		off += SOCKS4_REPLY_LEN;
		if (p[off - SOCKS4_REPLY_LEN + 1] != SOCKS4_CD_GRANTED) {
			*refused = true;
			break;
		}
	}
	return off;
}

/* An HTTP response: the status line and header, then a refusal's body of
 * exactly Content-Length bytes (one line of text). */
static size_t check_http_reply(const uint8_t *p, size_t n, bool *refused, size_t *replies)
{
	static const char field[] = "\r\nContent-Length: ";
	struct http_response r;

	if (n == 0)
		return 0;
	ssize_t m = http_parse_response(p, n, &r);
	FUZZ_CHECK(m > 0);
	FUZZ_CHECK(n >= 9 && memcmp(p, "HTTP/1.1 ", 9) == 0);
	FUZZ_CHECK(r.status == 200 || (r.status >= 400 && r.status <= 599));
	*replies = 1;
	*refused = r.status != 200;
	if (!*refused)
		return (size_t)m;
	const uint8_t *cl = memmem(p, (size_t)m, field, sizeof(field) - 1);
	FUZZ_CHECK(cl != NULL);
	size_t body = strtoul((const char *)cl + sizeof(field) - 1, NULL, 10);
	FUZZ_CHECK(body > 0 && (size_t)m + body <= n && p[(size_t)m + body - 1] == '\n');
	for (size_t i = 0; i < body; i++)
		FUZZ_CHECK(p[(size_t)m + i] == '\n' ||
			   (p[(size_t)m + i] >= 0x20 && p[(size_t)m + i] < 0x7f));
	return (size_t)m + body;
}

/* FUZZ_SESSION_TRACE=1 in the environment: the server's log at debug
 * level, and what each input did, on stderr. */
static void fz_trace(const struct fz *f)
{
	if (!fz_tracing())
		return;
	fprintf(stderr, "proto %d cmd %u relayed %d chained %d upstreams %zu; client got %zu:",
		(int)f->proto, f->cmd, f->relayed, f->chained, f->nup, f->client.rx.n);
	for (size_t i = 0; i < f->client.rx.n && i < 64; i++)
		fprintf(stderr, " %02x", f->client.rx.p[i]);
	for (size_t u = 0; u < f->nup; u++) {
		fprintf(stderr, "\n  upstream %zu got %zu:", u, f->up[u].rx.n);
		for (size_t i = 0; i < f->up[u].rx.n && i < 64; i++)
			fprintf(stderr, " %02x", f->up[u].rx.p[i]);
	}
	fprintf(stderr, "\n");
}

static void fz_check_end(struct fz *f)
{
	const struct bytes *got = &f->client.rx;
	bool refused = false;
	size_t replies = 0, ours = 0;

	switch (f->proto) {
	case P_NONE:
		/* Neither SOCKS nor HTTP, or nothing complete: no answer. */
		FUZZ_CHECK(got->n == 0);
		return;
	case P_SOCKS4:
	case P_SOCKS4A:
		ours = check_socks4_replies(f, got->p, got->n, &refused, &replies);
		break;
	case P_SOCKS5:
		ours = check_socks5_replies(f, got->p, got->n, &refused, &replies);
		break;
	case P_HTTP:
		ours = check_http_reply(got->p, got->n, &refused, &replies);
		break;
	}
	/* Nothing after a refusal. */
	if (refused)
		FUZZ_CHECK(ours == got->n);
	/* A request it parsed was answered, unless our client could not hear
	 * it -- or it sent FIN while a BIND waited: by design (ARCHITECTURE.md,
	 * BIND) that ends the session at once, even before the first reply
	 * when DST is still being resolved. */
	bool bind_gone =
		f->cmd == SOCKS5_CMD_BIND && f->client.fin_sent && f->last_state == S_BIND_WAIT;
	if (f->cmd != 0 && !f->client.closed && !f->client.reset && !bind_gone)
		FUZZ_CHECK(replies >= 1);

	/* Bytes relayed exactly, once both peers ended cleanly. */
	struct peer *up = fz_upstream(f);
	if (!f->relayed || !up || refused || f->client.closed || f->client.reset || up->closed ||
	    up->reset || !f->client.eof || !up->eof)
		return;
	const uint8_t *down = got->p + ours;
	size_t ndown = got->n - ours;
	struct bytes up_tx = { up->tx.p, f->up_sent, 0 };
	struct bytes client_tx = { f->client.tx.p, f->client_sent, 0 };
	if (f->chained) {
		FUZZ_CHECK(bytes_ends_with(&up_tx, down, ndown));
		return;
	}
	FUZZ_CHECK(ndown == up_tx.n && bytes_ends_with(&up_tx, down, ndown));
	FUZZ_CHECK(bytes_ends_with(&client_tx, up->rx.p, up->rx.n));
}

/* ---- one input ---- */

/* The callback's type is session_ctx.h's, so ctx cannot be const. */
// cppcheck-suppress constParameter
static void fz_session_ended(struct session_ctx *ctx)
{
	struct fz *f = fz_now;

	FUZZ_CHECK(ctx == &f->ctx);
	f->client_sent = f->client.tx.n;
	f->up_sent = f->nup > 0 ? f->up[f->nup - 1].tx.n : 0;
}

static void fz_setup(struct fz *f, const uint8_t o[3])
{
	static struct stats stats; /* counters only: shared by all runs */
	struct sockaddr_storage peer;
	socklen_t peerlen;
	int sv[2];
	char err[256];

	f->now = 1000000;
	f->stats = &stats;
	f->loop = loop_new();
	FUZZ_CHECK(f->loop != NULL);
	loop_set_clock(f->loop, fz_clock, f);
	buf_pool_init(&f->bufs, 4);
	pipe_pool_init(&f->pipes, 2);

	struct snapshot *snap = fz_snapshot(o);
	const struct config *cfg = &snap->cfg;
	f->shared.throttle =
		throttle_new(64, cfg->auth_throttle_failures, cfg->auth_throttle_window_ms,
			     cfg->auth_throttle_block_ms);
	f->shared.limits = limits_new();
	FUZZ_CHECK(f->shared.throttle && f->shared.limits);
	atomic_init(&f->shared.connections, 0);

	f->ctx.net.loop = f->loop;
	f->ctx.net.pools.bufs = &f->bufs;
	f->ctx.net.pools.pipes = &f->pipes;
	f->ctx.net.stats = f->stats;
	f->ctx.net.connect_fn = fz_connect;
	f->ctx.net.connect_arg = f;
	f->ctx.net.resolver = resolver_new(f->loop, cfg, err, sizeof(err));
	FUZZ_CHECK(f->ctx.net.resolver != NULL);
	resolver_set_hook(f->ctx.net.resolver, fz_resolve, f);
	f->ctx.shared = &f->shared;
	f->ctx.snap = snap;
	f->ctx.auth_cache = auth_cache_new(16, 60000);
	f->ctx.auth_done = &f->done;
	f->ctx.session_ended = fz_session_ended;

	/* A socketpair, not TCP: a unix socket's bytes and FIN are in the
	 * peer's queue when send() returns, so a round that finds nothing to
	 * do means the session has nothing to do (over TCP loopback, delivery
	 * can lag behind and time would pass over bytes in flight). */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	fz_client_address((o[2] >> 4) & 3, &peer, &peerlen);
	peer_init(&f->client, sv[0]);
	atomic_fetch_add(&f->shared.connections, 1); /* as worker_admit does */
	session_start(&f->ctx, sv[1], (struct sockaddr *)&peer, peerlen);
}

static void fz_teardown(struct fz *f)
{
	session_close_all(&f->ctx, "shutdown");
	/* Every query and job is answered once, as the real ones are. */
	while (f->nheld > 0)
		fz_release_query(f, -EIO);
	fz_complete_jobs(f);
	loop_run_once(f->loop, 0);
	FUZZ_CHECK(loop_timer_count(f->loop) == 0);
	FUZZ_CHECK(atomic_load(&f->shared.connections) == 0);
	resolver_free(f->ctx.net.resolver);
	loop_free(f->loop);
	auth_cache_free(f->ctx.auth_cache);
	buf_pool_destroy(&f->bufs);
	pipe_pool_destroy(&f->pipes);
	free(f->ctx.udp_scratch);
	snapshot_unref(f->ctx.snap);
	throttle_free(f->shared.throttle);
	limits_free(f->shared.limits);
	peer_free(&f->client);
	for (size_t i = 0; i < f->nup; i++)
		peer_free(&f->up[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t fds_before;
	struct fz f;

	if (!users_path[0]) {
		/* Quiet, unless tracing (then every log line, to stderr). */
		log_set_level(fz_tracing() ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
		log_set_access(fz_tracing());
		fz_make_user_file();
		atexit(fz_remove_user_file);
	}
	fds_before = count_fds();
	memset(&f, 0, sizeof(f));
	f.in = data;
	f.left = size;
	for (size_t i = 0; i < 3; i++)
		f.opts[i] = in_byte(&f);
	fz_now = &f;
	fz_setup(&f, f.opts);
	fz_pump(&f);

	while (f.left > 0)
		run_op(&f, in_byte(&f));

	/* The end: both peers finish, then time runs on, deadline by
	 * deadline, until the session has ended. An upstream connected on
	 * the way (a dial's next address once the first timed out) finishes
	 * too. */
	f.auth_hold = false;
	for (int i = 0; f.ctx.sessions && i < FZ_MAX_DEADLINES; i++) {
		fz_finish_peers(&f);
		if (!f.ctx.sessions)
			break;
		uint64_t next = loop_next_timer_ms(f.loop);
		/* A session with no deadline left would live forever. */
		FUZZ_CHECK(next != UINT64_MAX);
		if (next > f.now)
			f.now = next;
		fz_pump(&f);
	}
	FUZZ_CHECK(f.ctx.sessions == NULL);
	fz_drain_all(&f);
	fz_trace(&f);
	fz_check_end(&f);
	fz_teardown(&f);
	fz_now = NULL;
	FUZZ_CHECK(count_fds() == fds_before);
	return 0;
}
