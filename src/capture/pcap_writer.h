/*
 * The capture writer: pcap or pcapng records into a bounded buffer, and
 * the buffer into an output that is a regular file (written through,
 * rotated by size as tcpdump -C/-W does), a FIFO (opened without blocking,
 * buffered until a reader comes) or a pipe/socket given by descriptor.
 * Pipes, FIFOs and sockets are written without blocking: a record that
 * does not fit in the buffer is refused and the caller counts it dropped.
 * No signal is raised when a pipe's reader goes away (EPIPE ends the
 * output instead).
 */
#ifndef US_PCAP_WRITER_H
#define US_PCAP_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Link types as written in files (LINKTYPE_*, tcpdump.org/linktypes). */
#define LINKTYPE_ETHERNET 1
#define LINKTYPE_RAW 101
#define LINKTYPE_LINUX_SLL 113

#define SLL_HDR_LEN 16

enum capw_kind {
	CAPW_FILE,   /* regular file: written through */
	CAPW_PIPE,   /* pipe, FIFO, character device: non-blocking write() */
	CAPW_SOCKET, /* socket: send(MSG_DONTWAIT | MSG_NOSIGNAL) */
};

struct capw_iface {
	int ifindex;
	uint16_t linktype;
};

struct capw_cfg {
	const char *path;        /* or NULL and fd */
	int fd;
	bool pcapng;
	uint16_t linktype;       /* pcap: the file's link type */
	unsigned snaplen;
	uint64_t rotate_bytes;   /* 0: none */
	unsigned rotate_files;   /* 0: unlimited names */
	size_t buffer_bytes;
};

struct capw {
	int fd;                  /* -1 while a FIFO waits for a reader, or once closed */
	enum capw_kind kind;
	bool waiting;            /* FIFO opened before any reader */
	bool failed;
	int error;               /* errno that ended the output */
	char *path;
	bool pcapng;
	uint16_t linktype;
	unsigned snaplen;
	uint8_t *buf;
	size_t cap, off, len;    /* pending bytes are buf[off, off + len) */
	uint64_t file_bytes;     /* bytes of the current file, written or pending */
	uint64_t file_records;
	uint64_t rotate_bytes;
	unsigned rotate_files, file_no, files;
	uint64_t bytes;          /* bytes accepted in total */
	struct capw_iface *ifs;  /* pcapng: interfaces described in this file */
	unsigned nifs, ifcap;
};

/* One record. A pcapng interface is described (an IDB written) the first
 * time its ifindex appears in a file. */
struct capw_rec {
	int ifindex;
	const char *ifname;
	uint16_t if_linktype;    /* pcapng: the interface's link type */
	uint64_t ts_ns;          /* wall clock, ns since the epoch */
	const uint8_t *hdr;      /* bytes put in front of data (a cooked header), or NULL */
	uint32_t hdrlen;
	const uint8_t *data;
	uint32_t datalen;        /* bytes available at data */
	uint32_t wirelen;        /* length of the frame on the wire (without hdr) */
	uint32_t epb_flags;      /* pcapng direction and reception type */
};

/* Opens the output and queues the file header. 0, or a negative errno
 * with a one-line message in err. */
int capw_open(struct capw *w, const struct capw_cfg *cfg, char *err, size_t errlen);
/* Describes an interface now (pcapng; a no-op for pcap). */
int capw_add_iface(struct capw *w, int ifindex, const char *ifname, uint16_t linktype);
/* The interface described as ifindex from becomes ifindex to. */
void capw_rename_iface(struct capw *w, int from, int to);
/* Queues one record: 0, or -ENOBUFS when it does not fit (dropped), or
 * -EIO once the output has failed. */
int capw_add(struct capw *w, const struct capw_rec *r);
/* Writes what is pending: files completely, pipes and sockets as far as
 * they take it without blocking. With wait_ms, a pipe is given up to that
 * long (this is for stopping, never for the packet path). 0, or the
 * negative errno that ended the output. */
int capw_flush(struct capw *w, unsigned wait_ms);
static inline bool capw_pending(const struct capw *w)
{
	return !w->failed && (w->len > 0 || w->waiting);
}
/* Frees everything; pending bytes that could not be written are counted
 * in the return value (bytes). */
size_t capw_close(struct capw *w);

/* The name of rotation file n (tcpdump's MakeFilename). */
void capw_file_name(const char *base, unsigned n, unsigned rotate_files, char *out, size_t len);

#endif
