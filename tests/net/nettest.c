#include "nettest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- counters ---- */

uint64_t ctr(const us_stack *s, const char *name)
{
	uint64_t v = 0;
	if (us_stack_counter(s, name, &v) < 0) {
		fprintf(stderr, "unknown counter %s\n", name);
		abort();
	}
	return v;
}

static void snap_one(void *arg, const char *name, uint64_t value)
{
	struct snap *sn = arg;
	if (sn->n >= SNAP_MAX) {
		fprintf(stderr, "too many counters for a snapshot\n");
		abort();
	}
	sn->names[sn->n] = name;
	sn->vals[sn->n] = value;
	sn->n++;
}

void snap_take(struct snap *sn, const us_stack *s)
{
	sn->s = s;
	sn->n = 0;
	us_stack_counters(s, true, snap_one, sn);
}

int64_t snap_delta(const struct snap *sn, const char *name)
{
	uint64_t now = ctr(sn->s, name);
	for (int i = 0; i < sn->n; i++)
		if (!strcmp(sn->names[i], name))
			return (int64_t)(now - sn->vals[i]);
	fprintf(stderr, "counter %s not in the snapshot\n", name);
	abort();
}

void snap_print_changes(const struct snap *sn, const char *label)
{
	fprintf(stderr, "  counters moved (%s):", label);
	for (int i = 0; i < sn->n; i++) {
		uint64_t now = ctr(sn->s, sn->names[i]);
		if (now != sn->vals[i])
			fprintf(stderr, " %s+%lld", sn->names[i], (long long)(now - sn->vals[i]));
	}
	fprintf(stderr, "\n");
}

struct us_dev_stats dev_stats(const us_stack *s, int ifindex)
{
	struct us_dev_stats st;
	memset(&st, 0, sizeof(st));
	if (us_dev_stats(s, ifindex, &st) < 0)
		abort();
	return st;
}

/* ---- capture ---- */

static int cap_func(struct skb *skb, struct netdev *dev, struct packet_type *pt)
{
	struct capture *c = pt->priv;
	if (c->n >= CAP_MAX) {
		c->lost++;
		return 0;
	}
	struct cap_pkt *k = &c->pkts[c->n];
	memset(k, 0, sizeof(*k));
	const uint8_t *d = skb->data;
	size_t len = skb->len;
	k->out = skb->pkt_type == PACKET_OUTGOING;
	k->pkt_type = skb->pkt_type;
	k->proto = skb->protocol;
	if (dev->type == NETDEV_ETHER) {
		const uint8_t *eth;
		if (k->out) {
			/* On transmit the tap sees the frame from its link header. */
			if (len < ETH_HLEN)
				return 0;
			eth = d;
			d += ETH_HLEN;
			len -= ETH_HLEN;
		} else {
			eth = skb_mac_header(skb);
		}
		k->has_eth = true;
		memcpy(k->eth, eth, ETH_HLEN);
		k->proto = get_be16(eth + 12);
	} else if (len > 0) {
		k->proto = (d[0] >> 4) == 4 ? ETH_P_IP : (d[0] >> 4) == 6 ? ETH_P_IPV6 : 0;
	}
	k->data = malloc(len ? len : 1);
	memcpy(k->data, d, len);
	k->len = len;
	k->time = us_stack_now(dev->stack);
	c->n++;
	return 0;
}

void cap_start(struct capture *c, us_stack *s, int ifindex)
{
	memset(c, 0, sizeof(*c));
	c->s = s;
	c->pt.type = ETH_P_ALL;
	c->pt.func = cap_func;
	c->pt.priv = c;
	c->pt.dev = ifindex ? netdev_get_by_index(s, ifindex) : NULL;
	dev_add_pack(s, &c->pt);
}

void cap_clear(struct capture *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->pkts[i].data);
	c->n = 0;
	c->lost = 0;
}

void cap_stop(struct capture *c)
{
	dev_remove_pack(c->s, &c->pt);
	cap_clear(c);
}

/* ---- parsing ---- */

bool parse_icmp_pkt(const uint8_t *ip, size_t len, struct icmp_pkt *out)
{
	memset(out, 0, sizeof(*out));
	if (!ip || ipv4_parse(ip, len, &out->ip) != IPV4_OK || out->ip.protocol != IPPROTO_ICMP_)
		return false;
	if (out->ip.mf || out->ip.frag_off)
		return false;
	size_t ilen = out->ip.tot_len - out->ip.ihl;
	if (icmp_parse(ip + out->ip.ihl, ilen, &out->icmp) != ICMP_OK)
		return false;
	out->iph = ip;
	out->body = ip + out->ip.ihl + ICMP_HLEN;
	out->body_len = ilen - ICMP_HLEN;
	return true;
}

const struct cap_pkt *cap_find_icmp(const struct capture *c, bool out, int type, size_t nth,
				    struct icmp_pkt *ip)
{
	struct icmp_pkt tmp;
	if (!ip)
		ip = &tmp;
	for (size_t i = 0; i < c->n; i++) {
		const struct cap_pkt *k = &c->pkts[i];
		if (k->out != out || k->proto != ETH_P_IP)
			continue;
		if (!parse_icmp_pkt(k->data, k->len, ip))
			continue;
		if (type >= 0 && ip->icmp.type != type)
			continue;
		if (nth-- == 0)
			return k;
	}
	memset(ip, 0, sizeof(*ip));
	return NULL;
}

size_t cap_count_icmp(const struct capture *c, bool out, int type)
{
	size_t n = 0;
	while (cap_find_icmp(c, out, type, n, NULL))
		n++;
	return n;
}

/* ---- building ---- */

size_t build_ip_opts(uint8_t *buf, bool l3, const uint8_t *dst_mac, const uint8_t *src_mac,
		     struct ip_repr *ip, const uint8_t *opts, size_t optlen, const void *payload,
		     size_t plen)
{
	size_t off = 0;
	if (!l3) {
		eth_emit(buf, dst_mac, src_mac, ETH_P_IP);
		off = ETH_HLEN;
	}
	ip->ihl = (uint8_t)(IPV4_HLEN + optlen);
	ip->tot_len = (uint16_t)(ip->ihl + plen);
	if (optlen)
		memcpy(buf + off + IPV4_HLEN, opts, optlen);
	ipv4_emit(buf + off, ip);
	if (plen)
		memcpy(buf + off + ip->ihl, payload, plen);
	return off + ip->ihl + plen;
}

size_t build_icmp(uint8_t *buf, uint8_t type, uint8_t code, uint32_t rest, const void *data,
		  size_t dlen)
{
	if (dlen)
		memcpy(buf + ICMP_HLEN, data, dlen);
	struct icmp_repr r = { .type = type, .code = code, .rest = rest };
	icmp_emit(buf, ICMP_HLEN + dlen, &r);
	return ICMP_HLEN + dlen;
}

size_t build_arp(uint8_t *buf, const uint8_t *eth_dst, const uint8_t *eth_src, uint16_t op,
		 const uint8_t *sha, uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
	static const uint8_t zero[6];
	eth_emit(buf, eth_dst, eth_src, ETH_P_ARP);
	struct arp_repr a = { .op = op, .spa = spa, .tpa = tpa };
	memcpy(a.sha, sha, 6);
	memcpy(a.tha, tha ? tha : zero, 6);
	arp_emit(buf + ETH_HLEN, &a);
	/* Padded to the Ethernet minimum, as on a real wire. */
	memset(buf + ETH_HLEN + ARP_HLEN, 0, ETH_ZLEN - ETH_HLEN - ARP_HLEN);
	return ETH_ZLEN;
}

int stack_send_echo(us_stack *s, uint32_t saddr, uint32_t daddr, uint16_t id, uint16_t seq,
		    size_t datalen, uint8_t ttl, bool df)
{
	struct skb *skb = skb_alloc_tx(s->pool, (uint32_t)(ICMP_HLEN + datalen));
	if (!skb)
		return -1;
	build_icmp_echo(skb_put(skb, (uint32_t)(ICMP_HLEN + datalen)), ICMP_ECHO, id, seq, datalen);
	struct ip_tx tx = { .saddr = saddr, .daddr = daddr, .protocol = IPPROTO_ICMP_, .ttl = ttl,
			    .df = df };
	return ip_send_skb(s, skb, &tx);
}

int stack_send_ip(us_stack *s, uint32_t saddr, uint32_t daddr, uint8_t proto, const void *payload,
		  size_t plen)
{
	struct skb *skb = skb_alloc_tx(s->pool, (uint32_t)plen);
	if (!skb)
		return -1;
	memcpy(skb_put(skb, (uint32_t)plen), payload, plen);
	struct ip_tx tx = { .saddr = saddr, .daddr = daddr, .protocol = proto };
	return ip_send_skb(s, skb, &tx);
}

/* ---- peer conveniences ---- */

const struct frame *peer_pop_icmp(struct peer *p, uint64_t max_ns, struct icmp_pkt *ip,
				  size_t *skipped)
{
	uint64_t limit = us_clock_now(p->clk) + max_ns;
	for (;;) {
		uint64_t now = us_clock_now(p->clk);
		const struct frame *f = peer_pop(p, limit > now ? limit - now : 0);
		if (!f)
			return NULL;
		size_t len;
		const uint8_t *d = frame_ip(p, f, &len);
		bool is_ip = p->l3 ? (len > 0 && (d[0] >> 4) == 4)
				   : (f->len >= ETH_HLEN && get_be16(f->data + 12) == ETH_P_IP);
		if (is_ip && parse_icmp_pkt(d, len, ip))
			return f;
		if (skipped)
			(*skipped)++;
	}
}

bool peer_ping(struct peer *p, uint32_t saddr, uint32_t daddr, uint16_t id, uint16_t seq,
	       size_t datalen)
{
	uint8_t icmp[1600], frame[1700];
	if (datalen > 1400)
		return false;
	size_t ilen = build_icmp_echo(icmp, ICMP_ECHO, id, seq, datalen);
	size_t flen = build_ipv4(frame, p->l3, p->stack_mac, p->mac, saddr, daddr, IPPROTO_ICMP_,
				 (uint16_t)(0x5000 + seq), 0, false, 64, icmp, ilen);
	peer_inject(p, frame, flen);
	uint64_t limit = us_clock_now(p->clk) + 1000000000ull;
	for (;;) {
		uint64_t now = us_clock_now(p->clk);
		if (now >= limit)
			return false;
		const struct frame *f = peer_pop(p, limit - now);
		if (!f)
			return false;
		/* The stack may have to ask who we are first. */
		if (!p->l3 && f->len >= ETH_HLEN && get_be16(f->data + 12) == ETH_P_ARP) {
			if (f->len >= ETH_HLEN + ARP_HLEN &&
			    memcmp(f->data + ETH_HLEN + 14, f->data + ETH_HLEN + 24, 4) != 0)
				peer_answer_arp(p, f); /* not a gratuitous one */
			continue;
		}
		size_t len;
		const uint8_t *d = frame_ip(p, f, &len);
		struct icmp_pkt ip;
		if (!parse_icmp_pkt(d, len, &ip))
			continue;
		if (ip.icmp.type == ICMP_ECHOREPLY && icmp_echo_id(&ip.icmp) == id &&
		    icmp_echo_seq(&ip.icmp) == seq && ip.ip.saddr == daddr && ip.ip.daddr == saddr &&
		    ip.body_len == datalen && memcmp(ip.body, icmp + ICMP_HLEN, datalen) == 0)
			return true;
	}
}

void peer_set_neigh(struct peer *p, uint32_t ip, const uint8_t *mac)
{
	struct netdev *dev = netdev_get_by_index(p->s, p->ifindex);
	if (!dev || neigh_set(p->s, dev, ip, mac ? mac : p->mac, NUD_PERMANENT) < 0) {
		fprintf(stderr, "cannot set a permanent neighbour\n");
		abort();
	}
}

uint64_t test_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}
