/*
 * Packet capture, as tcpdump does it on Linux: a tap in the device layer
 * (ptype_all) sees every frame a device receives and transmits; a filter in
 * tcpdump's expression language, compiled by libpcap, runs on the frame in
 * place, and only frames it accepts are copied (up to the snap length) into
 * a bounded buffer that is written as pcap or pcapng.
 *
 * Outputs: a regular file (optionally rotated by size, like tcpdump -C/-W),
 * a FIFO (opened without blocking; the capture buffers until a reader
 * comes), or a file descriptor (a pipe, a socket, stdout). Pipes, FIFOs and
 * sockets are written without ever blocking: when the consumer is slow and
 * the buffer is full, packets are dropped and counted, and the stack goes on.
 *
 * Link types: an Ethernet device is captured as DLT_EN10MB, a TUN device or
 * the loopback (IP packets without a link header) as DLT_RAW. A capture on
 * every device ("any") is written in Linux "cooked" form (DLT_LINUX_SLL),
 * as tcpdump -i any does (in pcapng with one interface block per device,
 * named). libpcap cannot read a file whose interfaces have different link
 * types, so none is written. See docs/CAPTURE.md.
 *
 * Timestamps: wall-clock time (the stack's monotonic clock plus the offset
 * to CLOCK_REALTIME taken when the capture starts, so they never jump
 * backwards); a stack on a virtual clock gets its virtual time unchanged.
 *
 * Every call behaves like the rest of the public API: -1 with errno set on
 * failure; the start call also explains in err (one line).
 */
#ifndef USTACK_CAPTURE_H
#define USTACK_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ustack/ustack.h"

#ifdef __cplusplus
extern "C" {
#endif

enum us_capture_link {
	US_CAPTURE_LINK_AUTO = 0, /* from the device */
	US_CAPTURE_LINK_ETHER,    /* DLT_EN10MB */
	US_CAPTURE_LINK_RAW,      /* DLT_RAW: IP packets (TUN, loopback) */
};

enum us_capture_dir {          /* tcpdump -Q */
	US_CAPTURE_INOUT = 0,
	US_CAPTURE_IN,
	US_CAPTURE_OUT,
};

#define US_CAPTURE_SNAPLEN_DEFAULT 262144u /* as tcpdump */
#define US_CAPTURE_BUFFER_DEFAULT (2u << 20)  /* as libpcap's -B default */

struct us_capture_opts {
	/* Where to write: a path (a regular file, created or truncated, or
	 * an existing FIFO), or, when path is NULL, the file descriptor fd
	 * (duplicated; the caller keeps and closes its own). */
	const char *path;
	int fd;
	/* The device by name; NULL: the first device that is not the
	 * loopback (as tcpdump picks one); "any": every device. A device
	 * that does not exist yet may be named if link says what it will
	 * be: its frames are captured once it appears. */
	const char *dev;
	enum us_capture_link link;
	/* A tcpdump filter expression ("icmp", "tcp port 80 and host
	 * 10.0.0.1"); NULL or "": every frame. */
	const char *filter;
	unsigned snaplen;        /* bytes kept of each frame; 0: 262144 */
	enum us_capture_dir direction;
	bool pcapng;             /* pcapng instead of pcap */
	/* Rotation (regular files only): once the current file has more
	 * than rotate_bytes, the next frame goes to a new file: path, path1,
	 * path2... (tcpdump -C). With rotate_files N > 0 the names are
	 * path0..path{N-1}, reused in a ring (tcpdump -W). */
	uint64_t rotate_bytes;
	unsigned rotate_files;
	/* Bytes of frames held while the output is slow; 0: 2 MiB. */
	size_t buffer_bytes;
	/* Longest a captured frame waits in the buffer; 0: 100 ms. */
	unsigned flush_ms;
};

struct us_capture_stats {
	uint64_t seen;       /* frames on the captured devices and direction */
	uint64_t matched;    /* accepted by the filter (tcpdump's "received by filter") */
	uint64_t captured;   /* written, or queued to be written */
	uint64_t dropped;    /* lost: the buffer was full or the output failed */
	uint64_t bytes;      /* bytes handed to the output (headers included) */
	unsigned files;      /* files opened (rotation) */
	bool running;        /* false once stopped or after an output error */
	int error;           /* the errno that stopped the output, or 0 */
};

/* What the capture list shows. Strings are valid during the callback. */
struct us_capture_info {
	int id;
	const char *dev;     /* "any" for every device */
	const char *output;  /* path, or "fd N" */
	const char *filter;  /* "" for none */
	const char *link;    /* "EN10MB", "RAW" or "LINUX_SLL" */
	const char *format;  /* "pcap" or "pcapng" */
	unsigned snaplen;
	struct us_capture_stats stats;
};

/* Starts a capture. Returns its id (1, 2, ...), or -1 with errno (EINVAL:
 * a bad filter or option, ENODEV: no such device, EACCES/ENOENT...: the
 * output could not be opened) and a one-line explanation in err (which
 * may be NULL). */
int us_capture_start(us_stack *s, const struct us_capture_opts *opts, char *err, size_t errlen);
/* Stops it: the buffer is flushed (a pipe gets up to 100 ms to take it),
 * files are closed. Its final counters go to *st if st is not NULL. */
int us_capture_stop(us_stack *s, int id, struct us_capture_stats *st);
int us_capture_stats(us_stack *s, int id, struct us_capture_stats *st);
/* Writes out what is buffered now (without blocking on pipes). */
int us_capture_flush(us_stack *s, int id);
typedef void (*us_capture_fn)(void *arg, const struct us_capture_info *ci);
void us_capture_foreach(us_stack *s, us_capture_fn fn, void *arg);

/* Compiles a filter for a link type without capturing: 0, or -1/EINVAL
 * with libpcap's message in err. */
int us_capture_check_filter(const char *expr, enum us_capture_link link, char *err,
			    size_t errlen);

/* Parses a rotation size as tcpdump -C does: a number of millions of
 * bytes, or with a suffix k/K, m/M, g/G of KiB, MiB, GiB ("10", "512k",
 * "1.5m"). 0, or -1/EINVAL. */
int us_capture_parse_size(const char *str, uint64_t *bytes);

#ifdef __cplusplus
}
#endif
#endif
