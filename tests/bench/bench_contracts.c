/*
 * bench_contracts: contract schedules, the outbox and webhook delivery,
 * in-process.
 *
 *   bench_contracts CATALOG_DIR RULES_DIR WORK_DIR [--lines N] [--events N]
 *
 * (a) sched_contract_build on a contract of N lines (default 1,000)
 *     cycling through the sample catalogs' five delivery modes (goods,
 *     goods_with_service with its services weighted from its book,
 *     subscription, usage with tiers, milestone), every line with its
 *     event dates known: best and median of 20 runs, items generated.
 * (b) events/s written through the outbox into a fresh store in
 *     WORK_DIR: one event per transaction (the shape of a payment), and
 *     100 per transaction (the shape of an accept), each commit fsynced.
 * (c) webhook delivery: N events (default 1,000, 20 ordering keys) are
 *     delivered by the real delivery thread (outbox_worker_start) to a
 *     loopback HTTP receiver running in this process, which answers 200:
 *     events/s from start to the last 2xx. Bounded: gives up after 60 s.
 * Nothing leaves the machine: the receiver listens on 127.0.0.1.
 */
#include "cpqd/cat.h"
#include "cpqd/outbox.h"
#include "cpqd/sched.h"
#include "cpqd/store.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/thread.h>

#define RUNS 20
#define DELIVERY_LIMIT_S 60.0

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- (a) schedules ---- */

typedef struct mode_line {
    const cat_product *p;
    const cat_price_book *book;
    const cat_pb_entry *entry;
    sched_service svcs[8];
    size_t nsvcs;
    money_dec goods_weight;
} mode_line;

static const cat_pb_entry *entry_in(const cat_price_book *b, const char *sku)
{
    for (size_t i = 0; i < b->nentries; i++)
        if (!strcmp(b->entries[i].sku, sku))
            return &b->entries[i];
    return NULL;
}

/* The first product of mode m (with a book entry; usage: with tiers) in
 * the snapshot. */
static int pick(const cat_snapshot *s, cat_mode m, date_days on, mode_line *out)
{
    for (size_t c = 0; c < cat_snapshot_catalog_count(s); c++) {
        const cat_catalog *k = cat_snapshot_catalog_at(s, c);
        for (size_t i = 0; i < k->nproducts; i++) {
            const cat_product *p = &k->products[i];
            if (p->delivery.mode != m)
                continue;
            for (size_t b = 0; b < k->nbooks; b++) {
                const cat_pb_entry *e = entry_in(&k->books[b], p->sku);
                if (!e || (m == CAT_MODE_USAGE && !e->has_tiers))
                    continue;
                memset(out, 0, sizeof(*out));
                out->p = p, out->book = &k->books[b], out->entry = e;
                if (m == CAT_MODE_GOODS_WITH_SERVICE &&
                    sched_services_from_book(s, out->book, p, on, out->svcs, 8,
                                             &out->goods_weight, &out->nsvcs) != 0)
                    continue;
                return 0;
            }
        }
    }
    return -1;
}

static int bench_schedule(const cat_snapshot *s, size_t nlines)
{
    static const cat_mode modes[] = {CAT_MODE_GOODS, CAT_MODE_GOODS_WITH_SERVICE,
                                     CAT_MODE_SUBSCRIPTION, CAT_MODE_USAGE, CAT_MODE_MILESTONE};
    date_days signed_on = date_from_ymd(2026, 12, 2), start = date_from_ymd(2027, 1, 31);
    mode_line ml[5];
    for (int m = 0; m < 5; m++)
        if (pick(s, modes[m], signed_on, &ml[m]) != 0) {
            fprintf(stderr, "no product of mode %s\n", cat_mode_name(modes[m]));
            return 1;
        }
    sched_line *lines = calloc(nlines, sizeof(*lines));
    date_days *ms = calloc(nlines * 16, sizeof(*ms));
    if (!lines || !ms)
        return 1;
    for (size_t i = 0; i < nlines; i++) {
        mode_line *x = &ml[i % 5];
        sched_line *l = &lines[i];
        if (sched_line_from_product(x->p, money_from_int(12345), l) != 0)
            return 1;
        l->total = (money_dec){1234567 + (int64_t)i, 2}; /* 12,345.67 + i cents */
        l->start_on = start;
        l->delivered_on = signed_on + 10;
        l->accepted_on = signed_on + 20;
        l->services = x->svcs, l->nservices = x->nsvcs, l->goods_weight = x->goods_weight;
        if (l->mode == CAT_MODE_USAGE) {
            l->tiers = x->entry;
            l->unit_price = x->entry->list;
            l->term_months = 12; /* a year of periods at once */
        }
        for (size_t m = 0; m < l->nmilestones && m < 16; m++)
            ms[i * 16 + m] = signed_on + 30 * (date_days)(m + 1);
        if (l->mode == CAT_MODE_MILESTONE)
            l->milestone_accepted = &ms[i * 16];
    }
    sched_contract c = {.currency = ml[0].p->catalog->currency,
                        .rounding = MONEY_HALF_EVEN,
                        .signed_on = signed_on,
                        .lines = lines,
                        .nlines = nlines};
    double t[RUNS];
    size_t items = 0;
    char total[MONEY_FMT_MAX] = "?";
    for (int r = 0; r < RUNS; r++) {
        sched_schedule out;
        cpqd_errs *errs = errs_new();
        double t0 = now_s();
        int rc = sched_contract_build(&c, &out, errs);
        t[r] = now_s() - t0;
        if (rc != 0) {
            fprintf(stderr, "sched_contract_build: %d (%s)\n", rc,
                    errs_count(errs) ? errs_get(errs, 0)->msg : "?");
            errs_free(errs);
            return 1;
        }
        items = out.items.n;
        money_format(out.total, total, sizeof(total));
        sched_schedule_fini(&out);
        errs_free(errs);
    }
    qsort(t, RUNS, sizeof(t[0]), dbl_cmp);
    printf("schedule of a %zu-line contract (%s: %s, %s, %s, %s, %s): %zu items, total %s\n",
           nlines, c.currency, ml[0].p->sku, ml[1].p->sku, ml[2].p->sku, ml[3].p->sku,
           ml[4].p->sku, items, total);
    printf("  sched_contract_build: best %.3f ms, median %.3f ms over %d runs (%.2f us per line)\n",
           t[0] * 1e3, t[RUNS / 2] * 1e3, RUNS, t[RUNS / 2] * 1e6 / (double)nlines);
    free(lines);
    free(ms);
    return 0;
}

/* ---- (b) outbox writes ---- */

static int add_events(store *st, size_t n, size_t per_tx, size_t keys)
{
    char payload[160], rid[32], key[48];
    for (size_t i = 0; i < n;) {
        if (store_begin(st) != 0)
            return 1;
        for (size_t k = 0; k < per_tx && i < n; k++, i++) {
            snprintf(rid, sizeof(rid), "r_%016zx", i);
            snprintf(key, sizeof(key), "contract:c_%zu", i % keys);
            snprintf(payload, sizeof(payload),
                     "{\"id\":\"%s\",\"amount\":\"12345.67\",\"status\":\"paid\",\"seq\":%zu}",
                     rid, i);
            store_outbox_new ev = {.type = "receivable.paid",
                                   .resource_kind = "receivable",
                                   .resource_id = rid,
                                   .order_key = key,
                                   .payload = payload};
            if (store_outbox_add(st, &ev, NULL, NULL) != 0) {
                store_rollback(st);
                return 1;
            }
        }
        if (store_commit(st) != 0)
            return 1;
    }
    return 0;
}

static int bench_outbox_writes(const char *dir)
{
    static const size_t shapes[][2] = {{300, 1}, {20000, 100}};
    for (size_t i = 0; i < 2; i++) {
        char path[512];
        store *st;
        snprintf(path, sizeof(path), "%s/outbox-%zu.db", dir, shapes[i][1]);
        if (store_open(path, true, &st, NULL) != 0)
            return 1;
        double t0 = now_s();
        int rc = add_events(st, shapes[i][0], shapes[i][1], 20);
        double dt = now_s() - t0;
        store_close(st);
        if (rc)
            return 1;
        printf("outbox writes, %zu per transaction: %zu events in %.3f s = %.0f events/s"
               " (%.0f commits/s)\n",
               shapes[i][1], shapes[i][0], dt, (double)shapes[i][0] / dt,
               (double)shapes[i][0] / (double)shapes[i][1] / dt);
    }
    return 0;
}

/* ---- (c) webhook delivery to a loopback receiver ---- */

typedef struct receiver {
    int lfd;
    atomic_size_t got;
    atomic_bool stop;
    double last; /* time of the last 2xx sent */
} receiver;

/* Serves one keep-alive connection: each request (headers, then
 * Content-Length bytes) gets a 200. */
static void serve_conn(receiver *r, int fd)
{
    char buf[65536];
    size_t have = 0;
    while (!atomic_load(&r->stop)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t k = read(fd, buf + have, sizeof(buf) - have);
        if (k <= 0)
            return;
        have += (size_t)k;
        for (;;) {
            char *end = memmem(buf, have, "\r\n\r\n", 4);
            if (!end)
                break;
            size_t hdr = (size_t)(end - buf) + 4, clen = 0;
            char *cl = memmem(buf, hdr, "Content-Length:", 15);
            if (cl)
                clen = strtoul(cl + 15, NULL, 10);
            if (have < hdr + clen)
                break;
            static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
            if (write(fd, ok, sizeof(ok) - 1) != (ssize_t)(sizeof(ok) - 1))
                return;
            r->last = now_s();
            atomic_fetch_add(&r->got, 1);
            memmove(buf, buf + hdr + clen, have - hdr - clen);
            have -= hdr + clen;
        }
        if (have == sizeof(buf))
            return; /* a request larger than the buffer: not ours */
    }
}

static void *receiver_main(void *arg)
{
    receiver *r = arg;
    while (!atomic_load(&r->stop)) {
        struct pollfd p = {r->lfd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        int fd = accept(r->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        serve_conn(r, fd);
        close(fd);
    }
    return NULL;
}

static int listen_loopback(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static int bench_delivery(const char *dir, size_t n)
{
    char path[512], url[64];
    store *st;
    receiver r = {.lfd = -1};
    int port = 0;
    snprintf(path, sizeof(path), "%s/delivery.db", dir);
    if (store_open(path, true, &st, NULL) != 0 || add_events(st, n, 100, 20) != 0)
        return 1;
    store_close(st);
    if ((r.lfd = listen_loopback(&port)) < 0)
        return 1;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
    pthread_t th;
    if (pthread_create(&th, NULL, receiver_main, &r) != 0)
        return 1;
    outbox_config cfg = {.db_path = path,
                         .url = url,
                         .secret = "bench-secret",
                         .secret_len = 12,
                         .max_attempts = 3};
    outbox_worker *w = NULL;
    double t0 = now_s();
    if (outbox_worker_start(&cfg, &w) != 0)
        return 1;
    outbox_worker_wake(w);
    while (atomic_load(&r.got) < n && now_s() - t0 < DELIVERY_LIMIT_S)
        usleep(2000);
    size_t got = atomic_load(&r.got);
    double dt = (got ? r.last : now_s()) - t0;
    outbox_worker_stop(w);
    atomic_store(&r.stop, true);
    pthread_join(th, NULL);
    close(r.lfd);
    printf("webhook delivery (signed POSTs, one in flight, each marked delivered with an fsynced"
           " commit) to a loopback receiver: %zu of %zu events in %.3f s = %.0f events/s%s\n",
           got, n, dt, (double)got / dt, got < n ? " (gave up: time limit)" : "");
    return got == n ? 0 : 1;
}

int main(int argc, char **argv)
{
    size_t nlines = 1000, nevents = 1000;
    if (argc < 4) {
        fprintf(stderr, "usage: bench_contracts CATALOG_DIR RULES_DIR WORK_DIR [--lines N]"
                        " [--events N]\n");
        return 2;
    }
    for (int i = 4; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--lines"))
            nlines = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--events"))
            nevents = strtoul(argv[i + 1], NULL, 10);
    }
    if (nlines < 5 || nlines > 1000000 || nevents < 1 || nevents > 1000000) {
        fprintf(stderr, "bench_contracts: --lines 5..1000000, --events 1..1000000\n");
        return 2;
    }
    printf("$ bench_contracts %s %s WORK --lines %zu --events %zu\n", argv[1], argv[2], nlines,
           nevents);
    evthread_use_pthreads();
    cpqd_errs *errs = errs_new();
    cat_snapshot *s = cat_snapshot_load(argv[1], argv[2], errs);
    if (!s) {
        fprintf(stderr, "catalogs: %s\n", errs_count(errs) ? errs_get(errs, 0)->msg : "?");
        errs_free(errs);
        return 1;
    }
    errs_free(errs);
    int rc = bench_schedule(s, nlines);
    cat_snapshot_release(s);
    if (rc == 0)
        rc = bench_outbox_writes(argv[3]);
    if (rc == 0)
        rc = bench_delivery(argv[3], nevents);
    return rc;
}
