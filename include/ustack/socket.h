/*
 * ustack sockets: BSD socket semantics on a stack.
 *
 * Names, arguments, flags, option names and errno values are those of
 * POSIX/Linux (the system's <sys/socket.h>, <netinet/in.h>, <sys/epoll.h>,
 * <poll.h>, <linux/if_packet.h> structures and constants are used as they
 * are), so that code moves over by prefixing calls with us_ and passing the
 * stack. Every call returns -1 and sets errno on failure.
 *
 * Socket handles are small integers private to the stack (not kernel file
 * descriptors). Families and types: AF_INET SOCK_DGRAM (UDP), SOCK_STREAM
 * (TCP), SOCK_RAW (raw IP, any protocol number); AF_PACKET SOCK_RAW and
 * SOCK_DGRAM (frames of a device, like Linux's packet sockets).
 *
 * Blocking: without a stack thread (single-threaded use), a blocking call
 * runs the stack itself (polls devices and timers, sleeping in epoll on the
 * device fds, or advancing a virtual clock) until it can complete or its
 * timeout (SO_RCVTIMEO/SO_SNDTIMEO, the epoll/poll timeout) expires. With
 * us_stack_start_thread(), the stack runs in its own thread, any thread may
 * call any function, and blocking calls sleep on a condition variable;
 * us_close() from another thread wakes them with EBADF.
 */
#ifndef USTACK_SOCKET_H
#define USTACK_SOCKET_H

#include <poll.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "ustack.h"

#ifdef __cplusplus
extern "C" {
#endif

int us_socket(us_stack *s, int domain, int type, int protocol);
int us_bind(us_stack *s, int fd, const struct sockaddr *addr, socklen_t len);
int us_connect(us_stack *s, int fd, const struct sockaddr *addr, socklen_t len);
int us_listen(us_stack *s, int fd, int backlog);
int us_accept(us_stack *s, int fd, struct sockaddr *addr, socklen_t *len);
/* flags: SOCK_NONBLOCK */
int us_accept4(us_stack *s, int fd, struct sockaddr *addr, socklen_t *len, int flags);
ssize_t us_send(us_stack *s, int fd, const void *buf, size_t len, int flags);
ssize_t us_recv(us_stack *s, int fd, void *buf, size_t len, int flags);
ssize_t us_sendto(us_stack *s, int fd, const void *buf, size_t len, int flags,
		  const struct sockaddr *to, socklen_t tolen);
ssize_t us_recvfrom(us_stack *s, int fd, void *buf, size_t len, int flags,
		    struct sockaddr *from, socklen_t *fromlen);
ssize_t us_sendmsg(us_stack *s, int fd, const struct msghdr *msg, int flags);
ssize_t us_recvmsg(us_stack *s, int fd, struct msghdr *msg, int flags);
int us_shutdown(us_stack *s, int fd, int how);
/* TCP: with SO_LINGER on and a linger time, blocks (as Linux does, even on
 * a non-blocking socket) until the peer has acknowledged the FIN or the
 * time has passed, then returns 0; SO_LINGER with time 0 aborts with a
 * RST. The handle is gone either way. us_stack_free() never lingers. */
int us_close(us_stack *s, int fd);
int us_getsockname(us_stack *s, int fd, struct sockaddr *addr, socklen_t *len);
int us_getpeername(us_stack *s, int fd, struct sockaddr *addr, socklen_t *len);
int us_setsockopt(us_stack *s, int fd, int level, int name, const void *val, socklen_t len);
int us_getsockopt(us_stack *s, int fd, int level, int name, void *val, socklen_t *len);
int us_set_nonblocking(us_stack *s, int fd, bool on);
/* F_GETFL / F_SETFL with O_NONBLOCK, as fcntl(2). */
int us_fcntl(us_stack *s, int fd, int cmd, int arg);

/* Readiness, with Linux's epoll semantics (level- and edge-triggered,
 * EPOLLONESHOT, the masks each socket state reports). An epoll instance is
 * itself a handle, closed with us_close(). */
int us_epoll_create(us_stack *s);
int us_epoll_ctl(us_stack *s, int epfd, int op, int fd, struct epoll_event *ev);
int us_epoll_wait(us_stack *s, int epfd, struct epoll_event *events, int maxevents,
		  int timeout_ms);
int us_poll(us_stack *s, struct pollfd *fds, nfds_t nfds, int timeout_ms);

/* Runs the stack in a thread of its own (real clock only); from then on
 * every call may come from any thread. Stop it before us_stack_free(). */
int us_stack_start_thread(us_stack *s);
int us_stack_stop_thread(us_stack *s);

#ifdef __cplusplus
}
#endif
#endif
