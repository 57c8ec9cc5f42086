#include "ipv4.h"

#include <string.h>

#include "../core/compiler.h"
#include "checksum.h"

int ipv4_parse(const uint8_t *buf, size_t len, struct ip_repr *r)
{
	if (len < IPV4_HLEN)
		return IPV4_ESHORT;
	if ((buf[0] >> 4) != 4)
		return IPV4_EVERSION;
	r->ihl = (uint8_t)((buf[0] & 0x0f) * 4);
	if (r->ihl < IPV4_HLEN || r->ihl > len)
		return IPV4_EIHL;
	r->tot_len = get_be16(buf + 2);
	if (r->tot_len < r->ihl)
		return IPV4_ETOTLEN;
	if (r->tot_len > len)
		return IPV4_ETRUNC;
	if (ip_compute_csum(buf, r->ihl) != 0)
		return IPV4_ECSUM;
	r->tos = buf[1];
	r->id = get_be16(buf + 4);
	uint16_t fo = get_be16(buf + 6);
	r->df = (fo & IP_DF) != 0;
	r->mf = (fo & IP_MF) != 0;
	r->frag_off = (uint16_t)((fo & IP_OFFMASK) << 3);
	r->ttl = buf[8];
	r->protocol = buf[9];
	r->check = get_be16(buf + 10);
	memcpy(&r->saddr, buf + 12, 4);
	memcpy(&r->daddr, buf + 16, 4);
	return IPV4_OK;
}

int ipv4_parse_quoted(const uint8_t *buf, size_t len, struct ip_repr *r)
{
	if (len < IPV4_HLEN)
		return IPV4_ESHORT;
	if ((buf[0] >> 4) != 4)
		return IPV4_EVERSION;
	r->ihl = (uint8_t)((buf[0] & 0x0f) * 4);
	if (r->ihl < IPV4_HLEN || r->ihl > len)
		return IPV4_EIHL;
	r->tos = buf[1];
	r->tot_len = get_be16(buf + 2);
	r->id = get_be16(buf + 4);
	uint16_t fo = get_be16(buf + 6);
	r->df = (fo & IP_DF) != 0;
	r->mf = (fo & IP_MF) != 0;
	r->frag_off = (uint16_t)((fo & IP_OFFMASK) << 3);
	r->ttl = buf[8];
	r->protocol = buf[9];
	r->check = get_be16(buf + 10);
	memcpy(&r->saddr, buf + 12, 4);
	memcpy(&r->daddr, buf + 16, 4);
	return IPV4_OK;
}

void ipv4_emit(uint8_t *buf, const struct ip_repr *r)
{
	buf[0] = (uint8_t)(0x40 | (r->ihl / 4));
	buf[1] = r->tos;
	put_be16(buf + 2, r->tot_len);
	put_be16(buf + 4, r->id);
	put_be16(buf + 6, (uint16_t)((r->df ? IP_DF : 0) | (r->mf ? IP_MF : 0) |
				     ((r->frag_off >> 3) & IP_OFFMASK)));
	buf[8] = r->ttl;
	buf[9] = r->protocol;
	put_be16(buf + 10, 0);
	memcpy(buf + 12, &r->saddr, 4);
	memcpy(buf + 16, &r->daddr, 4);
	put_be16(buf + 10, ip_compute_csum(buf, r->ihl));
}

void ipv4_decrease_ttl(uint8_t *hdr)
{
	uint16_t old = get_be16(hdr + 8);
	hdr[8]--;
	put_be16(hdr + 10, csum_replace2(get_be16(hdr + 10), old, get_be16(hdr + 8)));
}

void ipv4_set_frag(uint8_t *hdr, uint16_t frag_off_bytes, bool mf, uint16_t tot_len)
{
	uint16_t old_fo = get_be16(hdr + 6), old_len = get_be16(hdr + 2);
	uint16_t fo = (uint16_t)((old_fo & IP_DF) | (mf ? IP_MF : 0) | ((frag_off_bytes >> 3) & IP_OFFMASK));
	put_be16(hdr + 6, fo);
	put_be16(hdr + 2, tot_len);
	uint16_t c = csum_replace2(get_be16(hdr + 10), old_fo, fo);
	put_be16(hdr + 10, csum_replace2(c, old_len, tot_len));
}

static void set_addr(uint8_t *hdr, int off, uint32_t addr)
{
	uint32_t old = get_be32(hdr + off);
	memcpy(hdr + off, &addr, 4);
	put_be16(hdr + 10, csum_replace4(get_be16(hdr + 10), old, get_be32(hdr + off)));
}

void ipv4_set_saddr(uint8_t *hdr, uint32_t saddr)
{
	set_addr(hdr, 12, saddr);
}

void ipv4_set_daddr(uint8_t *hdr, uint32_t daddr)
{
	set_addr(hdr, 16, daddr);
}

void ipv4_refresh_csum(uint8_t *hdr)
{
	put_be16(hdr + 10, 0);
	put_be16(hdr + 10, ip_compute_csum(hdr, (size_t)(hdr[0] & 0x0f) * 4));
}

/* RFC 791 3.1; checks mirror Linux's ip_options_compile(). */
int ip_options_parse(const uint8_t *hdr, uint8_t ihl, struct ip_options *o, uint8_t *bad_off)
{
	memset(o, 0, sizeof(*o));
	o->optlen = (uint8_t)(ihl - IPV4_HLEN);
	unsigned off = IPV4_HLEN;
	while (off < ihl) {
		uint8_t type = hdr[off];
		if (type == IPOPT_END)
			break;
		if (type == IPOPT_NOOP) {
			off++;
			continue;
		}
		unsigned left = ihl - off;
		if (left < 2) {
			*bad_off = (uint8_t)off;
			return -1;
		}
		uint8_t optlen = hdr[off + 1];
		if (optlen < 2 || optlen > left) {
			*bad_off = (uint8_t)off; /* the option's type byte, as Linux */
			return -1;
		}
		const uint8_t *opt = hdr + off;
		switch (type) {
		case IPOPT_RR:
		case IPOPT_LSRR:
		case IPOPT_SSRR:
			if (optlen < 3) {
				*bad_off = (uint8_t)(off + 1);
				return -1;
			}
			if (opt[2] < 4) {
				*bad_off = (uint8_t)(off + 2);
				return -1;
			}
			if (opt[2] <= optlen && opt[2] + 3 > optlen) {
				*bad_off = (uint8_t)(off + 2);
				return -1;
			}
			if (type == IPOPT_RR) {
				if (o->rr) { /* at most once */
					*bad_off = (uint8_t)off;
					return -1;
				}
				o->rr = (uint8_t)off;
				o->rr_full = opt[2] > optlen;
			} else {
				if (o->srr) {
					*bad_off = (uint8_t)off;
					return -1;
				}
				o->srr = (uint8_t)off;
			}
			break;
		case IPOPT_TIMESTAMP: {
			if (optlen < 4) {
				*bad_off = (uint8_t)(off + 1);
				return -1;
			}
			if (opt[2] < 5) {
				*bad_off = (uint8_t)(off + 2);
				return -1;
			}
			if (o->ts) {
				*bad_off = (uint8_t)off;
				return -1;
			}
			uint8_t flag = opt[3] & 0x0f;
			if (flag != IPOPT_TS_TSONLY && flag != IPOPT_TS_TSANDADDR &&
			    flag != IPOPT_TS_PRESPEC) {
				*bad_off = (uint8_t)(off + 3);
				return -1;
			}
			unsigned need = flag == IPOPT_TS_TSONLY ? 4 : 8;
			if (opt[2] <= optlen) {
				if (opt[2] + need - 1 > optlen) {
					*bad_off = (uint8_t)(off + 2);
					return -1;
				}
			} else {
				o->ts_full = true;
				if ((opt[3] & 0xf0) == 0xf0) { /* overflow counter full */
					*bad_off = (uint8_t)(off + 3);
					return -1;
				}
			}
			o->ts = (uint8_t)off;
			break;
		}
		case IPOPT_RA:
			/* RFC 2113: value 0 means "examine"; others are
			 * reserved and ignored, as Linux does. */
			if (optlen < 4) {
				*bad_off = (uint8_t)(off + 1);
				return -1;
			}
			if (opt[2] == 0 && opt[3] == 0)
				o->router_alert = true;
			break;
		default:
			/* Unknown options are skipped by their length (RFC 1122
			 * 3.2.1.8: "MUST ignore options it does not recognize"). */
			break;
		}
		off += optlen;
	}
	return 0;
}

void ip_options_record_route(uint8_t *hdr, const struct ip_options *o, uint32_t addr)
{
	if (!o->rr)
		return;
	uint8_t *opt = hdr + o->rr;
	if (opt[2] + 3 > opt[1])
		return; /* full */
	memcpy(opt + opt[2] - 1, &addr, 4);
	opt[2] += 4;
}

void ip_options_timestamp(uint8_t *hdr, const struct ip_options *o, uint32_t addr, uint32_t ms)
{
	if (!o->ts)
		return;
	uint8_t *opt = hdr + o->ts;
	uint8_t flag = opt[3] & 0x0f;
	unsigned need = flag == IPOPT_TS_TSONLY ? 4 : 8;
	if (opt[2] + need - 1 > opt[1]) {
		/* RFC 791: no room, so count the overflow. */
		if ((opt[3] & 0xf0) != 0xf0)
			opt[3] = (uint8_t)(opt[3] + 0x10);
		return;
	}
	uint8_t *p = opt + opt[2] - 1;
	if (flag == IPOPT_TS_TSONLY) {
		put_be32(p, ms);
		opt[2] += 4;
	} else if (flag == IPOPT_TS_TSANDADDR) {
		memcpy(p, &addr, 4);
		put_be32(p + 4, ms);
		opt[2] += 8;
	} else if (memcmp(p, &addr, 4) == 0) { /* prespecified: only if ours */
		put_be32(p + 4, ms);
		opt[2] += 8;
	}
}

uint8_t ip_options_echo(const uint8_t *hdr, const struct ip_options *o, uint8_t *out)
{
	uint8_t n = 0;
	if (o->rr) {
		uint8_t l = hdr[o->rr + 1];
		memcpy(out + n, hdr + o->rr, l);
		n = (uint8_t)(n + l);
	}
	if (o->ts) {
		uint8_t l = hdr[o->ts + 1];
		if (n + l <= 40) {
			memcpy(out + n, hdr + o->ts, l);
			n = (uint8_t)(n + l);
		}
	}
	while (n & 3)
		out[n++] = IPOPT_END;
	return n;
}
