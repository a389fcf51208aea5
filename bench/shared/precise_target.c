// The delayed target of both benches' accuracy figures: the same canned answer as target-server.ts, held back
// exactly --delay-ms after the request head arrived. A Node target at 500 connections reads
// requests and fires timers milliseconds late, which would be charged to the client under
// test; this one is epoll + one timerfd, costs a few microseconds per connection, and says
// how late it was: with --holds FILE it writes "id read_us write_us" (epoch microseconds) per
// answer at exit, so a client's error can be split into the target's part and its own.
//   cc -O2 -o precise_target precise_target.c
//   precise_target --delay-ms D [--holds FILE] [--max-seconds S]   (prints "ready PORT")
// Exits after --max-seconds, on SIGTERM/SIGINT, or when its stdin reaches end of file (the
// bench holds it open, so the target goes with the bench even if that was SIGKILLed).
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 65536
#define MAX_HEAD 16384
#define MAX_ANSWERS 2000000

static const char *body =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>peer bench</title></head>"
    "<body><h1>It works</h1><p>Static body for the header-probing peer benchmark; about two "
    "hundred bytes.</p></body></html>\n";

static const char *headers_after_date =
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Length: %zu\r\n"
    "Connection: close\r\n"
    "Cache-Control: private, no-cache, no-store, max-age=0, must-revalidate\r\n"
    "Set-Cookie: sessionid=8f14e45fceea167a5a36dedd4bea2543; Path=/; HttpOnly; Secure; SameSite=Lax\r\n"
    "Set-Cookie: csrftoken=c9f0f895fb98ab9159f51fd0297e236d; Path=/; Max-Age=31449600; SameSite=Lax\r\n"
    "X-Frame-Options: SAMEORIGIN\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n"
    "Referrer-Policy: strict-origin-when-cross-origin\r\n"
    "Content-Security-Policy: default-src 'self'; img-src 'self' data:\r\n"
    "Vary: Accept-Encoding, Cookie\r\n"
    "Expires: Thu, 01 Jan 1970 00:00:01 GMT\r\n";

struct conn {
  char head[MAX_HEAD];
  size_t len;
  int waiting;      // request read, answer due
  unsigned long long generation;
};

struct due {
  int fd;
  unsigned long long generation; // the fd number may be reused once its client has gone
  long long due_ns;  // CLOCK_MONOTONIC
  long long read_us; // CLOCK_REALTIME
};

static struct conn *conns[MAX_FDS];
// A ring, first in first out: every answer waits the same delay, so due times only grow.
static struct due queue[MAX_FDS];
static size_t queue_head, queue_tail; // ever-growing counts; slots are taken modulo MAX_FDS
static unsigned long long generations;
static long long (*holds)[3];
static size_t holds_len;
static unsigned long long answered;
static volatile sig_atomic_t stopping;

static long long now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void on_signal(int sig) { (void)sig; stopping = 1; }

static void drop(int epfd, int fd) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
  free(conns[fd]);
  conns[fd] = NULL;
}

static void answer(int epfd, int fd, unsigned long long generation, long long read_us) {
  struct conn *c = conns[fd];
  if (c == NULL || c->generation != generation) return;
  char date[64], response[4096];
  time_t t = time(NULL);
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&t));
  int head_only = c->len >= 5 && memcmp(c->head, "HEAD ", 5) == 0;
  answered++;
  int n = snprintf(response, sizeof response, "HTTP/1.1 200 OK\r\nServer: headprobe-bench\r\nDate: %s\r\n", date);
  n += snprintf(response + n, sizeof response - n, headers_after_date, strlen(body));
  n += snprintf(response + n, sizeof response - n,
                "X-Request-Id: c0ffee00c0ffee00%016llx\r\nContent-Language: en\r\n\r\n%s", answered,
                head_only ? "" : body);
  ssize_t written = send(fd, response, n, MSG_NOSIGNAL);
  long long write_us = now_ns(CLOCK_REALTIME) / 1000;
  if (written == n && holds != NULL && holds_len < MAX_ANSWERS) {
    holds[holds_len][0] = (long long)answered;
    holds[holds_len][1] = read_us;
    holds[holds_len][2] = write_us;
    holds_len++;
  }
  shutdown(fd, SHUT_WR);
  drop(epfd, fd);
}

static void arm(int tfd) {
  struct itimerspec spec = {0};
  if (queue_head < queue_tail) {
    long long due = queue[queue_head % MAX_FDS].due_ns;
    spec.it_value.tv_sec = due / 1000000000LL;
    spec.it_value.tv_nsec = due % 1000000000LL;
  }
  timerfd_settime(tfd, TFD_TIMER_ABSTIME, &spec, NULL);
}

int main(int argc, char **argv) {
  long delay_ms = 50, max_seconds = 1800;
  const char *holds_file = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--delay-ms") == 0) delay_ms = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--max-seconds") == 0) max_seconds = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--holds") == 0) holds_file = argv[i + 1];
    else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  if (holds_file != NULL) holds = calloc(MAX_ANSWERS, sizeof *holds);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGALRM, on_signal);
  alarm((unsigned)max_seconds);

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 4096) != 0) {
    perror("precise_target: listen");
    return 1;
  }
  socklen_t alen = sizeof addr;
  getsockname(lfd, (struct sockaddr *)&addr, &alen);
  printf("ready %d\n", ntohs(addr.sin_port));
  fflush(stdout);

  int epfd = epoll_create1(0);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
  ev.data.fd = tfd;
  epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev);
  ev.data.fd = STDIN_FILENO;
  epoll_ctl(epfd, EPOLL_CTL_ADD, STDIN_FILENO, &ev); // fails harmlessly if stdin is a file

  struct epoll_event events[256];
  while (!stopping) {
    int n = epoll_wait(epfd, events, 256, 1000);
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == STDIN_FILENO) {
        char sink[256];
        if (read(STDIN_FILENO, sink, sizeof sink) <= 0) stopping = 1;
      } else if (fd == lfd) {
        int cfd;
        while ((cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          if (cfd >= MAX_FDS) { close(cfd); continue; }
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conns[cfd] = calloc(1, sizeof(struct conn));
          conns[cfd]->generation = ++generations;
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = cfd};
          epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &cev);
        }
      } else if (fd == tfd) {
        unsigned long long expirations;
        (void)!read(tfd, &expirations, sizeof expirations);
        long long now = now_ns(CLOCK_MONOTONIC);
        while (queue_head < queue_tail && queue[queue_head % MAX_FDS].due_ns <= now) {
          struct due d = queue[queue_head++ % MAX_FDS];
          answer(epfd, d.fd, d.generation, d.read_us);
        }
        arm(tfd);
      } else if (conns[fd] != NULL) {
        struct conn *c = conns[fd];
        ssize_t got = c->waiting ? 0 : recv(fd, c->head + c->len, MAX_HEAD - 1 - c->len, 0);
        long long read_us = now_ns(CLOCK_REALTIME) / 1000;
        long long read_ns = now_ns(CLOCK_MONOTONIC);
        if (c->waiting) {
          char sink[512];
          if (recv(fd, sink, sizeof sink, 0) <= 0) { epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL); }
          continue;
        }
        if (got <= 0) {
          if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
          drop(epfd, fd);
          continue;
        }
        c->len += (size_t)got;
        c->head[c->len] = '\0';
        if (strstr(c->head, "\r\n\r\n") == NULL) {
          if (c->len >= MAX_HEAD - 1) drop(epfd, fd);
          continue;
        }
        c->waiting = 1;
        if (delay_ms == 0) { answer(epfd, fd, c->generation, read_us); continue; }
        if (queue_tail - queue_head == MAX_FDS) { drop(epfd, fd); continue; }
        queue[queue_tail++ % MAX_FDS] =
            (struct due){fd, c->generation, read_ns + delay_ms * 1000000LL, read_us};
        if (queue_tail - queue_head == 1) arm(tfd);
      }
    }
  }
  if (holds_file != NULL) {
    FILE *out = fopen(holds_file, "w");
    for (size_t i = 0; out != NULL && i < holds_len; i++) {
      fprintf(out, "%lld %lld %lld\n", holds[i][0], holds[i][1], holds[i][2]);
    }
    if (out != NULL) fclose(out);
  }
  return 0;
}
