/*
 * Congestion control ops (Linux's tcp_cong.c). Reno: slow start and
 * congestion avoidance of RFC 5681 3.1; loss recovery (NewReno, RFC 6582)
 * is in tcp_input.c, common to every algorithm.
 */
#include <stdio.h>
#include <string.h>

#include "tcp.h"

/* RFC 5681 eq. 4: ssthresh = max(FlightSize / 2, 2 * SMSS). */
static uint32_t reno_ssthresh(struct tcp_sock *tp)
{
	uint32_t flight = tcp_packets_in_flight(tp);
	if (flight < tp->snd_cwnd / 2)
		flight = tp->snd_cwnd / 2; /* an application-limited flight */
	uint32_t half = flight / 2;
	return half > 2 ? half : 2;
}

/* Slow start adds a segment per segment acked, up to ssthresh; congestion
 * avoidance a segment per window (tcp_slow_start, tcp_cong_avoid_ai). */
static void reno_cong_avoid(struct tcp_sock *tp, uint32_t acked)
{
	if (tp->snd_cwnd < tp->snd_ssthresh) {
		uint32_t cwnd = tp->snd_cwnd + acked;
		if (cwnd > tp->snd_ssthresh) {
			acked = cwnd - tp->snd_ssthresh;
			cwnd = tp->snd_ssthresh;
		} else {
			acked = 0;
		}
		tp->snd_cwnd = cwnd;
		if (!acked)
			return;
	}
	tp->snd_cwnd_cnt += acked;
	if (tp->snd_cwnd_cnt >= tp->snd_cwnd) {
		uint32_t inc = tp->snd_cwnd_cnt / tp->snd_cwnd;
		tp->snd_cwnd_cnt -= inc * tp->snd_cwnd;
		tp->snd_cwnd += inc;
	}
	if (tp->snd_cwnd > 100000)
		tp->snd_cwnd = 100000;
}

const struct tcp_cong_ops tcp_reno = {
	.name = "reno",
	.ssthresh = reno_ssthresh,
	.cong_avoid = reno_cong_avoid,
};

static const struct tcp_cong_ops *const tcp_cong_list[] = { &tcp_reno };

int tcp_cong_list_names(char *buf, size_t len)
{
	int n = 0;
	for (size_t i = 0; i < sizeof(tcp_cong_list) / sizeof(tcp_cong_list[0]); i++) {
		int w = snprintf(buf + (n < (int)len ? n : (int)len), n < (int)len ? len - (size_t)n : 0,
				 "%s%s", i ? " " : "", tcp_cong_list[i]->name);
		n += w > 0 ? w : 0;
	}
	return n;
}

const struct tcp_cong_ops *tcp_cong_find(const char *name)
{
	for (size_t i = 0; i < sizeof(tcp_cong_list) / sizeof(tcp_cong_list[0]); i++)
		if (!strcmp(tcp_cong_list[i]->name, name))
			return tcp_cong_list[i];
	return NULL;
}
