/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The kernel relay's stream verdict program: for each packet a relayed
 * socket receives, send it on to the peer socket, in the kernel, without
 * waking hopsocks (src/net/krelay.h has the whole model).
 *
 * The verdict never drops a byte that has somewhere to go. When the peer
 * cannot take more (too much is already queued for it), or when bytes left
 * for user space have not all been written
 * yet (they come first), the packet stays in its own socket (SK_PASS
 * without a redirect) and hopsocks reads and writes it as it would
 * without this program. Bytes stay in order because a packet is sent on
 * only when nothing left for user space is still unwritten, and user space
 * writes only once everything sent on before is in the peer's queue.
 *
 * Built with clang -target bpf; CO-RE relocations find the few kernel
 * fields read below in the running kernel's BTF when hopsocks loads it. */
#include <linux/bpf.h>
#include <linux/types.h>

#include <bpf/bpf_helpers.h>

#include "net/krelay_abi.h"

/* Only the fields read here; the loader matches them by name. */
struct tcp_sock {
	__u32 snd_una;
	__u32 write_seq;
	__u64 bytes_acked;
} __attribute__((preserve_access_index));

/* Sizes are set by the loader (krelay.c) before the maps are made. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} krelay_socks SEC(".maps");

/* socket cookie -> slot */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, __u32);
} krelay_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct krelay_dir);
} krelay_dirs SEC(".maps");

/* May a packet of len bytes be queued for the peer's sending now? Not
 * when KRELAY_BACKLOG_MAX bytes already wait for the peer's send buffer.
 * (A full send buffer is no reason to stop: a bulk stream's always is,
 * and the backlog is what lets the kernel go on without us.) */
static int peer_can_take(const struct krelay_dir *d, __u32 peer, __u32 len)
{
	struct bpf_sock *sk = bpf_map_lookup_elem(&krelay_socks, &peer);
	int ok = 0;

	if (!sk)
		return 0;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	if (tp) {
		/* Read without the peer's lock: a torn view only makes the
		 * backlog look larger (the packet stays here, which is always
		 * safe) or, for one packet, smaller. */
		__u64 queued = tp->bytes_acked + (__u32)(tp->write_seq - tp->snd_una) - d->base;
		__u64 backlog = d->redirected + d->forwarded - queued;
		if (backlog == 0)
			ok = 1;
		else if (backlog < KRELAY_BACKLOG_MAX)
			ok = len >= KRELAY_SMALL_PACKET && backlog + len <= KRELAY_BACKLOG_MAX;
	}
	bpf_sk_release(sk);
	return ok;
}

SEC("sk_skb/stream_verdict")
int krelay_verdict(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	__u32 *slot = bpf_map_lookup_elem(&krelay_slots, &cookie);
	if (!slot)
		return SK_PASS; /* not (or no longer) a relayed socket */
	__u32 self = *slot, peer = self ^ 1;
	struct krelay_dir *d = bpf_map_lookup_elem(&krelay_dirs, &self);
	if (!d)
		return SK_PASS;
	/* A bare FIN carries no byte. Sent on, it would be a zero-byte send,
	 * which the kernel takes for a broken pipe on the peer; user space
	 * passes the FIN on itself once everything before it is out. */
	if (skb->len == 0)
		return SK_DROP;
	d->last_ns = bpf_ktime_get_ns();
	if (!d->ready || d->passed != d->forwarded || !peer_can_take(d, peer, skb->len)) {
		__sync_fetch_and_add(&d->passed, skb->len);
		return SK_PASS;
	}
	/* The peer's socket is gone (closed after a reset): nothing can take
	 * these bytes any more, as with a dead sink in user space. */
	if (bpf_sk_redirect_map(skb, &krelay_socks, peer, 0) != SK_PASS)
		return SK_DROP;
	__sync_fetch_and_add(&d->redirected, skb->len);
	return SK_PASS;
}

/* The kernel lets only GPL-compatible programs call some helpers; hopsocks'
 * own license (BSD-2-Clause) is GPL-compatible, and this file is offered
 * under both. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
