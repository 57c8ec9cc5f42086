/*
 * Packet capture at the device layer: each capture is a tap in ptype_all
 * (as an AF_PACKET socket of tcpdump is in Linux), so it sees every frame a
 * device receives (before the protocol handlers) and transmits (just
 * before the driver, as dev_queue_xmit_nit). The frame is filtered in
 * place by the BPF program libpcap compiled from the tcpdump expression,
 * and only accepted frames are copied, up to the snap length, into the
 * writer's bounded buffer. Nothing in this path blocks: a full buffer
 * drops the frame and counts it.
 */
#define _GNU_SOURCE
#include "capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/if_arp.h>

#include "../core/stack.h"
#include "../socket/mt.h"
#include "../wire/eth.h"
#include "bpf_run.h"
#include "pcap_writer.h"

#define CAP_EXT_NAME "capture"
#define SNAPLEN_MAX 262144u

enum { LINK_ETHER, LINK_RAW, LINK_NCLASS };

struct cap_session {
	struct list_head list;
	struct us_stack *s;
	int id;
	struct packet_type pt;
	bool registered;
	bool any;
	char devname[16];
	int ifindex;                   /* 0 while the named device is absent */
	int link;                      /* LINK_*: of the device (single-device captures) */
	enum us_capture_dir dir;
	char *filter;
	struct bpf_program prog[LINK_NCLASS];  /* from pcap_compile */
	bool have_prog[LINK_NCLASS];
	struct capbpf run[LINK_NCLASS];  /* what the tap runs per link class */
	bool sll;                      /* "any": Linux cooked headers */
	unsigned snaplen;
	unsigned flush_ms;
	uint64_t ts_offset_ns;
	struct capw w;
	struct timer flush_timer;
	char *output;
	struct us_capture_stats st;
};

struct cap_state {
	struct stack_ext ext;
	struct list_head sessions;
	int next_id;
};

static const char *const link_names[LINK_NCLASS] = { "EN10MB", "RAW" };

static int dev_link(const struct netdev *dev)
{
	return dev->type == NETDEV_ETHER ? LINK_ETHER : LINK_RAW;
}

static void cap_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void cap_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- the stack's capture state ---- */

static void session_free(struct us_stack *s, struct cap_session *c, unsigned wait_ms,
			 struct us_capture_stats *final);

static void cap_cleanup(struct us_stack *s, struct stack_ext *e)
{
	struct cap_state *cs = container_of(e, struct cap_state, ext);
	struct cap_session *c, *n;
	list_for_each_entry_safe(c, n, &cs->sessions, list)
		session_free(s, c, 100, NULL);
	free(cs);
}

static struct cap_state *cap_state(struct us_stack *s, bool create)
{
	struct stack_ext *e = stack_ext_find(s, CAP_EXT_NAME);
	if (e || !create)
		return e ? container_of(e, struct cap_state, ext) : NULL;
	struct cap_state *cs = calloc(1, sizeof(*cs));
	if (!cs)
		return NULL;
	cs->ext.name = CAP_EXT_NAME;
	cs->ext.cleanup = cap_cleanup;
	list_init(&cs->sessions);
	cs->next_id = 1;
	stack_ext_add(s, &cs->ext);
	return cs;
}

static struct cap_session *find_session(struct us_stack *s, int id)
{
	struct cap_state *cs = cap_state(s, false);
	if (!cs)
		return NULL;
	struct cap_session *c;
	list_for_each_entry(c, &cs->sessions, list)
		if (c->id == id)
			return c;
	return NULL;
}

/* ---- the packet path ---- */

static void session_output_failed(struct cap_session *c);

static void arm_flush(struct cap_session *c)
{
	if (!timer_pending(&c->flush_timer))
		stack_timer_mod(c->s, &c->flush_timer, c->s->now_ms + c->flush_ms);
}

/* Linux cooked header (DLT_LINUX_SLL), as libpcap builds it for -i any. */
static void sll_header(uint8_t *h, const struct skb *skb, const struct netdev *dev,
		       const uint8_t *frame, uint32_t len, uint32_t *skip)
{
	uint16_t hatype = dev->type == NETDEV_ETHER ? ARPHRD_ETHER
			  : dev->type == NETDEV_LOOPBACK ? ARPHRD_LOOPBACK : ARPHRD_NONE;
	uint16_t proto = 0;
	memset(h, 0, SLL_HDR_LEN);
	put_be16(h, skb->pkt_type);
	put_be16(h + 2, hatype);
	*skip = 0;
	if (dev->type == NETDEV_ETHER && len >= ETH_HLEN) {
		put_be16(h + 4, ETH_ALEN);
		/* The sender's address: ours on transmit, the source on receive. */
		memcpy(h + 6, frame + ETH_ALEN, ETH_ALEN);
		proto = get_be16(frame + 12);
		*skip = ETH_HLEN;
	} else if (len >= 1) {
		proto = (frame[0] >> 4) == 6 ? ETH_P_IPV6 : ETH_P_IP;
	}
	put_be16(h + 14, proto);
}

static uint32_t epb_flags(const struct skb *skb)
{
	/* Bits 0-1: direction (1 in, 2 out); bits 2-4: reception type. */
	switch (skb->pkt_type) {
	case PACKET_OUTGOING:
		return 2;
	case PACKET_BROADCAST:
		return 1 | 3u << 2;
	case PACKET_MULTICAST:
		return 1 | 2u << 2;
	case PACKET_OTHERHOST:
		return 1 | 4u << 2;
	default:
		return 1 | 1u << 2;
	}
}

/* A program that takes nothing: for a link class the filter cannot apply
 * to ("ether host X" on a TUN device, in a capture on every device). */
static const struct bpf_insn reject_all[] = { BPF_STMT(BPF_RET | BPF_K, 0) };

/* The copy: out of the tap's fast path. */
static __attribute__((noinline)) void cap_record(struct cap_session *c, const struct skb *skb,
						 const struct netdev *dev, const uint8_t *frame,
						 uint32_t len)
{
	uint8_t sll[SLL_HDR_LEN];
	uint32_t skip = 0;
	struct capw_rec r = {
		.ifindex = dev->ifindex,
		.ifname = dev->name,
		.if_linktype = c->sll ? LINKTYPE_LINUX_SLL
			       : dev->type == NETDEV_ETHER ? LINKTYPE_ETHERNET : LINKTYPE_RAW,
		.ts_ns = us_clock_now(c->s->clock) + c->ts_offset_ns,
		.epb_flags = epb_flags(skb),
	};
	if (c->sll) {
		sll_header(sll, skb, dev, frame, len, &skip);
		r.hdr = sll;
		r.hdrlen = SLL_HDR_LEN;
	}
	r.data = frame + skip;
	r.datalen = len - skip;
	r.wirelen = len - skip;
	int err = capw_add(&c->w, &r);
	if (likely(err == 0)) {
		c->st.captured++;
		c->st.bytes = c->w.bytes;
		if (!c->w.waiting && c->w.len >= (64u << 10))
			capw_flush(&c->w, 0); /* in 64 KiB writes; a live reader wants it soon */
		if (c->w.failed)
			session_output_failed(c);
		else
			arm_flush(c);
		return;
	}
	c->st.dropped++;
	if (err == -EIO || c->w.failed) {
		session_output_failed(c);
		return;
	}
	us_log_pkt(c->s, US_LOG_WARN, "capture %d: output too slow, frame dropped (%llu so far)",
		   c->id, (unsigned long long)c->st.dropped);
	arm_flush(c);
}

/* A device named by a capture before it existed becomes the capture's
 * device when its first frame passes. */
static __attribute__((noinline)) bool cap_adopt(struct cap_session *c, const struct netdev *dev)
{
	if (c->ifindex || strcmp(dev->name, c->devname) || dev_link(dev) != c->link)
		return false;
	c->ifindex = dev->ifindex;
	capw_rename_iface(&c->w, -1, dev->ifindex); /* the pcapng IDB written for it */
	return true;
}

/* The tap: runs for every frame of every device while the capture is on,
 * so it is short: which device and direction, the filter on the frame in
 * place, and only then the copy. */
static int cap_tap(struct skb *skb, struct netdev *dev, struct packet_type *pt)
{
	struct cap_session *c = pt->priv;
	if (!c->any && unlikely(dev->ifindex != c->ifindex) && !cap_adopt(c, dev))
		return 0;
	if (skb->pkt_type == PACKET_OUTGOING) {
		/* As libpcap on Linux: the loopback's transmitted copy is
		 * skipped, the same packet is seen again as received. */
		if (c->dir == US_CAPTURE_IN || dev->type == NETDEV_LOOPBACK)
			return 0;
	} else if (c->dir == US_CAPTURE_OUT) {
		return 0;
	}
	c->st.seen++;
	const uint8_t *frame = skb_mac_header(skb);
	uint32_t len = (uint32_t)(skb->tail - frame);
	if (!capbpf_run(&c->run[dev->type != NETDEV_ETHER], frame, len, len))
		return 0;
	c->st.matched++;
	cap_record(c, skb, dev, frame, len);
	return 0;
}

/* The tap of the common case, a single device that exists (the device
 * layer matches pt->dev), both directions, not the loopback, a filter
 * run natively: the least work per frame. */
static int cap_tap_dev(struct skb *skb, struct netdev *dev, struct packet_type *pt)
{
	struct cap_session *c = pt->priv;
	c->st.seen++;
	const uint8_t *frame = skb_mac_header(skb);
	uint32_t len = (uint32_t)(skb->tail - frame);
	if (likely(!capbpf_run(&c->run[c->link], frame, len, len)))
		return 0;
	c->st.matched++;
	cap_record(c, skb, dev, frame, len);
	return 0;
}

/* ---- flushing ---- */

static void session_output_failed(struct cap_session *c)
{
	if (!c->st.running)
		return;
	c->st.running = false;
	c->st.error = c->w.error ? c->w.error : EIO;
	if (c->registered) {
		dev_remove_pack(c->s, &c->pt);
		c->registered = false;
	}
	stack_timer_del(c->s, &c->flush_timer);
	us_log(c->s, US_LOG_WARN, "capture %d: output %s ended: %s", c->id, c->output,
	       c->st.error == EPIPE ? "the reader went away" : strerror(c->st.error));
}

static void cap_flush_timer(struct timer *t)
{
	struct cap_session *c = container_of(t, struct cap_session, flush_timer);
	capw_flush(&c->w, 0);
	if (c->w.failed) {
		session_output_failed(c);
		return;
	}
	if (capw_pending(&c->w))
		arm_flush(c);
}

/* ---- starting and stopping ---- */

static int compile_filter(struct cap_session *c, int k, char *msg, size_t msglen)
{
	int dlt = k == LINK_ETHER ? DLT_EN10MB : DLT_RAW;
	pcap_t *p = pcap_open_dead(dlt, (int)c->snaplen);
	if (!p) {
		snprintf(msg, msglen, "libpcap: out of memory");
		return -ENOMEM;
	}
	int r = pcap_compile(p, &c->prog[k], c->filter, 1, PCAP_NETMASK_UNKNOWN);
	if (r < 0) {
		snprintf(msg, msglen, "%s", pcap_geterr(p));
		pcap_close(p);
		return -EINVAL;
	}
	pcap_close(p);
	c->have_prog[k] = true;
	if (capbpf_init(&c->run[k], c->prog[k].bf_insns, c->prog[k].bf_len) < 0) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static void fill_stats(const struct cap_session *c, struct us_capture_stats *st);

static void session_free(struct us_stack *s, struct cap_session *c, unsigned wait_ms,
			 struct us_capture_stats *final)
{
	if (c->registered)
		dev_remove_pack(s, &c->pt);
	c->registered = false;
	stack_timer_del(s, &c->flush_timer);
	if (c->w.buf && !c->w.failed) {
		capw_flush(&c->w, wait_ms);
		if (c->w.failed)
			c->st.error = c->w.error;
	}
	if (final) {
		fill_stats(c, final);
		final->running = false;
	}
	size_t left = capw_close(&c->w);
	if (left)
		us_log(s, US_LOG_WARN, "capture %d: %zu bytes not delivered to %s", c->id, left,
		       c->output ? c->output : "?");
	for (int k = 0; k < LINK_NCLASS; k++) {
		capbpf_free(&c->run[k]);
		if (c->have_prog[k])
			pcap_freecode(&c->prog[k]);
	}
	list_del(&c->list);
	free(c->filter);
	free(c->output);
	free(c);
}

static struct netdev *default_dev(struct us_stack *s)
{
	struct netdev *dev;
	list_for_each_entry(dev, &s->devs, list)
		if (dev->type != NETDEV_LOOPBACK)
			return dev;
	return NULL;
}

int capture_start(struct us_stack *s, const struct us_capture_opts *o, char *err, size_t errlen)
{
	if (!o || (!o->path && o->fd < 0) || (o->path && !*o->path)) {
		cap_err(err, errlen, "no output: give a file name or a descriptor");
		return -EINVAL;
	}
	if (o->snaplen > SNAPLEN_MAX) {
		cap_err(err, errlen, "snap length %u: at most %u", o->snaplen, SNAPLEN_MAX);
		return -EINVAL;
	}
	if (o->rotate_files && !o->rotate_bytes) {
		cap_err(err, errlen, "a file count (-W) needs a rotation size (-C)");
		return -EINVAL;
	}
	if ((unsigned)o->direction > US_CAPTURE_OUT || (unsigned)o->link > US_CAPTURE_LINK_RAW) {
		cap_err(err, errlen, "bad direction or link type");
		return -EINVAL;
	}
	struct cap_state *cs = cap_state(s, true);
	struct cap_session *c = cs ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		cap_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->w.fd = -1;
	list_init(&c->list);
	list_init(&c->pt.list);
	timer_init(&c->flush_timer, cap_flush_timer);
	c->s = s;
	c->snaplen = o->snaplen ? o->snaplen : US_CAPTURE_SNAPLEN_DEFAULT;
	c->flush_ms = o->flush_ms ? o->flush_ms : 100;
	c->dir = o->direction;
	list_add_tail(&c->list, &cs->sessions); /* so that session_free can unlink */

	/* Which device. */
	struct netdev *dev = NULL;
	int r;
	if (o->dev && !strcmp(o->dev, "any")) {
		c->any = true;
		snprintf(c->devname, sizeof(c->devname), "any");
	} else {
		if (o->dev && strlen(o->dev) >= sizeof(c->devname)) {
			cap_err(err, errlen, "device name '%s' is too long", o->dev);
			r = -EINVAL;
			goto fail;
		}
		dev = o->dev ? netdev_get_by_name(s, o->dev) : default_dev(s);
		if (!dev && (!o->dev || o->link == US_CAPTURE_LINK_AUTO)) {
			if (o->dev)
				cap_err(err, errlen, "no device '%s'", o->dev);
			else
				cap_err(err, errlen, "no device to capture on (name one, or \"any\")");
			r = -ENODEV;
			goto fail;
		}
		if (dev) {
			c->link = dev_link(dev);
			c->ifindex = dev->ifindex;
			if (o->link != US_CAPTURE_LINK_AUTO &&
			    c->link != (o->link == US_CAPTURE_LINK_ETHER ? LINK_ETHER : LINK_RAW)) {
				cap_err(err, errlen, "device '%s' is %s, not %s", dev->name,
					link_names[c->link],
					link_names[o->link == US_CAPTURE_LINK_ETHER ? LINK_ETHER : LINK_RAW]);
				r = -EINVAL;
				goto fail;
			}
			snprintf(c->devname, sizeof(c->devname), "%s", dev->name);
		} else {
			c->link = o->link == US_CAPTURE_LINK_ETHER ? LINK_ETHER : LINK_RAW;
			snprintf(c->devname, sizeof(c->devname), "%s", o->dev);
		}
	}

	/* The filter, compiled for each link type it will see. */
	if (o->filter && *o->filter) {
		c->filter = strdup(o->filter);
		if (!c->filter) {
			cap_err(err, errlen, "out of memory");
			r = -ENOMEM;
			goto fail;
		}
		char msg[PCAP_ERRBUF_SIZE + 64];
		if (!c->any) {
			r = compile_filter(c, c->link, msg, sizeof(msg));
			if (r < 0) {
				cap_err(err, errlen, "bad filter '%s': %s", c->filter, msg);
				goto fail;
			}
			if (capbpf_init(&c->run[!c->link], reject_all, 1) < 0) {
				r = -ENOMEM;
				goto fail;
			}
		} else {
			char msg2[sizeof(msg)];
			int r0 = compile_filter(c, LINK_ETHER, msg, sizeof(msg));
			int r1 = compile_filter(c, LINK_RAW, msg2, sizeof(msg2));
			if (r0 < 0 && r1 < 0) {
				r = r0;
				cap_err(err, errlen, "bad filter '%s': %s", c->filter, msg);
				goto fail;
			}
			/* "ether host X" has no meaning on a TUN device: its
			 * frames are left out rather than the capture refused. */
			if ((r0 < 0 && capbpf_init(&c->run[LINK_ETHER], reject_all, 1) < 0) ||
			    (r1 < 0 && capbpf_init(&c->run[LINK_RAW], reject_all, 1) < 0)) {
				r = -ENOMEM;
				goto fail;
			}
		}
	} else {
		c->filter = strdup("");
		if (!c->filter) {
			r = -ENOMEM;
			goto fail;
		}
	}

	/* The output. Every device in one file is written in Linux cooked
	 * form, as tcpdump -i any: libpcap (tcpdump -r) reads no file, not
	 * even pcapng, whose interfaces have different link types. */
	c->sll = c->any;
	struct capw_cfg wc = {
		.path = o->path,
		.fd = o->fd,
		.pcapng = o->pcapng,
		.linktype = c->sll ? LINKTYPE_LINUX_SLL
			    : c->link == LINK_ETHER ? LINKTYPE_ETHERNET : LINKTYPE_RAW,
		.snaplen = c->snaplen,
		.rotate_bytes = o->rotate_bytes,
		.rotate_files = o->rotate_files,
		.buffer_bytes = o->buffer_bytes ? o->buffer_bytes : US_CAPTURE_BUFFER_DEFAULT,
	};
	r = capw_open(&c->w, &wc, err, errlen);
	if (r < 0)
		goto fail;
	char fdname[32];
	snprintf(fdname, sizeof(fdname), "fd %d", o->fd);
	c->output = strdup(o->path ? o->path : fdname);
	if (!c->output) {
		r = -ENOMEM;
		goto fail;
	}
	/* pcapng: the interfaces known now are described up front (readers
	 * need at least one before the first packet). */
	if (o->pcapng) {
		struct netdev *d;
		list_for_each_entry(d, &s->devs, list)
			if (c->any || d == dev)
				capw_add_iface(&c->w, d->ifindex, d->name,
					       c->sll ? LINKTYPE_LINUX_SLL
					       : d->type == NETDEV_ETHER ? LINKTYPE_ETHERNET : LINKTYPE_RAW);
		if (!c->any && !dev)
			capw_add_iface(&c->w, -1, c->devname,
				       c->link == LINK_ETHER ? LINKTYPE_ETHERNET : LINKTYPE_RAW);
	}
	/* Wall-clock timestamps from the stack's clock (virtual time as is). */
	if (!us_clock_is_virtual(s->clock)) {
		struct timespec rt;
		clock_gettime(CLOCK_REALTIME, &rt);
		uint64_t wall = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
		c->ts_offset_ns = wall - us_clock_now(s->clock);
	}
	c->id = cs->next_id++;
	c->st.running = true;
	c->st.files = c->w.files;
	c->pt.type = ETH_P_ALL;
	c->pt.dev = NULL;
	c->pt.func = cap_tap;
	if (dev && dev->type != NETDEV_LOOPBACK && c->dir == US_CAPTURE_INOUT &&
	    capbpf_native(&c->run[c->link])) {
		c->pt.dev = dev; /* (netdev_unregister drops the tap with the device) */
		c->pt.func = cap_tap_dev;
	}
	c->pt.priv = c;
	dev_add_pack(s, &c->pt);
	c->registered = true;
	/* The file header goes out now (a FIFO's reader, a pipe). */
	stack_update_time(s);
	capw_flush(&c->w, 0);
	if (capw_pending(&c->w))
		arm_flush(c);
	us_log(s, US_LOG_INFO, "capture %d: listening on %s, writing to %s", c->id, c->devname,
	       c->output);
	return c->id;
fail:
	session_free(s, c, 0, NULL);
	return r;
}

/* A device named by a capture that does not exist yet becomes that
 * capture's device when a frame of it first passes (cap_tap); a device
 * that was present keeps its ifindex. */

int capture_stop(struct us_stack *s, int id, struct us_capture_stats *st)
{
	struct cap_session *c = find_session(s, id);
	if (!c)
		return -ENOENT;
	c->st.running = false;
	session_free(s, c, 100, st);
	return 0;
}

static void fill_stats(const struct cap_session *c, struct us_capture_stats *st)
{
	*st = c->st;
	st->files = c->w.files;
	st->bytes = c->w.bytes;
}

int capture_stats(struct us_stack *s, int id, struct us_capture_stats *st)
{
	struct cap_session *c = find_session(s, id);
	if (!c)
		return -ENOENT;
	fill_stats(c, st);
	return 0;
}

void capture_foreach(struct us_stack *s, us_capture_fn fn, void *arg)
{
	struct cap_state *cs = cap_state(s, false);
	if (!cs)
		return;
	struct cap_session *c, *n;
	list_for_each_entry_safe(c, n, &cs->sessions, list) {
		struct us_capture_info ci = {
			.id = c->id,
			.dev = c->devname,
			.output = c->output,
			.filter = c->filter,
			.link = c->sll ? "LINUX_SLL" : link_names[c->link],
			.format = c->w.pcapng ? "pcapng" : "pcap",
			.snaplen = c->snaplen,
		};
		fill_stats(c, &ci.stats);
		fn(arg, &ci);
	}
}

int capture_ids(struct us_stack *s, int *ids, int max)
{
	struct cap_state *cs = cap_state(s, false);
	int n = 0;
	if (!cs)
		return 0;
	struct cap_session *c;
	list_for_each_entry(c, &cs->sessions, list)
		if (n < max)
			ids[n++] = c->id;
	return n;
}

/* ---- public API ---- */

int us_capture_start(us_stack *s, const struct us_capture_opts *opts, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	if (!s) {
		errno = EINVAL;
		return -1;
	}
	mt_lock(s);
	int r = capture_start(s, opts, err, errlen);
	mt_unlock(s);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

int us_capture_stop(us_stack *s, int id, struct us_capture_stats *st)
{
	if (!s) {
		errno = EINVAL;
		return -1;
	}
	mt_lock(s);
	int r = capture_stop(s, id, st);
	mt_unlock(s);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}

int us_capture_stats(us_stack *s, int id, struct us_capture_stats *st)
{
	if (!s || !st) {
		errno = EINVAL;
		return -1;
	}
	mt_lock(s);
	int r = capture_stats(s, id, st);
	mt_unlock(s);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}

int us_capture_flush(us_stack *s, int id)
{
	if (!s) {
		errno = EINVAL;
		return -1;
	}
	mt_lock(s);
	struct cap_session *c = find_session(s, id);
	int r = c ? capw_flush(&c->w, 0) : -ENOENT;
	if (c && c->w.failed)
		session_output_failed(c);
	mt_unlock(s);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}

void us_capture_foreach(us_stack *s, us_capture_fn fn, void *arg)
{
	if (!s || !fn)
		return;
	mt_lock(s);
	capture_foreach(s, fn, arg);
	mt_unlock(s);
}

int us_capture_check_filter(const char *expr, enum us_capture_link link, char *err,
			    size_t errlen)
{
	if (!expr) {
		errno = EINVAL;
		return -1;
	}
	pcap_t *p = pcap_open_dead(link == US_CAPTURE_LINK_RAW ? DLT_RAW : DLT_EN10MB,
				   (int)US_CAPTURE_SNAPLEN_DEFAULT);
	if (!p) {
		errno = ENOMEM;
		return -1;
	}
	struct bpf_program prog;
	int r = pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN);
	if (r < 0)
		cap_err(err, errlen, "bad filter '%s': %s", expr, pcap_geterr(p));
	else
		pcap_freecode(&prog);
	pcap_close(p);
	if (r < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int us_capture_parse_size(const char *str, uint64_t *bytes)
{
	if (!str || !bytes || !*str) {
		errno = EINVAL;
		return -1;
	}
	char *end;
	errno = 0;
	double v = strtod(str, &end);
	if (end == str || errno || !(v > 0)) {
		errno = EINVAL;
		return -1;
	}
	double unit = 1000000.0; /* tcpdump -C: millions of bytes */
	if (*end) {
		switch (*end) {
		case 'k': case 'K': unit = 1024.0; break;
		case 'm': case 'M': unit = 1048576.0; break;
		case 'g': case 'G': unit = 1073741824.0; break;
		default:
			errno = EINVAL;
			return -1;
		}
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'b' || *end == 'B')
			end++;
		if (*end) {
			errno = EINVAL;
			return -1;
		}
	}
	double b = v * unit;
	if (b < 1.0 || b > 1e18) {
		errno = EINVAL;
		return -1;
	}
	*bytes = (uint64_t)b;
	return 0;
}
