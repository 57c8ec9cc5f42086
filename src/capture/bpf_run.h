/*
 * Running the classic BPF programs that libpcap compiles from tcpdump
 * expressions (pcap_compile), on frames in place.
 *
 * libpcap compiles; the tap runs the program for every frame of every
 * captured device, so the run is on the hot path. libpcap's bpf_filter()
 * costs about 115 instructions on a 60-byte frame for "tcp port 80" (a
 * call through the PLT into a general switch-dispatched interpreter);
 * this one decodes the program once into threaded code (each instruction
 * holds the address of its handler and its jump targets, GNU C computed
 * gotos) and costs a few instructions per BPF instruction. It implements
 * exactly the classic instruction set with libpcap's semantics
 * (out-of-range loads and division by zero reject the frame), and takes
 * only programs it has checked: any other (an opcode it does not know)
 * runs through libpcap's bpf_filter() instead.
 * tests/capture/test_capture.c compares the two on thousands of frames
 * and filters.
 */
#ifndef US_BPF_RUN_H
#define US_BPF_RUN_H

#include <pcap/pcap.h> /* (pcap/bpf.h needs its types) */
#include <stdbool.h>
#include <stdint.h>

struct capbpf_op;

struct capbpf {
	const struct bpf_insn *insns; /* NULL: every frame passes */
	unsigned len;
	struct capbpf_op *ops;        /* decoded, when run natively */
	bool uses_mem;                /* scratch memory is read: zeroed per run */
};

/* Checks and decodes insns for native running (falls back to libpcap's
 * bpf_filter for what it cannot check). insns must outlive p. 0, or
 * -ENOMEM. */
int capbpf_init(struct capbpf *p, const struct bpf_insn *insns, unsigned len);
void capbpf_free(struct capbpf *p);
static inline bool capbpf_native(const struct capbpf *p)
{
	return p->ops != NULL;
}
/* The interpreter (bpf_run.c): runs p (decoded) on pkt. (Without p, it
 * serves the decoder.) */
unsigned capbpf_engine(const struct capbpf *p, const uint8_t *pkt, unsigned wirelen,
		       unsigned buflen);
/* The program's verdict by the interpreter (a decoded program): 0 rejects,
 * else the number of bytes to keep. */
static inline unsigned capbpf_exec(const struct capbpf *p, const uint8_t *pkt, unsigned wirelen,
				   unsigned buflen)
{
	return capbpf_engine(p, pkt, wirelen, buflen);
}

/* The verdict: interpreted here, or by libpcap. */
static inline unsigned capbpf_run(const struct capbpf *p, const uint8_t *pkt, unsigned wirelen,
				  unsigned buflen)
{
	if (!p->insns)
		return ~0u;
	if (p->ops)
		return capbpf_exec(p, pkt, wirelen, buflen);
	return bpf_filter(p->insns, pkt, wirelen, buflen);
}

#endif
