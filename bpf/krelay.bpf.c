/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The kernel relay's stream verdict program: for each packet the source
 * socket of a session's kernel direction receives, send it on out of the
 * sink socket, in the kernel, without waking hopsocks (src/net/krelay.h
 * has the whole model).
 *
 * It only ever redirects, or drops. It never leaves a packet in its socket
 * for user space (SK_PASS): on the kernel this was written on, a socket
 * whose packets were both redirected and left to user space was seen to
 * hand the program the same bytes twice, and taking a socket out of the
 * map while packets arrive lost one (doc/ARCHITECTURE.md, "The kernel
 * relay"). So a sink that falls KRELAY_BACKLOG_MAX behind overflows the
 * direction: its packets are dropped from then on, and hopsocks resets the
 * session within a second.
 *
 * Built with clang -target bpf and embedded in hopsocks at build time. */
#include <linux/bpf.h>
#include <linux/types.h>

#include <bpf/bpf_helpers.h>

#include "net/krelay_abi.h"

/* Only the fields read here; the loader matches them by name in the
 * running kernel's BTF. */
struct tcp_sock {
	__u32 snd_una;
	__u32 write_seq;
	__u64 bytes_acked;
} __attribute__((preserve_access_index));

/* Sizes are set by the loader (krelay.c) before the maps are made. A
 * session in the kernel relay has one direction there: the socket it
 * reads is in krelay_src at its pair's index (the program runs for it),
 * the socket it writes in krelay_dst at the same index (no program: its
 * own reads stay ordinary TCP, for the other direction, which user space
 * relays). */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} krelay_src SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} krelay_dst SEC(".maps");

/* socket cookie of a krelay_src socket -> its pair */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, __u32);
} krelay_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct krelay_dir);
} krelay_dirs SEC(".maps");

/* Bytes queued for the sink of pair that it has not taken into its send
 * buffer yet; read without the sink's lock, so a torn view may be off by
 * one packet either way. */
static __u64 sink_backlog(const struct krelay_dir *d, __u32 pair)
{
	struct bpf_sock *sk = bpf_map_lookup_elem(&krelay_dst, &pair);
	__u64 backlog = 0;

	if (!sk)
		return 0;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	if (tp) {
		__u64 taken = tp->bytes_acked + (__u32)(tp->write_seq - tp->snd_una) - d->base;
		__u64 owed = d->redirected + d->forwarded;
		backlog = owed > taken ? owed - taken : 0;
	}
	bpf_sk_release(sk);
	return backlog;
}

SEC("sk_skb/stream_verdict")
int krelay_verdict(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	__u32 *slot = bpf_map_lookup_elem(&krelay_slots, &cookie);
	if (!slot)
		return SK_PASS; /* not (or no longer) a relayed socket */
	__u32 pair = *slot;
	struct krelay_dir *d = bpf_map_lookup_elem(&krelay_dirs, &pair);
	if (!d)
		return SK_PASS;
	/* A bare FIN carries no byte. Sent on, it would be a zero-byte send,
	 * which the kernel takes for a broken pipe on the peer; user space
	 * passes the FIN on itself once everything before it is out. */
	if (skb->len == 0)
		return SK_DROP;
	d->last_ns = bpf_ktime_get_ns();
	/* Never true for a socket in the map: user space sets ready before it
	 * puts the source in and clears it only after taking it out. */
	if (!d->ready)
		return SK_PASS;
	if (d->overflow)
		return SK_DROP;
	if (sink_backlog(d, pair) + skb->len > KRELAY_BACKLOG_MAX) {
		d->overflow = 1;
		return SK_DROP;
	}
	/* The peer's socket is gone (closed after a reset): nothing can take
	 * these bytes any more, as with a dead sink in user space. */
	if (bpf_sk_redirect_map(skb, &krelay_dst, pair, 0) != SK_PASS)
		return SK_DROP;
	__sync_fetch_and_add(&d->redirected, skb->len);
	return SK_PASS;
}

/* The kernel lets only GPL-compatible programs call some helpers; hopsocks'
 * own license (BSD-2-Clause) is GPL-compatible, and this file is offered
 * under both. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
