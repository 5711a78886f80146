// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
//
// netward's process attribution: cgroup connect/sendmsg hooks that remember which process last
// reached each remote endpoint. They never decide anything (nftables enforces, on the packet);
// they only let the agent name the process behind a hit that nftables logged.
//
// Key: protocol, family, remote port and address. An IPv4-mapped IPv6 destination
// (::ffff:a.b.c.d, from a dual-stack socket) goes through the IPv6 hooks but leaves the machine
// as IPv4, so it is recorded under the IPv4 key: that is how nftables (and the agent) see it.
//
// If a second process reaches the same endpoint within AMBIGUOUS_NS (2 s) of the first, the
// entry is marked ambiguous and the agent reports the process as unknown rather than guess.

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define AMBIGUOUS_NS 2000000000ULL

struct endpoint {
    __u8 proto;    // IPPROTO_TCP or IPPROTO_UDP
    __u8 family;   // 4 or 6
    __u16 port;    // host order
    __u8 addr[16]; // IPv4 in the first 4 bytes
};

struct origin {
    __u64 at_ns;   // bpf_ktime_get_boot_ns (CLOCK_BOOTTIME, as process start times)
    __u32 tgid;
    __u32 uid;
    __u32 ambiguous;
    __u32 tid;     // the calling thread
    char comm[16]; // the calling thread's name
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, struct endpoint);
    __type(value, struct origin);
} origins SEC(".maps");

static __always_inline void remember(struct endpoint *key)
{
    __u64 now = bpf_ktime_get_boot_ns();
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    __u32 tgid = pid_tgid >> 32;
    struct origin *old = bpf_map_lookup_elem(&origins, key);
    struct origin fresh = {};
    fresh.at_ns = now;
    fresh.tgid = tgid;
    fresh.tid = (__u32)pid_tgid;
    fresh.uid = (__u32)bpf_get_current_uid_gid();
    bpf_get_current_comm(&fresh.comm, sizeof(fresh.comm));
    if (old && old->tgid != tgid && now - old->at_ns < AMBIGUOUS_NS)
        fresh.ambiguous = 1;
    else if (old && old->tgid == tgid && old->ambiguous && now - old->at_ns < AMBIGUOUS_NS)
        fresh.ambiguous = 1;
    bpf_map_update_elem(&origins, key, &fresh, BPF_ANY);
}

static __always_inline __u8 proto_of(struct bpf_sock_addr *ctx)
{
    // The socket's protocol (IPPROTO_TCP or IPPROTO_UDP), whatever socket() was passed.
    return (__u8)ctx->protocol;
}

static __always_inline int v4(struct bpf_sock_addr *ctx)
{
    struct endpoint key = {};
    key.proto = proto_of(ctx);
    key.family = 4;
    key.port = __builtin_bswap16((__u16)ctx->user_port);
    __u32 a = ctx->user_ip4;
    __builtin_memcpy(key.addr, &a, 4);
    remember(&key);
    return 1;
}

static __always_inline int v6(struct bpf_sock_addr *ctx)
{
    struct endpoint key = {};
    key.proto = proto_of(ctx);
    key.port = __builtin_bswap16((__u16)ctx->user_port);
    __u32 w0 = ctx->user_ip6[0], w1 = ctx->user_ip6[1], w2 = ctx->user_ip6[2], w3 = ctx->user_ip6[3];
    if (w0 == 0 && w1 == 0 && w2 == __builtin_bswap32(0x0000ffff)) {
        key.family = 4;
        __builtin_memcpy(key.addr, &w3, 4);
    } else {
        key.family = 6;
        __builtin_memcpy(key.addr, &w0, 4);
        __builtin_memcpy(key.addr + 4, &w1, 4);
        __builtin_memcpy(key.addr + 8, &w2, 4);
        __builtin_memcpy(key.addr + 12, &w3, 4);
    }
    remember(&key);
    return 1;
}

SEC("cgroup/connect4")
int netward_connect4(struct bpf_sock_addr *ctx) { return v4(ctx); }

SEC("cgroup/sendmsg4")
int netward_sendmsg4(struct bpf_sock_addr *ctx) { return v4(ctx); }

SEC("cgroup/connect6")
int netward_connect6(struct bpf_sock_addr *ctx) { return v6(ctx); }

SEC("cgroup/sendmsg6")
int netward_sendmsg6(struct bpf_sock_addr *ctx) { return v6(ctx); }

char LICENSE[] SEC("license") = "Dual BSD/GPL";
