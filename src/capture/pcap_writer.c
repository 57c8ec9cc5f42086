/*
 * pcap and pcapng files, written from a bounded buffer.
 *
 * pcap: https://www.tcpdump.org/manpages/pcap-savefile.5.html (magic
 * 0xa1b2c3d4 in host order, microsecond timestamps).
 * pcapng: draft-ietf-opsawg-pcapng (SHB, one IDB per interface with
 * if_tsresol 9 = nanoseconds, EPBs with epb_flags for the direction).
 */
#define _GNU_SOURCE
#include "pcap_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PCAP_MAGIC 0xa1b2c3d4u
#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_IDB 0x00000001u
#define PCAPNG_EPB 0x00000006u
#define PCAPNG_BOM 0x1A2B3C4Du

#define REC_MAX_OVERHEAD 64   /* record framing beyond the packet bytes */
#define IDB_MAX 64            /* an IDB with an if_name of up to 15 bytes */
#define BUF_MIN (64u << 10)

static const char ustack_appl[] = "ustack";

static void set_err(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, a, b);
}

/* ---- the buffer ---- */

static uint8_t *reserve(struct capw *w, size_t n)
{
	if (w->len + n > w->cap)
		return NULL;
	if (w->off + w->len + n > w->cap) {
		memmove(w->buf, w->buf + w->off, w->len);
		w->off = 0;
	}
	return w->buf + w->off + w->len;
}

static void commit(struct capw *w, size_t n)
{
	w->len += n;
	w->file_bytes += n;
	w->bytes += n;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
	return p + 4;
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
	return p + 2;
}

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* A pcapng option: code, length, value padded to 4 bytes. */
static uint8_t *put_opt(uint8_t *p, uint16_t code, const void *val, uint16_t len)
{
	p = put16(p, code);
	p = put16(p, len);
	memcpy(p, val, len);
	memset(p + len, 0, pad4(len) - len);
	return p + pad4(len);
}

/* ---- headers ---- */

static size_t file_header(struct capw *w, uint8_t *p)
{
	uint8_t *s = p;
	if (!w->pcapng) {
		p = put32(p, PCAP_MAGIC);
		p = put16(p, 2);                 /* version 2.4 */
		p = put16(p, 4);
		p = put32(p, 0);                 /* thiszone */
		p = put32(p, 0);                 /* sigfigs */
		p = put32(p, w->snaplen);
		p = put32(p, w->linktype);
		return (size_t)(p - s);
	}
	uint32_t len = 28 + 4 + (uint32_t)pad4(sizeof(ustack_appl) - 1) + 4;
	p = put32(p, PCAPNG_SHB);
	p = put32(p, len);
	p = put32(p, PCAPNG_BOM);
	p = put16(p, 1);
	p = put16(p, 0);
	p = put32(p, 0xffffffffu);               /* section length unknown */
	p = put32(p, 0xffffffffu);
	p = put_opt(p, 4, ustack_appl, sizeof(ustack_appl) - 1); /* shb_userappl */
	p = put32(p, 0);                         /* opt_endofopt */
	p = put32(p, len);
	return (size_t)(p - s);
}

static size_t idb_size(const char *name)
{
	size_t nl = name ? strlen(name) : 0;
	return 16 + (nl ? 4 + pad4(nl) : 0) + 8 /* if_tsresol */ + 4 /* end */ + 4;
}

static size_t idb_write(uint8_t *p, const char *name, uint16_t linktype, unsigned snaplen)
{
	uint8_t *s = p;
	uint32_t len = (uint32_t)idb_size(name);
	uint8_t tsresol = 9; /* 10^-9 s */
	p = put32(p, PCAPNG_IDB);
	p = put32(p, len);
	p = put16(p, linktype);
	p = put16(p, 0);
	p = put32(p, snaplen);
	if (name && *name)
		p = put_opt(p, 2, name, (uint16_t)strlen(name)); /* if_name */
	p = put_opt(p, 9, &tsresol, 1);                          /* if_tsresol */
	p = put32(p, 0);
	p = put32(p, len);
	return (size_t)(p - s);
}

static int iface_lookup(const struct capw *w, int ifindex)
{
	for (unsigned i = 0; i < w->nifs; i++)
		if (w->ifs[i].ifindex == ifindex)
			return (int)i;
	return -1;
}

static int iface_remember(struct capw *w, int ifindex, uint16_t linktype)
{
	if (w->nifs == w->ifcap) {
		unsigned ncap = w->ifcap ? w->ifcap * 2 : 8;
		struct capw_iface *n = realloc(w->ifs, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		w->ifs = n;
		w->ifcap = ncap;
	}
	w->ifs[w->nifs].ifindex = ifindex;
	w->ifs[w->nifs].linktype = linktype;
	return (int)w->nifs++;
}

/* ---- output ---- */

void capw_file_name(const char *base, unsigned n, unsigned rotate_files, char *out, size_t len)
{
	if (rotate_files) {
		int width = 0;
		for (unsigned v = rotate_files; v; v /= 10)
			width++;
		snprintf(out, len, "%s%0*u", base, width, n);
	} else if (n == 0) {
		snprintf(out, len, "%s", base);
	} else {
		snprintf(out, len, "%s%u", base, n);
	}
}

static int open_file(struct capw *w, char *err, size_t errlen)
{
	char name[4096 + 16];
	if (w->rotate_bytes)
		capw_file_name(w->path, w->file_no, w->rotate_files, name, sizeof(name));
	else
		snprintf(name, sizeof(name), "%s", w->path);
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0) {
		int e = errno;
		set_err(err, errlen, "cannot open '%s': %s", name, strerror(e));
		return -e;
	}
	w->fd = fd;
	w->files++;
	w->file_bytes = 0;
	w->file_records = 0;
	w->nifs = 0;
	return 0;
}

/* Opens the FIFO for writing if a reader has it open (never blocks). */
static int open_fifo(struct capw *w)
{
	int fd = open(w->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENXIO) { /* no reader yet */
			w->waiting = true;
			return 0;
		}
		return -errno;
	}
	w->fd = fd;
	w->waiting = false;
	w->files = 1;
	return 0;
}

/* A pipe (or terminal) we were handed: our own open file description
 * when the kernel gives one (so that O_NONBLOCK does not change the
 * caller's), else the caller's, made non-blocking. */
static int own_pipe_fd(int fd)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	int nfd = open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (nfd >= 0) {
		struct stat a, b;
		if (fstat(nfd, &a) == 0 && fstat(fd, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			return nfd;
		close(nfd);
	}
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return -errno;
	int fl = fcntl(nfd, F_GETFL);
	if (fl < 0 || fcntl(nfd, F_SETFL, fl | O_NONBLOCK) < 0) {
		int e = errno;
		close(nfd);
		return -e;
	}
	return nfd;
}

/* write() to a pipe without SIGPIPE reaching the process: the signal is
 * blocked in this thread for the call and a SIGPIPE it raised is taken
 * back, as libraries that write to pipes must (no global disposition is
 * changed). */
static ssize_t pipe_write(int fd, const void *buf, size_t n)
{
	sigset_t set, old, pending;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	bool was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	ssize_t r = write(fd, buf, n);
	int e = errno;
	if (r < 0 && e == EPIPE && !was_pending) {
		struct timespec zero = { 0, 0 };
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return r;
}

static ssize_t out_write(struct capw *w, const void *buf, size_t n)
{
	switch (w->kind) {
	case CAPW_SOCKET:
		return send(w->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	case CAPW_PIPE:
		return pipe_write(w->fd, buf, n);
	default:
		return write(w->fd, buf, n);
	}
}

static void fail(struct capw *w, int e)
{
	if (w->failed)
		return;
	w->failed = true;
	w->error = e;
	w->waiting = false;
	w->off = w->len = 0;
}

int capw_open(struct capw *w, const struct capw_cfg *cfg, char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->pcapng = cfg->pcapng;
	w->linktype = cfg->linktype;
	w->snaplen = cfg->snaplen;
	w->rotate_bytes = cfg->rotate_bytes;
	w->rotate_files = cfg->rotate_files;
	size_t cap = cfg->buffer_bytes;
	if (cap < BUF_MIN)
		cap = BUF_MIN;
	if (cap < (size_t)cfg->snaplen + SLL_HDR_LEN + REC_MAX_OVERHEAD + IDB_MAX + 4096)
		cap = (size_t)cfg->snaplen + SLL_HDR_LEN + REC_MAX_OVERHEAD + IDB_MAX + 4096;
	w->buf = malloc(cap);
	if (!w->buf) {
		set_err(err, errlen, "out of memory%s%s", "", "");
		return -ENOMEM;
	}
	w->cap = cap;

	int r = 0;
	if (cfg->path) {
		w->path = strdup(cfg->path);
		if (!w->path) {
			capw_close(w);
			set_err(err, errlen, "out of memory%s%s", "", "");
			return -ENOMEM;
		}
		struct stat st;
		if (stat(cfg->path, &st) == 0 && S_ISFIFO(st.st_mode)) {
			w->kind = CAPW_PIPE;
			if (w->rotate_bytes) {
				set_err(err, errlen, "'%s' is a FIFO: rotation needs regular files%s",
					cfg->path, "");
				capw_close(w);
				return -EINVAL;
			}
			r = open_fifo(w);
			if (r < 0)
				set_err(err, errlen, "cannot open '%s': %s", cfg->path, strerror(-r));
		} else if (stat(cfg->path, &st) == 0 && S_ISCHR(st.st_mode)) {
			/* /dev/null, a terminal: never waited on. */
			w->kind = CAPW_PIPE;
			if (w->rotate_bytes) {
				set_err(err, errlen, "'%s' is a device: rotation needs regular files%s",
					cfg->path, "");
				r = -EINVAL;
			} else {
				int fd = open(cfg->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
				if (fd < 0) {
					r = -errno;
					set_err(err, errlen, "cannot open '%s': %s", cfg->path, strerror(errno));
				} else {
					w->fd = fd;
					w->files = 1;
				}
			}
		} else if (stat(cfg->path, &st) == 0 && !S_ISREG(st.st_mode)) {
			set_err(err, errlen, "'%s' is not a file or a FIFO%s", cfg->path, "");
			r = -EINVAL;
		} else {
			w->kind = CAPW_FILE;
			r = open_file(w, err, errlen);
		}
	} else {
		struct stat st;
		if (cfg->fd < 0 || fstat(cfg->fd, &st) < 0) {
			set_err(err, errlen, "bad output file descriptor%s%s", "", "");
			capw_close(w);
			return -EBADF;
		}
		if (w->rotate_bytes) {
			set_err(err, errlen, "rotation needs a file name, not a descriptor%s%s", "", "");
			capw_close(w);
			return -EINVAL;
		}
		if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
			/* A pipe, a terminal: written without blocking. */
			w->kind = CAPW_PIPE;
			r = own_pipe_fd(cfg->fd);
		} else {
			w->kind = S_ISSOCK(st.st_mode) ? CAPW_SOCKET : CAPW_FILE;
			r = fcntl(cfg->fd, F_DUPFD_CLOEXEC, 3);
			if (r < 0)
				r = -errno;
		}
		if (r >= 0) {
			w->fd = r;
			w->files = 1;
			r = 0;
		} else {
			set_err(err, errlen, "cannot use the output descriptor: %s%s", strerror(-r), "");
		}
	}
	if (r < 0) {
		capw_close(w);
		return r;
	}
	uint8_t *p = reserve(w, 64);
	commit(w, file_header(w, p));
	return 0;
}

int capw_add_iface(struct capw *w, int ifindex, const char *ifname, uint16_t linktype)
{
	if (!w->pcapng || iface_lookup(w, ifindex) >= 0)
		return 0;
	if (w->failed)
		return -EIO;
	uint8_t *p = reserve(w, IDB_MAX);
	if (!p)
		return -ENOBUFS;
	int id = iface_remember(w, ifindex, linktype);
	if (id < 0)
		return id;
	commit(w, idb_write(p, ifname, linktype, w->snaplen));
	return 0;
}

void capw_rename_iface(struct capw *w, int from, int to)
{
	for (unsigned i = 0; i < w->nifs; i++)
		if (w->ifs[i].ifindex == from)
			w->ifs[i].ifindex = to;
}

static int rotate(struct capw *w)
{
	int r = capw_flush(w, 0);
	if (r < 0)
		return r;
	close(w->fd);
	w->fd = -1;
	w->file_no++;
	if (w->rotate_files && w->file_no >= w->rotate_files)
		w->file_no = 0;
	r = open_file(w, NULL, 0);
	if (r < 0) {
		fail(w, -r);
		return r;
	}
	uint8_t *p = reserve(w, 64);
	commit(w, file_header(w, p));
	return 0;
}

int capw_add(struct capw *w, const struct capw_rec *r)
{
	if (w->failed)
		return -EIO;
	/* tcpdump -C: before writing a packet, if the file is already larger
	 * than the limit, continue in a new one. */
	if (w->rotate_bytes && w->file_records && w->file_bytes > w->rotate_bytes) {
		int e = rotate(w);
		if (e < 0)
			return -EIO;
	}
	uint32_t total = r->hdrlen + r->datalen;
	uint32_t caplen = total < w->snaplen ? total : w->snaplen;
	uint32_t origlen = r->hdrlen + r->wirelen;
	int ifid = 0;
	size_t idb = 0;
	if (w->pcapng) {
		ifid = iface_lookup(w, r->ifindex);
		if (ifid < 0)
			idb = idb_size(r->ifname);
	}
	size_t need = idb + (w->pcapng ? 28 + pad4(caplen) + 16 : 16 + caplen);
	uint8_t *p = reserve(w, need);
	if (!p && w->kind == CAPW_FILE) {
		/* A file is written through: make room now. */
		if (capw_flush(w, 0) < 0)
			return -EIO;
		p = reserve(w, need);
	}
	if (!p)
		return -ENOBUFS;
	uint8_t *s = p;
	if (idb) {
		ifid = iface_remember(w, r->ifindex, r->if_linktype);
		if (ifid < 0)
			return -ENOBUFS;
		p += idb_write(p, r->ifname, r->if_linktype, w->snaplen);
	}
	uint32_t hcopy = caplen < r->hdrlen ? caplen : r->hdrlen;
	if (!w->pcapng) {
		p = put32(p, (uint32_t)(r->ts_ns / 1000000000u));
		p = put32(p, (uint32_t)(r->ts_ns % 1000000000u / 1000u));
		p = put32(p, caplen);
		p = put32(p, origlen);
		if (hcopy)
			memcpy(p, r->hdr, hcopy);
		memcpy(p + hcopy, r->data, caplen - hcopy);
		p += caplen;
	} else {
		uint32_t blen = 28 + (uint32_t)pad4(caplen) + 16;
		p = put32(p, PCAPNG_EPB);
		p = put32(p, blen);
		p = put32(p, (uint32_t)ifid);
		p = put32(p, (uint32_t)(r->ts_ns >> 32));
		p = put32(p, (uint32_t)r->ts_ns);
		p = put32(p, caplen);
		p = put32(p, origlen);
		if (hcopy)
			memcpy(p, r->hdr, hcopy);
		memcpy(p + hcopy, r->data, caplen - hcopy);
		memset(p + caplen, 0, pad4(caplen) - caplen);
		p += pad4(caplen);
		p = put_opt(p, 2, &r->epb_flags, 4); /* epb_flags */
		p = put32(p, 0);
		p = put32(p, blen);
	}
	commit(w, (size_t)(p - s));
	w->file_records++;
	return 0;
}

int capw_flush(struct capw *w, unsigned wait_ms)
{
	if (w->failed)
		return -w->error;
	if (w->waiting) {
		int r = open_fifo(w);
		if (r < 0) {
			fail(w, -r);
			return r;
		}
		if (w->waiting)
			return 0;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (w->len) {
		ssize_t n = out_write(w, w->buf + w->off, w->len);
		if (n > 0) {
			w->off += (size_t)n;
			w->len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && w->kind != CAPW_FILE) {
			if (!wait_ms)
				break;
			struct timespec t;
			clock_gettime(CLOCK_MONOTONIC, &t);
			long spent = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
			if (spent >= (long)wait_ms)
				break;
			struct pollfd pfd = { .fd = w->fd, .events = POLLOUT };
			poll(&pfd, 1, (int)((long)wait_ms - spent));
			continue;
		}
		fail(w, n < 0 ? errno : EIO);
		return -w->error;
	}
	if (!w->len)
		w->off = 0;
	return 0;
}

size_t capw_close(struct capw *w)
{
	size_t left = w->len;
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	free(w->buf);
	free(w->path);
	free(w->ifs);
	w->buf = NULL;
	w->path = NULL;
	w->ifs = NULL;
	w->len = w->off = 0;
	return left;
}
