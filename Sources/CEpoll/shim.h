#ifndef BREAKERD_CEPOLL_SHIM_H
#define BREAKERD_CEPOLL_SHIM_H
/* Linux's epoll and eventfd, which Glibc's Swift module does not export; BreakerServer's own
   event loops (EpollServer) are built on them. Linux only. */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

/* accept4(2) is declared only under _GNU_SOURCE, which the Glibc module is not built with. */
static inline int breakerd_accept4(int fd, int flags) {
    return (int)syscall(SYS_accept4, fd, (void *)0, (void *)0, flags);
}
#endif
