/*
 * testutil: helpers shared by the cmocka tests (header-only).
 *
 * - where things are: tu_bin() (the cpqd binary, env CPQD_BIN), tu_root()
 *   (the repository, env CPQD_ROOT); tests/run-tests.sh sets both;
 * - temporary files: tu_tmpdir(), tu_write(), tu_copy_tree(), tu_rm_tree();
 * - a tiny HTTP/1.1 client over a raw loopback socket with deadlines:
 *   tu_http() for one request, tu_connect()/tu_send()/tu_read_response()
 *   for tests that need to misbehave (stall, read slowly, pipeline);
 *   with CPQD_TEST_RECORD=FILE, tu_http appends every response to FILE
 *   for tests/spec/check_responses.py (the API contract, make test);
 * - the real server: tu_server_start() runs `cpqd serve --listen
 *   127.0.0.1:0 ... --clock TU_TODAY` (unless the test sets its own
 *   clock) with its log in a file, learns the port from the log
 *   line "listening on 127.0.0.1:PORT" (no port race) and waits until
 *   /healthz answers; tu_server_stop() sends SIGTERM and returns the exit
 *   status; tu_run() runs a cpqd command and captures its output.
 *
 * Everything is bounded: each wait has a deadline (TU_WAIT_MS), so a hung
 * server fails a test instead of hanging the suite. Network use is
 * 127.0.0.1 only. Functions are static inline so that a test using only a
 * few of them compiles without unused-function warnings.
 */
#ifndef CPQD_TESTUTIL_H
#define CPQD_TESTUTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TU_WAIT_MS 15000 /* longest any helper waits (sanitizer builds are slow) */
/* The service's today in every end-to-end test that does not set its own
 * `--clock`: no test reads the calendar, so the suite passes on any date. */
#define TU_TODAY "2026-12-01"

/* ---- locations ---- */

static inline const char *tu_root(void)
{
    const char *r = getenv("CPQD_ROOT");
    return r && *r ? r : ".";
}

static inline const char *tu_bin(void)
{
    static char buf[4096];
    const char *b = getenv("CPQD_BIN");
    if (b && *b)
        return b;
    snprintf(buf, sizeof(buf), "%s/build/release/cpqd", tu_root());
    return buf;
}

/* printf into a new malloc'ed string (aborts without memory). */
static inline char *tu_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline char *tu_fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s)
        abort();
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* malloc'ed "<root>/<rel>". */
static inline char *tu_path(const char *rel)
{
    return tu_fmt("%s/%s", tu_root(), rel);
}

static inline long long tu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void tu_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- files ---- */

/* A new empty directory under $TMPDIR (or /tmp); malloc'ed path. */
static inline char *tu_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    char *p = tu_fmt("%s/cpqd-test-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(p))
        abort();
    return p;
}

/* Writes len bytes to dir/name (creating or truncating). 0 or -1. */
static inline int tu_write_n(const char *dir, const char *name, const char *data, size_t len)
{
    char *path = tu_fmt("%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    free(path);
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

static inline int tu_write(const char *dir, const char *name, const char *text)
{
    return tu_write_n(dir, name, text, strlen(text));
}

/* The whole file as a malloc'ed NUL-terminated string (length in *len if
 * non-NULL), or NULL. */
static inline char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, 4096, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static inline int tu_copy_file(const char *src, const char *dst)
{
    size_t len = 0;
    char *data = tu_read_file(src, &len);
    if (!data)
        return -1;
    FILE *f = fopen(dst, "wb");
    int rc = f && fwrite(data, 1, len, f) == len ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(data);
    return rc;
}

/* Copies the tree src into dst (created if missing). 0 or -1. */
static inline int tu_copy_tree(const char *src, const char *dst)
{
    DIR *d = opendir(src);
    if (!d || (mkdir(dst, 0755) != 0 && errno != EEXIST)) {
        if (d)
            closedir(d);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *s = tu_fmt("%s/%s", src, e->d_name);
        char *t = tu_fmt("%s/%s", dst, e->d_name);
        struct stat st;
        if (stat(s, &st) != 0)
            rc = -1;
        else if (S_ISDIR(st.st_mode))
            rc = tu_copy_tree(s, t);
        else
            rc = tu_copy_file(s, t);
        free(s);
        free(t);
    }
    closedir(d);
    return rc;
}

/* Removes a tree (best effort). A symbolic link is removed, never
 * followed: a link to the repository inside a scratch tree must not take
 * the repository with it. */
static inline void tu_rm_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    DIR *d = S_ISDIR(sb.st_mode) ? opendir(path) : NULL;
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *p = tu_fmt("%s/%s", path, e->d_name);
        tu_rm_tree(p);
        free(p);
    }
    closedir(d);
    rmdir(path);
}

/* ---- HTTP client ---- */

typedef struct tu_resp {
    int status; /* 0 if no complete status line arrived */
    char *head; /* status line and headers, NUL-terminated */
    char *body; /* NUL-terminated (the body may hold NULs: use body_len) */
    size_t body_len;
    bool closed; /* the server closed the connection after it */
} tu_resp;

static inline void tu_resp_free(tu_resp *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/* Connects to 127.0.0.1:port; rcvbuf > 0 sets SO_RCVBUF first (to make a
 * slow reader). Returns the fd or -1. */
static inline int tu_connect_rcvbuf(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static inline int tu_connect(int port)
{
    return tu_connect_rcvbuf(port, 0);
}

static inline int tu_send(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Waits up to ms for fd to become readable; 1 readable (or EOF), 0 timeout. */
static inline int tu_wait_readable(int fd, long long deadline)
{
    for (;;) {
        long long left = deadline - tu_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return 1;
    }
}

/* Reads one byte-chunk into *buf (growing it); returns bytes read, 0 on
 * EOF (or reset), -1 on timeout. */
static inline long tu_read_some(int fd, char **buf, size_t *len, size_t *cap, long long deadline)
{
    if (!tu_wait_readable(fd, deadline))
        return -1;
    if (*len + 65536 + 1 > *cap) {
        *cap = (*len + 65536 + 1) * 2;
        *buf = realloc(*buf, *cap);
        if (!*buf)
            abort();
    }
    ssize_t r = recv(fd, *buf + *len, 65536, 0);
    if (r < 0)
        return errno == EINTR ? tu_read_some(fd, buf, len, cap, deadline) : 0;
    *len += (size_t)r;
    (*buf)[*len] = '\0';
    return r;
}

/* Value of header name in head (case-insensitive) copied into out, or
 * NULL if absent. */
static inline const char *tu_header(const tu_resp *r, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *l = r->head ? strstr(r->head, "\r\n") : NULL; l && l[2];
         l = strstr(l + 2, "\r\n")) {
        const char *k = l + 2;
        if (strncasecmp(k, name, n) != 0 || k[n] != ':')
            continue;
        const char *v = k + n + 1;
        while (*v == ' ')
            v++;
        const char *end = strstr(v, "\r\n");
        size_t vl = end ? (size_t)(end - v) : strlen(v);
        snprintf(out, cap, "%.*s", (int)(vl < cap ? vl : cap - 1), v);
        return out;
    }
    return NULL;
}

/* Splits buf[0..len) holding a head into r; returns the head's length
 * (including the blank line) or 0 if incomplete. */
static inline size_t tu_parse_head(const char *buf, tu_resp *r)
{
    const char *end = strstr(buf, "\r\n\r\n");
    if (!end)
        return 0;
    size_t hl = (size_t)(end - buf) + 4;
    r->head = strndup(buf, hl - 2);
    if (sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1)
        r->status = 0;
    return hl;
}

/* Reads one response from fd (for a HEAD request pass head_only). Returns
 * 0, or -1 on timeout / malformed response (r holds what arrived). */
static inline int tu_read_response(int fd, tu_resp *r, bool head_only, long timeout_ms)
{
    long long deadline = tu_now_ms() + timeout_ms;
    char *buf = NULL, cl[32];
    size_t len = 0, cap = 0, hl = 0;
    memset(r, 0, sizeof(*r));
    while (hl == 0) {
        long got = tu_read_some(fd, &buf, &len, &cap, deadline);
        if (got <= 0) {
            r->closed = got == 0;
            free(buf);
            return -1;
        }
        hl = tu_parse_head(buf, r);
    }
    long long want = -1;
    if (!head_only && tu_header(r, "Content-Length", cl, sizeof(cl)))
        want = atoll(cl);
    if (head_only)
        want = 0;
    while (want < 0 || (long long)(len - hl) < want) {
        long got = tu_read_some(fd, &buf, &len, &cap, deadline);
        if (got < 0) {
            free(buf);
            return -1;
        }
        if (got == 0) {
            r->closed = true;
            break;
        }
    }
    r->body_len = want >= 0 && (long long)(len - hl) >= want ? (size_t)want : len - hl;
    r->body = malloc(r->body_len + 1);
    memcpy(r->body, buf + hl, r->body_len);
    r->body[r->body_len] = '\0';
    free(buf);
    return want >= 0 || r->closed ? 0 : -1;
}

/* With CPQD_TEST_RECORD=FILE set, appends one record per response that
 * tu_http received to FILE, for tests/spec/check_responses.py to check
 * against docs/openapi.yaml: a line "REC <method length> <path length>
 * <status> <content-type length> <body length>", then the method, the
 * path (with its query), the Content-Type and the body, raw, and "\n".
 * One write(2) on an O_APPEND descriptor per record, so that concurrent
 * requests of one test do not interleave. Best effort: a failure to
 * record is not the test's failure (the checker then misses a route). */
static inline void tu_record(const char *method, const char *path, const tu_resp *r)
{
    const char *file = getenv("CPQD_TEST_RECORD");
    char ct[256] = "";
    if (!file || !*file || r->status == 0)
        return;
    if (!tu_header(r, "Content-Type", ct, sizeof(ct)))
        ct[0] = '\0';
    char *head = tu_fmt("REC %zu %zu %d %zu %zu\n", strlen(method), strlen(path), r->status,
                        strlen(ct), r->body_len);
    size_t hl = strlen(head), ml = strlen(method), pl = strlen(path), cl = strlen(ct);
    size_t n = hl + ml + pl + cl + r->body_len + 1;
    char *rec = malloc(n);
    int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (rec && fd >= 0) {
        char *p = rec;
        memcpy(p, head, hl), p += hl;
        memcpy(p, method, ml), p += ml;
        memcpy(p, path, pl), p += pl;
        memcpy(p, ct, cl), p += cl;
        memcpy(p, r->body, r->body_len), p += r->body_len;
        *p = '\n';
        if (write(fd, rec, n) != (ssize_t)n)
            fprintf(stderr, "tu_record: could not append to %s\n", file);
    }
    if (fd >= 0)
        close(fd);
    free(rec);
    free(head);
}

/* Sends "METHOD path HTTP/1.1" with Host, Connection: close, extra
 * headers (each "Name: value\r\n", may be NULL), Content-Length when a
 * body is given, then reads the response. Returns 0 or -1. */
static inline int tu_http(int port, const char *method, const char *path, const char *headers,
                          const char *body, size_t body_len, tu_resp *r)
{
    memset(r, 0, sizeof(*r));
    int fd = tu_connect(port);
    if (fd < 0)
        return -1;
    char *req = body ? tu_fmt("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                              "Content-Length: %zu\r\n\r\n",
                              method, path, headers ? headers : "", body_len)
                     : tu_fmt("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n",
                              method, path, headers ? headers : "");
    int rc = tu_send(fd, req, strlen(req));
    if (rc == 0 && body && body_len)
        rc = tu_send(fd, body, body_len);
    free(req);
    if (rc == 0)
        rc = tu_read_response(fd, r, strcmp(method, "HEAD") == 0, TU_WAIT_MS);
    close(fd);
    if (rc == 0)
        tu_record(method, path, r);
    return rc;
}

static inline int tu_get(int port, const char *path, tu_resp *r)
{
    return tu_http(port, "GET", path, NULL, NULL, 0, r);
}

/* ---- running cpqd ---- */

typedef struct tu_server {
    pid_t pid; /* 0 when not running */
    int port;
    char log[4096]; /* the server's stdout and stderr */
} tu_server;

/* Forks and execs cpqd with argv (NULL-ended, without the program name),
 * stdout and stderr to log_path. Returns the pid or -1. */
static inline pid_t tu_spawn(const char *const *argv, const char *log_path)
{
    size_t n = 0;
    while (argv[n])
        n++;
    char **av = calloc(n + 2, sizeof(char *));
    av[0] = (char *)tu_bin();
    for (size_t i = 0; i < n; i++)
        av[i + 1] = (char *)argv[i];
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(av[0], av);
        _exit(127);
    }
    free(av);
    return pid;
}

/* Waits up to ms for pid; returns its exit status (128+sig if killed), or
 * -1 if it is still running. */
static inline int tu_wait_exit(pid_t pid, long ms)
{
    long long deadline = tu_now_ms() + ms;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0 || tu_now_ms() >= deadline)
            return -1;
        tu_sleep_ms(10);
    }
}

/* Prints the server log to stderr (call when a test fails). */
static inline void tu_server_dump(const tu_server *s)
{
    char *log = tu_read_file(s->log, NULL);
    fprintf(stderr, "---- cpqd log (%s) ----\n%s---- end of log ----\n", s->log,
            log ? log : "(unreadable)\n");
    free(log);
}

/* Waits until the log contains needle; returns true if it did in time. */
static inline bool tu_log_wait(const tu_server *s, const char *needle, long ms)
{
    long long deadline = tu_now_ms() + ms;
    do {
        char *log = tu_read_file(s->log, NULL);
        bool found = log && strstr(log, needle);
        free(log);
        if (found)
            return true;
        tu_sleep_ms(10);
    } while (tu_now_ms() < deadline);
    return false;
}

/* Starts `cpqd serve --listen 127.0.0.1:0 <args>` with its log at
 * log_path, learns its port and waits for GET /healthz to answer 200.
 * Returns 0, or -1 (after killing it and dumping its log). */
static inline int tu_server_start(tu_server *s, const char *log_path, const char *const *args)
{
    const char *argv[64] = {"serve", "--listen", "127.0.0.1:0"};
    size_t n = 3;
    bool clock = false;
    for (size_t i = 0; args[i] && n < 61; i++) {
        clock = clock || !strcmp(args[i], "--clock");
        argv[n++] = args[i];
    }
    if (!clock) {
        argv[n++] = "--clock";
        argv[n++] = TU_TODAY;
    }
    argv[n] = NULL;
    memset(s, 0, sizeof(*s));
    snprintf(s->log, sizeof(s->log), "%s", log_path);
    s->pid = tu_spawn(argv, log_path);
    long long deadline = tu_now_ms() + TU_WAIT_MS;
    while (s->pid > 0 && s->port == 0 && tu_now_ms() < deadline) {
        char *log = tu_read_file(log_path, NULL);
        const char *at = log ? strstr(log, "listening on 127.0.0.1:") : NULL;
        if (at)
            s->port = atoi(at + strlen("listening on 127.0.0.1:"));
        free(log);
        if (!s->port && tu_wait_exit(s->pid, 10) >= 0)
            break;
    }
    tu_resp r;
    while (s->port && tu_now_ms() < deadline) {
        int rc = tu_get(s->port, "/healthz", &r);
        int st = r.status;
        tu_resp_free(&r);
        if (rc == 0 && st == 200)
            return 0;
        tu_sleep_ms(10);
    }
    tu_server_dump(s);
    if (s->pid > 0 && kill(s->pid, SIGKILL) == 0)
        tu_wait_exit(s->pid, TU_WAIT_MS);
    s->pid = 0;
    return -1;
}

/* Sends SIGTERM and waits; returns the exit status (-1: it did not exit
 * in time, and was killed). */
static inline int tu_server_stop(tu_server *s)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    int st = tu_wait_exit(s->pid, TU_WAIT_MS);
    if (st < 0) {
        kill(s->pid, SIGKILL);
        tu_wait_exit(s->pid, TU_WAIT_MS);
    }
    if (st != 0)
        tu_server_dump(s);
    s->pid = 0;
    return st;
}

/* Runs cpqd with argv (NULL-ended, no program name) to completion within
 * TU_WAIT_MS; *out receives its stdout and *err its stderr (malloc'ed).
 * Returns the exit status, or -1. */
static inline int tu_run(const char *const *argv, char **out, char **err)
{
    char *dir = tu_tmpdir();
    char *po = tu_fmt("%s/out", dir), *pe = tu_fmt("%s/err", dir);
    size_t n = 0;
    while (argv[n])
        n++;
    char **av = calloc(n + 2, sizeof(char *));
    av[0] = (char *)tu_bin();
    for (size_t i = 0; i < n; i++)
        av[i + 1] = (char *)argv[i];
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0)
            _exit(127);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(av[0], av);
        _exit(127);
    }
    free(av);
    int st = pid > 0 ? tu_wait_exit(pid, TU_WAIT_MS) : -1;
    if (st < 0 && pid > 0) {
        kill(pid, SIGKILL);
        tu_wait_exit(pid, TU_WAIT_MS);
    }
    *out = tu_read_file(po, NULL);
    *err = tu_read_file(pe, NULL);
    tu_rm_tree(dir);
    free(dir);
    free(po);
    free(pe);
    return st;
}

#endif
