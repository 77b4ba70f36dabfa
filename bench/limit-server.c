// The loopback limit: a plain epoll server that answers every line it reads with one fixed
// reply, doing no other work. What breakerd (or Redis) costs beyond it is the cost of being a
// server that does something; bench/compare.sh prints both ratios.
//
//   cc -O2 -o limit-server bench/limit-server.c
//   limit-server PORT [REPLY]     (PORT 0: a free port; prints "limit listening on 127.0.0.1:N";
//                                  REPLY without its newline)
//
// One thread, level-triggered, as breakerd's epoll loops: per ready socket at most one 16 KiB
// read, then one write of the replies for the complete lines in it (a partial line waits for
// its end). Replies that do not fit in the socket buffer are kept and written when it drains.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_SIZE 16384
#define MAX_FD 65536

struct conn {
    char *out;         // replies not yet written
    size_t out_len, out_cap;
    int watching_out;  // EPOLLOUT is in the interest set
};

static struct conn conns[MAX_FD];
static const char *reply = "{\"ok\":true,\"decision\":\"attempt\",\"state\":\"closed\",\"cache_ms\":100}\n";
static size_t reply_len;

static void drop(int ep, int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    free(conns[fd].out);
    memset(&conns[fd], 0, sizeof conns[fd]);
}

static int flush_out(int ep, int fd) {
    struct conn *c = &conns[fd];
    while (c->out_len > 0) {
        ssize_t n = write(fd, c->out, c->out_len);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            return -1;
        }
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    int want = c->out_len > 0;
    if (want != c->watching_out) {  // a system call only when the interest changes
        struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
        c->watching_out = want;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s PORT [REPLY]\n", argv[0]); return 2; }
    if (argc > 2) {  // the line without its newline
        char *line = malloc(strlen(argv[2]) + 2);
        strcpy(line, argv[2]);
        strcat(line, "\n");
        reply = line;
    }
    reply_len = strlen(reply);
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 1024) != 0) { perror("listen"); return 1; }
    socklen_t len = sizeof addr;
    getsockname(lfd, (struct sockaddr *)&addr, &len);
    printf("limit listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    static char in[READ_SIZE];
    struct epoll_event events[256];
    for (;;) {
        int ready = epoll_wait(ep, events, 256, -1);
        if (ready < 0) { if (errno == EINTR) continue; perror("epoll_wait"); return 1; }
        for (int i = 0; i < ready; i++) {
            int fd = events[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    if (c >= MAX_FD) { close(c); continue; }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            struct conn *c = &conns[fd];
            if (events[i].events & EPOLLOUT) {
                if (flush_out(ep, fd) != 0) { drop(ep, fd); continue; }
                if (c->out_len > 0) continue;
            }
            if (!(events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
            if (c->out_len > 0) continue;  // backpressure: read again once the replies are out
            ssize_t n = read(fd, in, sizeof in);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) { drop(ep, fd); continue; }
            if (n < 0) continue;
            size_t lines = 0;
            for (char *p = in, *end = in + n; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) lines++;
            if (lines == 0) continue;
            size_t need = lines * reply_len;
            if (need > c->out_cap) {
                c->out_cap = need * 2;
                c->out = realloc(c->out, c->out_cap);
            }
            for (size_t k = 0; k < lines; k++) memcpy(c->out + k * reply_len, reply, reply_len);
            c->out_len = need;
            if (flush_out(ep, fd) != 0) drop(ep, fd);
        }
    }
}
