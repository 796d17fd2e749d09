// The floor server: the least a recv-and-send server on epoll can cost per request, parsing
// nothing. Usage: floor RESPONSE_FILE   listens on 127.0.0.1 and a free port, prints "listening on
// http://127.0.0.1:PORT", and answers every "\r\n\r\n" it receives on a connection with the bytes
// of RESPONSE_FILE (at most 4 KiB). Level-triggered epoll, one thread; a send that cannot take a
// whole answer closes the connection (so wrk counts an error rather than the floor looking cheaper
// than it is).
#define _GNU_SOURCE // accept4
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { max_fds = 65536, max_answers = 64 };
static unsigned char matched[max_fds]; // how much of "\r\n\r\n" each connection's bytes end with

int main(int argc, char** argv) {
    static char resp[4096], in[65536], out[max_answers * sizeof resp];
    FILE* f = argc == 2 ? fopen(argv[1], "rb") : NULL;
    if (!f) return fprintf(stderr, "usage: floor RESPONSE_FILE\n"), 2;
    size_t resp_n = fread(resp, 1, sizeof resp, f);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), ep = epoll_create1(0);
    if (bind(lfd, (struct sockaddr*)&a, sizeof a) || listen(lfd, 4096) ||
        getsockname(lfd, (struct sockaddr*)&a, &alen))
        return perror("floor"), 1;
    printf("listening on http://127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd}, evs[256];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd, c;
            if (fd == lfd) {
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0 && c < max_fds) {
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    matched[c] = 0;
                    ev = (struct epoll_event){.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                }
                continue;
            }
            ssize_t got = recv(fd, in, sizeof in, 0), answers = 0;
            for (ssize_t k = 0; k < got; k++) { // "\r\n\r\n": state 0..3 is how much is matched
                unsigned char m = matched[fd];
                matched[fd] = in[k] == "\r\n\r\n"[m] ? m + 1 : in[k] == '\r';
                if (matched[fd] == 4) matched[fd] = 0, answers++;
            }
            for (ssize_t k = 0; answers > 1 && k < answers && k < max_answers; k++)
                memcpy(out + k * resp_n, resp, resp_n); // pipelined: one send for them all
            size_t out_n = answers * resp_n;
            if (got <= 0 || answers > max_answers ||
                (out_n &&
                 send(fd, answers == 1 ? resp : out, out_n, MSG_NOSIGNAL) != (ssize_t)out_n))
                close(fd); // close also takes it out of the epoll set
        }
    }
}
