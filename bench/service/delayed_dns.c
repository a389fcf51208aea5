// The names scenario's DNS server: a stand-in for a slow recursive resolver, answering every
// query exactly --delay-ms after it arrived. The same behaviour and control protocol as
// bench/service/dns-server.ts, which costs ~18 us of CPU per query on the cores the service and the
// target share; this one is epoll + one timerfd (every answer waits the same delay, so a FIFO
// ring of due times suffices) and costs a few microseconds.
//   cc -O2 -o delayed_dns delayed_dns.c
//   delayed_dns [--host H] [--port P] [--delay-ms D] [--ttl S] [--max-seconds S]
// hN.example and wN.example (N < 64516) have one A record, 127.0.A.B with A = 1 + N / 254 and
// B = 1 + N % 254 (bench/shared/url-lists.ts); their other types are NODATA and every other name is
// NXDOMAIN, both with an SOA whose minimum is the TTL, so negative answers can be cached too.
// Prints "ready PORT"; each "counts" line on stdin is answered with one line
// "counts {JSON}" (queries so far by type and by name, and the namespace's UDP receive-buffer
// drops). Exits on SIGTERM/SIGINT, after --max-seconds, or when stdin reaches end of file.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_HOSTS (254 * 254)
#define RING 65536 // answers in flight; at 20 ms that is over 3 million queries a second
#define MAX_REPLY 400 // header + a 255-byte name + question + SOA authority fits
#define SOCKET_BUFFER (8 * 1024 * 1024)

enum { NOERROR = 0, FORMERR = 1, NXDOMAIN = 3, NOTIMP = 4 };

struct pending {
  long long due_ns;
  struct sockaddr_in to;
  unsigned short len;
  unsigned char reply[MAX_REPLY];
};

static struct pending *ring; // ever-growing head/tail counts, slots taken modulo RING
static size_t ring_head, ring_tail;
static unsigned long long total, malformed, ring_full, send_errors;
static unsigned long long by_type[65536];
static unsigned long long by_h[MAX_HOSTS], by_w[MAX_HOSTS], by_other;
static volatile sig_atomic_t stopping;
static unsigned ttl = 300;

static void on_signal(int sig) { (void)sig; stopping = 1; }

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static unsigned char *put16(unsigned char *p, unsigned v) {
  p[0] = (unsigned char)(v >> 8);
  p[1] = (unsigned char)v;
  return p + 2;
}

static unsigned char *put32(unsigned char *p, unsigned v) {
  return put16(put16(p, v >> 16), v & 0xffff);
}

static unsigned char *put_bytes(unsigned char *p, const void *bytes, size_t len) {
  memcpy(p, bytes, len);
  return p + len;
}

// Encoded names of the zone's SOA, sizeof includes the root label's zero byte.
static const char zone_name[] = "\7example";
static const char soa_mname[] = "\2ns\7example";
static const char soa_rname[] = "\12hostmaster\7example";

static unsigned char *put_soa(unsigned char *p) {
  p = put_bytes(p, zone_name, sizeof zone_name);
  p = put16(put16(p, 6), 1); // SOA, IN
  p = put32(p, ttl);
  unsigned char *rdlength = p;
  p += 2;
  p = put_bytes(p, soa_mname, sizeof soa_mname);
  p = put_bytes(p, soa_rname, sizeof soa_rname);
  p = put32(p, 1);     // serial
  p = put32(p, 3600);  // refresh
  p = put32(p, 600);   // retry
  p = put32(p, 86400); // expire
  p = put32(p, ttl);   // minimum: the TTL of negative answers
  put16(rdlength, (unsigned)(p - rdlength - 2));
  return p;
}

// The host index of "hN.example"/"wN.example" (N without leading zeros), or -1; *family is
// set to 'h' or 'w'. `name` is the dotted, lower-cased question name.
static long zone_host(const char *name, char *family) {
  if ((name[0] != 'h' && name[0] != 'w') || !isdigit((unsigned char)name[1])) return -1;
  if (name[1] == '0' && isdigit((unsigned char)name[2])) return -1;
  char *end;
  long n = strtol(name + 1, &end, 10);
  if (strcmp(end, ".example") != 0 || n >= MAX_HOSTS) return -1;
  *family = name[0];
  return n;
}

// Builds the answer to one query into `out`; returns its length, or 0 for a datagram that is
// not a query at all (too short, a response, a name running past the end).
static size_t build_reply(const unsigned char *q, size_t len, unsigned char *out) {
  if (len < 12 || (q[2] & 0x80) != 0) return 0;
  unsigned opcode = (q[2] >> 3) & 0xf;
  unsigned qdcount = (unsigned)(q[4] << 8 | q[5]);
  unsigned char *p = put_bytes(out, q, 2); // id
  *p++ = (unsigned char)(0x80 | (q[2] & 0x79) | 0x04); // QR, opcode and RD echoed, AA
  unsigned char *rcode_byte = p++;
  *rcode_byte = 0x80; // RA
  if (opcode != 0 || qdcount == 0) {
    total++;
    *rcode_byte |= opcode != 0 ? NOTIMP : FORMERR;
    memset(p, 0, 8);
    return 12;
  }
  // The question: labels up to the root, copied as sent (case kept), then type and class.
  char name[256];
  size_t at = 12, name_len = 0;
  while (at < len && q[at] != 0) {
    unsigned label = q[at];
    if (label > 63 || at + 1 + label >= len || name_len + label + 1 >= sizeof name) return 0;
    if (name_len > 0) name[name_len++] = '.';
    for (unsigned i = 0; i < label; i++) name[name_len++] = (char)tolower(q[at + 1 + i]);
    at += 1 + label;
  }
  name[name_len] = '\0';
  if (at + 5 > len) return 0;
  size_t question_len = at + 5 - 12;
  unsigned qtype = (unsigned)(q[at + 1] << 8 | q[at + 2]);
  total++;
  by_type[qtype]++;
  char family = 0;
  long host = zone_host(name, &family);
  if (host < 0) by_other++;
  else if (family == 'h') by_h[host]++;
  else by_w[host]++;

  int is_zone_apex = strcmp(name, "example") == 0;
  int has_a = host >= 0 && qtype == 1;
  p = put16(p, 1);            // QDCOUNT
  p = put16(p, has_a ? 1 : 0); // ANCOUNT
  p = put16(p, has_a ? 0 : 1); // NSCOUNT: the SOA of a negative answer
  p = put16(p, 0);            // ARCOUNT
  p = put_bytes(p, q + 12, question_len);
  if (has_a) {
    p = put16(p, 0xc00c); // the question's name
    p = put16(put16(p, 1), 1);
    p = put32(p, ttl);
    p = put16(p, 4);
    *p++ = 127;
    *p++ = 0;
    *p++ = (unsigned char)(1 + host / 254);
    *p++ = (unsigned char)(1 + host % 254);
  } else {
    *rcode_byte |= host >= 0 || is_zone_apex ? NOERROR : NXDOMAIN;
    p = put_soa(p);
  }
  return (size_t)(p - out);
}

static void arm(int tfd) {
  struct itimerspec spec = {0};
  if (ring_head < ring_tail) {
    long long due = ring[ring_head % RING].due_ns;
    spec.it_value.tv_sec = due / 1000000000LL;
    spec.it_value.tv_nsec = due % 1000000000LL;
  }
  timerfd_settime(tfd, TFD_TIMER_ABSTIME, &spec, NULL);
}

static void send_reply(int fd, const struct pending *r) {
  if (sendto(fd, r->reply, r->len, 0, (const struct sockaddr *)&r->to, sizeof r->to) < 0) {
    send_errors++;
  }
}

// UDP datagrams this network namespace dropped for a full receive buffer, or -1.
static long long udp_rcvbuf_errors(void) {
  FILE *f = fopen("/proc/self/net/snmp", "r");
  if (f == NULL) return -1;
  char names[1024], values[1024];
  long long found = -1;
  while (found < 0 && fgets(names, sizeof names, f) != NULL && fgets(values, sizeof values, f) != NULL) {
    if (strncmp(names, "Udp:", 4) != 0) continue;
    char *name_save, *value_save;
    char *name = strtok_r(names, " \n", &name_save), *value = strtok_r(values, " \n", &value_save);
    while (name != NULL && value != NULL) {
      if (strcmp(name, "RcvbufErrors") == 0) found = atoll(value);
      name = strtok_r(NULL, " \n", &name_save);
      value = strtok_r(NULL, " \n", &value_save);
    }
  }
  fclose(f);
  return found;
}

static const char *type_name(unsigned type, char *buf) {
  switch (type) {
    case 1: return "A";
    case 2: return "NS";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 12: return "PTR";
    case 15: return "MX";
    case 16: return "TXT";
    case 28: return "AAAA";
    case 33: return "SRV";
    case 64: return "SVCB";
    case 65: return "HTTPS";
    case 255: return "ANY";
    default: sprintf(buf, "TYPE%u", type); return buf;
  }
}

static void print_counts(void) {
  char buf[16];
  long long drops = udp_rcvbuf_errors();
  printf("counts {\"total\":%llu,\"malformed\":%llu,\"ringFull\":%llu,\"sendErrors\":%llu,\"byType\":{",
         total, malformed, ring_full, send_errors);
  const char *sep = "";
  for (unsigned t = 0; t < 65536; t++) {
    if (by_type[t] == 0) continue;
    printf("%s\"%s\":%llu", sep, type_name(t, buf), by_type[t]);
    sep = ",";
  }
  printf("},\"byName\":{");
  sep = "";
  for (int i = 0; i < MAX_HOSTS; i++) {
    if (by_h[i] != 0) { printf("%s\"h%d.example\":%llu", sep, i, by_h[i]); sep = ","; }
  }
  for (int i = 0; i < MAX_HOSTS; i++) {
    if (by_w[i] != 0) { printf("%s\"w%d.example\":%llu", sep, i, by_w[i]); sep = ","; }
  }
  if (by_other != 0) printf("%s\"(other)\":%llu", sep, by_other);
  if (drops < 0) printf("},\"udpReceiveBufferErrors\":null}\n");
  else printf("},\"udpReceiveBufferErrors\":%lld}\n", drops);
  fflush(stdout);
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  long port = 53, delay_ms = 20, max_seconds = 1800;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--host") == 0) host = argv[i + 1];
    else if (strcmp(argv[i], "--port") == 0) port = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--delay-ms") == 0) delay_ms = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--ttl") == 0) ttl = (unsigned)atol(argv[i + 1]);
    else if (strcmp(argv[i], "--max-seconds") == 0) max_seconds = atol(argv[i + 1]);
    else { fprintf(stderr, "delayed_dns: unknown option %s\n", argv[i]); return 2; }
  }
  ring = calloc(RING, sizeof *ring);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGALRM, on_signal);
  signal(SIGPIPE, SIG_IGN);
  alarm((unsigned)max_seconds);

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int size = SOCKET_BUFFER;
  // A burst of thousands of queries must wait in the kernel, not be dropped: root may exceed
  // rmem_max (FORCE), anyone else gets what rmem_max allows.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1 ||
      bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    perror("delayed_dns: bind");
    return 1;
  }
  socklen_t alen = sizeof addr;
  getsockname(fd, (struct sockaddr *)&addr, &alen);
  printf("ready %d\n", ntohs(addr.sin_port));
  fflush(stdout);

  int epfd = epoll_create1(0);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
  ev.data.fd = tfd;
  epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev);
  ev.data.fd = STDIN_FILENO;
  epoll_ctl(epfd, EPOLL_CTL_ADD, STDIN_FILENO, &ev);

  char control[256];
  size_t control_len = 0;
  struct epoll_event events[16];
  while (!stopping) {
    int n = epoll_wait(epfd, events, 16, 1000);
    for (int i = 0; i < n; i++) {
      int ready = events[i].data.fd;
      if (ready == STDIN_FILENO) {
        ssize_t got = read(STDIN_FILENO, control + control_len, sizeof control - 1 - control_len);
        if (got <= 0) { stopping = 1; break; }
        control_len += (size_t)got;
        char *line_end;
        while ((line_end = memchr(control, '\n', control_len)) != NULL) {
          *line_end = '\0';
          if (strcmp(control, "counts") == 0) print_counts();
          size_t used = (size_t)(line_end - control) + 1;
          memmove(control, control + used, control_len - used);
          control_len -= used;
        }
        if (control_len == sizeof control - 1) control_len = 0; // no line this long is ours
      } else if (ready == fd) {
        for (;;) {
          unsigned char query[1500];
          struct pending *slot = &ring[ring_tail % RING];
          struct sockaddr_in from;
          socklen_t from_len = sizeof from;
          ssize_t got = recvfrom(fd, query, sizeof query, 0, (struct sockaddr *)&from, &from_len);
          if (got < 0) break; // EAGAIN: drained
          long long arrived = now_ns();
          struct pending reply;
          struct pending *into = ring_tail - ring_head < RING ? slot : &reply;
          into->len = (unsigned short)build_reply(query, (size_t)got, into->reply);
          if (into->len == 0) { malformed++; continue; }
          into->to = from;
          into->due_ns = arrived + delay_ms * 1000000LL;
          if (into == &reply) { ring_full++; send_reply(fd, &reply); continue; }
          if (ring_tail++ == ring_head) arm(tfd);
        }
      } else if (ready == tfd) {
        unsigned long long expirations;
        (void)!read(tfd, &expirations, sizeof expirations);
        long long now = now_ns();
        while (ring_head < ring_tail && ring[ring_head % RING].due_ns <= now) {
          send_reply(fd, &ring[ring_head++ % RING]);
        }
        arm(tfd);
      }
    }
  }
  return 0;
}
