/*
 * store_quote: quotes, their versions and status history, and the list.
 *
 * Owns: quote numbering (Q-YYYY-NNNNNN, gap-free per year), quote ids,
 * the head row that mirrors a quote's latest version, versions that never
 * change once superseded, and the history. Does not own: which statuses
 * exist or which moves are legal (quote), what the JSON says.
 *
 * Invariant: every write runs in one write scope (store_write_begin/end),
 * so the counter increment, the head, the version and the history entry of
 * a call land together or not at all; a number is therefore consumed only
 * by a committed quote.
 */
#include "store_int.h"

#include "cpqd/date.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define QUOTE_ID_LEN 19 /* "q_" + 16 hex + NUL */
#define QUOTE_NUMBER_LEN 32
#define ID_ATTEMPTS 4 /* fresh ids tried when one collides (store_ordered_id) */

/* ---- validation ---- */

/* The content fields of q (not id, number, version or timestamps). */
static int quote_check(store *st, const store_quote *q)
{
    /* a text packed by store_quote_pack was checked there */
    const struct {
        const char *name, *v, *packed;
    } req[] = {
        {"status", q->status, NULL},
        {"customer_id", q->customer_id, NULL},
        {"currency", q->currency, NULL},
        {"catalog_version", q->catalog_version, NULL},
        {"request", q->request, q->request_packed},
        {"priced", q->priced, q->priced_packed},
        {"created_by", q->created_by, NULL},
    };
    for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
        if (!(req[i].packed && req[i].v) && !store_text_ok(req[i].v))
            return store_failf(st, CPQD_EINVAL, "quote: %s is missing, empty or not UTF-8",
                               req[i].name);
    }
    if (!store_decimal_ok(q->total))
        return store_failf(st, CPQD_EINVAL, "quote: total must be a decimal such as 1234.50");
    if (!store_opt_text_ok(q->partner_id) || !store_opt_text_ok(q->approval_level))
        return store_failf(st, CPQD_EINVAL,
                           "quote: partner_id or approval_level is empty or "
                           "not UTF-8");
    if (!store_date_ok(q->valid_until))
        return store_failf(st, CPQD_EINVAL, "quote: valid_until must be a date YYYY-MM-DD");
    return 0;
}

/* ---- reading ---- */

void store_quote_fini(store_quote *q)
{
    if (!q)
        return;
    char *const f[] = {q->id,         q->number,     q->status,      q->customer_id,
                       q->partner_id, q->currency,   q->total,       q->catalog_version,
                       q->request,    q->priced,     q->valid_until, q->approval_level,
                       q->created_by, q->created_at, q->updated_at, q->request_packed,
                       q->priced_packed};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        free(f[i]);
    memset(q, 0, sizeof(*q));
}

/* A row of QUOTE_COLS (store_sql.c) into *out. CPQD_EIO when its
 * request or priced result does not unpack (a damaged database): *col
 * (may be NULL) then names it. */
static int quote_read(store_stmt *s, store_quote *out, const char **col)
{
    memset(out, 0, sizeof(*out));
    char **const text[] = {
        [0] = &out->id,          [1] = &out->number,          [3] = &out->status,
        [4] = &out->customer_id, [5] = &out->partner_id,      [6] = &out->currency,
        [7] = &out->total,       [8] = &out->catalog_version, [9] = &out->request,
        [10] = &out->priced,     [11] = &out->valid_until,    [13] = &out->approval_level,
        [14] = &out->created_by, [15] = &out->created_at,     [16] = &out->updated_at,
    };
    for (int i = 0; i < (int)(sizeof(text) / sizeof(text[0])); i++) {
        size_t len = 0;
        const char *v = i == 9 || i == 10 ? store_col_text(s, i, &len) : NULL;
        /* request and priced are stored packed (store_pack.c) */
        int rc = !text[i] ? 0 : v ? store_unpack(v, len, text[i], NULL) : store_col_dup(s, i, text[i]);
        if (rc != 0) {
            if (col)
                *col = i == 9 ? "request" : "priced result";
            store_quote_fini(out);
            return rc;
        }
    }
    out->version = store_col_int(s, 2);
    out->approval_required = store_col_int(s, 12) != 0;
    return 0;
}

static int quote_get(store *st, const char *id, int version, bool head, store_quote *out)
{
    store_stmt *s;
    memset(out, 0, sizeof(*out));
    if (!store_text_ok(id) || version < 0)
        return store_failf(st, CPQD_EINVAL, "quote get: id missing or version negative");
    int rc = store_prepare(st, head ? STMT_QUOTE_GET_HEAD : STMT_QUOTE_GET, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, id);
    if (!head)
        store_bind_int64(st, s, 2, version);
    int r = store_step(st, s);
    if (r == STORE_ROW) {
        const char *col = NULL;
        /* one damaged record is an error of this quote, not of the
         * database: a batch reading many (the sweep) fails it alone */
        char ver[24] = "";
        if (version)
            snprintf(ver, sizeof(ver), " version %d", version);
        if ((rc = quote_read(s, out, &col)) == CPQD_EIO)
            rc = store_failf(st, CPQD_EINTERNAL,
                             "quote %s%s: its stored %s is damaged (cannot be unpacked)", id, ver,
                             col);
    } else if (r == STORE_DONE)
        rc = store_failf(st, CPQD_ENOTFOUND, "quote %s version %d: not found", id, version);
    else
        rc = store_fail(st, r, "quote get");
    store_stmt_done(s);
    return rc;
}

int store_quote_get(store *st, const char *id, int version, store_quote *out)
{
    return quote_get(st, id, version, false, out);
}

int store_quote_get_head(store *st, const char *id, store_quote *out)
{
    return quote_get(st, id, 0, true, out);
}

/* The latest version and status (*status malloc'ed) of quote id. */
static int head_read(store *st, const char *id, int *latest, char **status)
{
    store_stmt *s;
    *status = NULL;
    int rc = store_prepare(st, STMT_QUOTE_HEAD, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, id);
    int r = store_step(st, s);
    if (r == STORE_ROW) {
        *latest = store_col_int(s, 0);
        rc = store_col_dup(s, 1, status);
    } else if (r == STORE_DONE) {
        rc = store_failf(st, CPQD_ENOTFOUND, "quote %s: not found", id);
    } else {
        rc = store_fail(st, r, "quote head");
    }
    store_stmt_done(s);
    return rc;
}

/* ---- writing ---- */

/* The head row of a new quote, under a fresh random id in id. */
static int head_insert(store *st, const store_quote *q, char id[QUOTE_ID_LEN], const char *number,
                       int year, int64_t seq, const char *now)
{
    int rc = CPQD_ECONFLICT;
    for (int attempt = 0; attempt < ID_ATTEMPTS && rc == CPQD_ECONFLICT; attempt++) {
        store_stmt *s;
        if ((rc = store_ordered_id(st, "q_", id, QUOTE_ID_LEN)) != 0 ||
            (rc = store_prepare(st, STMT_QUOTE_INSERT, &s)) != 0)
            return rc;
        const char *text[] = {id, number};
        for (int i = 0; i < 2; i++)
            store_bind_text(st, s, i + 1, text[i]);
        store_bind_int64(st, s, 3, year);
        store_bind_int64(st, s, 4, seq);
        store_bind_int64(st, s, 5, 1);
        const char *rest[] = {q->status, q->customer_id, q->partner_id, q->currency,
                              q->total,  q->created_by,  now,           now};
        for (int i = 0; i < 8; i++)
            store_bind_text(st, s, i + 6, rest[i]);
        rc = store_run_insert(st, s, "quote insert");
    }
    return rc;
}

static int version_insert(store *st, const char *id, int version, const store_quote *q,
                          const char *now)
{
    store_stmt *s;
    int rc = store_prepare(st, STMT_VERSION_INSERT, &s);
    if (rc != 0)
        return rc;
    /* the request and the priced result, the bulk of a version, packed
     * (ahead of the transaction by store_quote_pack, or now) */
    char *request = NULL, *priced = NULL;
    size_t n;
    if ((!q->request_packed &&
         store_pack(q->request, strlen(q->request), STORE_PACK_FAST, &request, &n) != 0) ||
        (!q->priced_packed &&
         store_pack(q->priced, strlen(q->priced), STORE_PACK_FAST, &priced, &n) != 0)) {
        free(request);
        store_stmt_done(s);
        return store_failf(st, CPQD_ENOMEM, "quote version insert: out of memory");
    }
    const char *req_text = q->request_packed ? q->request_packed : request ? request : q->request;
    const char *priced_text = q->priced_packed ? q->priced_packed : priced ? priced : q->priced;
    store_bind_text(st, s, 1, id);
    store_bind_int64(st, s, 2, version);
    const char *a[] = {q->status,          q->customer_id,
                       q->partner_id,      q->currency,
                       q->total,           q->catalog_version,
                       req_text,           priced_text,
                       q->valid_until};
    for (int i = 0; i < 9; i++)
        store_bind_text(st, s, i + 3, a[i]);
    store_bind_int64(st, s, 12, q->approval_required ? 1 : 0);
    const char *b[] = {q->approval_level, q->created_by, now, now};
    for (int i = 0; i < 4; i++)
        store_bind_text(st, s, i + 13, b[i]);
    rc = store_run(st, s, "quote version insert", NULL);
    free(request);
    free(priced);
    return rc;
}

/* Appends to the history of quote id (inside a write scope). */
static int event_insert(store *st, const char *id, int version, const char *from, const char *to,
                        const char *actor, const char *note, const char *now)
{
    store_stmt *s;
    int64_t seq = 0;
    int rc = store_prepare(st, STMT_EVENT_NEXT, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, id);
    int r = store_step(st, s);
    if (r == STORE_ROW)
        seq = store_col_int64(s, 0);
    else
        rc = store_fail(st, r, "quote history");
    store_stmt_done(s);
    if (rc != 0 || (rc = store_prepare(st, STMT_EVENT_INSERT, &s)) != 0)
        return rc;
    store_bind_text(st, s, 1, id);
    store_bind_int64(st, s, 2, seq);
    store_bind_int64(st, s, 3, version);
    const char *t[] = {from, to, actor, note, now};
    for (int i = 0; i < 5; i++)
        store_bind_text(st, s, i + 4, t[i]);
    return store_run(st, s, "quote history", NULL);
}

/* The four strings store_quote_insert hands back, all or none. */
static int outputs_dup(store_quote *q, const char *id, const char *number, const char *now)
{
    char *a = store_strdup(id), *b = store_strdup(number);
    char *c = store_strdup(now), *d = store_strdup(now);
    if (!a || !b || !c || !d) {
        free(a), free(b), free(c), free(d);
        return CPQD_ENOMEM;
    }
    q->id = a, q->number = b, q->created_at = c, q->updated_at = d;
    return 0;
}

int store_quote_insert(store *st, store_quote *q, int year)
{
    char id[QUOTE_ID_LEN], number[QUOTE_NUMBER_LEN], now[STORE_TS_LEN];
    int64_t seq = 0;
    bool own;
    int rc = quote_check(st, q);
    if (rc != 0)
        return rc;
    if (year < 1000 || year > 9999)
        return store_failf(st, CPQD_EINVAL, "quote: year %d out of range 1000..9999", year);
    store_now(now);
    if ((rc = store_write_begin(st, &own)) != 0)
        return rc;
    rc = store_counter_next(st, STMT_COUNTER_NEXT, year, "quote number", &seq);
    if (rc == 0) {
        snprintf(number, sizeof(number), "Q-%04d-%06lld", year, (long long)seq);
        rc = head_insert(st, q, id, number, year, seq, now);
    }
    if (rc == 0)
        rc = version_insert(st, id, 1, q, now);
    if (rc == 0)
        rc = event_insert(st, id, 1, NULL, q->status, q->created_by, NULL, now);
    /* Allocated before committing so that a committed quote is never
     * reported as failed for want of memory. */
    store_quote out = {0};
    if (rc == 0 && (rc = outputs_dup(&out, id, number, now)) != 0)
        store_failf(st, rc, "out of memory");
    if ((rc = store_write_end(st, own, rc)) != 0) {
        store_quote_fini(&out);
        return rc;
    }
    q->id = out.id, q->number = out.number, q->version = 1;
    q->created_at = out.created_at, q->updated_at = out.updated_at;
    return 0;
}

static int head_update(store *st, const store_quote *q, const char *now)
{
    store_stmt *s;
    int changes = 0;
    int rc = store_prepare(st, STMT_QUOTE_HEAD_UPDATE, &s);
    if (rc != 0)
        return rc;
    store_bind_int64(st, s, 1, q->version);
    const char *t[] = {q->status, q->customer_id, q->partner_id, q->currency, q->total, now, q->id};
    for (int i = 0; i < 7; i++)
        store_bind_text(st, s, i + 2, t[i]);
    store_bind_int64(st, s, 9, q->version - 1);
    rc = store_run(st, s, "quote update", &changes);
    if (rc == 0 && changes != 1)
        rc = store_failf(st, CPQD_ECONFLICT, "quote %s: moved on concurrently", q->id);
    return rc;
}

/* add_version inside its write scope; *old gets the previous status. */
static int version_add(store *st, const store_quote *q, const char *now, char **old)
{
    int latest = 0;
    int rc = head_read(st, q->id, &latest, old);
    if (rc != 0)
        return rc;
    if (q->version != latest + 1)
        return store_failf(st, CPQD_ECONFLICT,
                           "quote %s is at version %d: version %d is not the next one", q->id,
                           latest, q->version);
    if ((rc = version_insert(st, q->id, q->version, q, now)) != 0 ||
        (rc = head_update(st, q, now)) != 0)
        return rc;
    return event_insert(st, q->id, q->version, *old, q->status, q->created_by, NULL, now);
}

int store_quote_add_version(store *st, store_quote *q)
{
    char now[STORE_TS_LEN], *old = NULL;
    bool own;
    if (!store_text_ok(q->id) || q->version < 1)
        return store_failf(st, CPQD_EINVAL, "quote: id missing or version below 1");
    int rc = quote_check(st, q);
    if (rc != 0)
        return rc;
    store_now(now);
    char *c = store_strdup(now), *u = store_strdup(now);
    if (!c || !u)
        rc = store_failf(st, CPQD_ENOMEM, "out of memory");
    if (rc == 0 && (rc = store_write_begin(st, &own)) == 0)
        rc = store_write_end(st, own, version_add(st, q, now, &old));
    free(old);
    if (rc != 0) {
        free(c), free(u);
        return rc;
    }
    q->created_at = c, q->updated_at = u;
    return 0;
}

/* set_status inside its write scope. */
static int status_move(store *st, const char *id, const char *from, const char *to,
                       const char *actor, const char *note, const char *now)
{
    int latest = 0, changes = 0;
    char *cur = NULL;
    store_stmt *s;
    int rc = head_read(st, id, &latest, &cur);
    if (rc == 0 && strcmp(cur, from) != 0)
        rc = store_failf(st, CPQD_ECONFLICT, "quote %s is %s, not %s", id, cur, from);
    free(cur);
    if (rc != 0 || (rc = store_prepare(st, STMT_STATUS_UPDATE, &s)) != 0)
        return rc;
    const char *t[] = {to, now, id, from};
    for (int i = 0; i < 4; i++)
        store_bind_text(st, s, i + 1, t[i]);
    if ((rc = store_run(st, s, "quote status", &changes)) != 0)
        return rc;
    if (changes != 1)
        return store_failf(st, CPQD_ECONFLICT, "quote %s: moved on concurrently", id);
    if ((rc = store_prepare(st, STMT_VERSION_STATUS_UPDATE, &s)) != 0)
        return rc;
    store_bind_text(st, s, 1, to);
    store_bind_text(st, s, 2, now);
    store_bind_text(st, s, 3, id);
    store_bind_int64(st, s, 4, latest);
    if ((rc = store_run(st, s, "quote status", NULL)) != 0)
        return rc;
    return event_insert(st, id, latest, from, to, actor, note, now);
}

int store_quote_set_status(store *st, const char *id, const char *from, const char *to,
                           const char *actor, const char *note)
{
    char now[STORE_TS_LEN];
    bool own;
    if (!store_text_ok(id) || !store_text_ok(from) || !store_text_ok(to) || !store_text_ok(actor) ||
        !store_opt_text_ok(note))
        return store_failf(st, CPQD_EINVAL,
                           "quote status: id, from, to and actor are required (UTF-8)");
    store_now(now);
    int rc = store_write_begin(st, &own);
    if (rc != 0)
        return rc;
    return store_write_end(st, own, status_move(st, id, from, to, actor, note, now));
}

/* ---- history ---- */

void store_event_fini(store_event *e)
{
    if (!e)
        return;
    free(e->from), free(e->to), free(e->actor), free(e->note), free(e->at);
    memset(e, 0, sizeof(*e));
}

static int event_read(store_stmt *s, store_event *e)
{
    memset(e, 0, sizeof(*e));
    char **const f[] = {&e->from, &e->to, &e->actor, &e->note, &e->at};
    for (int i = 0; i < 5; i++) {
        if (store_col_dup(s, i, f[i]) != 0) {
            store_event_fini(e);
            return CPQD_ENOMEM;
        }
    }
    e->version = store_col_int(s, 5);
    return 0;
}

/* Makes room for one more item in a growing array of `size`-byte items. */
static int grow(void **items, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 16, bytes;
    if (__builtin_mul_overflow(nc, size, &bytes))
        return CPQD_ENOMEM;
    void *p = realloc(*items, bytes);
    if (!p)
        return CPQD_ENOMEM;
    *items = p;
    *cap = nc;
    return 0;
}

static int events_read(store *st, const char *id, store_event **items, size_t *n)
{
    store_stmt *s;
    size_t cap = 0;
    int rc = store_prepare(st, STMT_EVENTS, &s), r;
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, id);
    while (rc == 0 && (r = store_step(st, s)) == STORE_ROW) {
        if ((rc = grow((void **)items, *n, &cap, sizeof(**items))) == 0 &&
            (rc = event_read(s, &(*items)[*n])) == 0)
            ++*n;
    }
    if (rc == 0 && r != STORE_DONE)
        rc = store_fail(st, r, "quote history");
    store_stmt_done(s);
    return rc;
}

int store_quote_history(store *st, const char *id, store_event **items, size_t *n)
{
    int latest = 0;
    char *status = NULL;
    *items = NULL;
    *n = 0;
    if (!store_text_ok(id))
        return store_failf(st, CPQD_EINVAL, "quote history: id is required");
    int rc = head_read(st, id, &latest, &status);
    free(status);
    if (rc == 0)
        rc = events_read(st, id, items, n);
    if (rc != 0) {
        for (size_t i = 0; i < *n; i++)
            store_event_fini(&(*items)[i]);
        free(*items);
        *items = NULL;
        *n = 0;
    }
    return rc;
}

/* ---- list ---- */

/* "%q%" for LIKE with q's own %, _ and \ escaped (ESCAPE '\'). */
static char *like_pattern(const char *q)
{
    size_t len = strlen(q), cap;
    if (__builtin_mul_overflow(len, 2, &cap) || __builtin_add_overflow(cap, 3, &cap))
        return NULL;
    char *p = malloc(cap), *w = p;
    if (!p)
        return NULL;
    *w++ = '%';
    for (const char *r = q; *r; r++) {
        if (*r == '%' || *r == '_' || *r == '\\')
            *w++ = '\\';
        *w++ = *r;
    }
    *w++ = '%';
    *w = '\0';
    return p;
}

static void bind_filter(store *st, store_stmt *s, const store_quote_filter *f, const char *pattern)
{
    store_bind_text(st, s, 1, f->customer);
    store_bind_text(st, s, 2, f->status);
    store_bind_text(st, s, 3, f->partner);
    store_bind_text(st, s, 4, pattern);
}

static int list_page(store *st, const store_quote_filter *f, const char *pattern,
                     store_quote **items, size_t *n)
{
    store_stmt *s;
    size_t cap = 0;
    int rc = store_prepare(st, STMT_LIST, &s), r;
    if (rc != 0)
        return rc;
    bind_filter(st, s, f, pattern);
    store_bind_text(st, s, 5, f->after);
    store_bind_int64(st, s, 6, (int64_t)f->limit);
    while (rc == 0 && (r = store_step(st, s)) == STORE_ROW) {
        if ((rc = grow((void **)items, *n, &cap, sizeof(**items))) == 0 &&
            (rc = quote_read(s, &(*items)[*n], NULL)) == 0)
            ++*n;
    }
    if (rc == 0 && r != STORE_DONE)
        rc = store_fail(st, r, "quote list");
    store_stmt_done(s);
    return rc;
}

static int filter_check(store *st, const store_quote_filter *f)
{
    if (!f || f->limit < 1 || f->limit > STORE_PER_PAGE_MAX + 1)
        return store_failf(st, CPQD_EINVAL, "quote list: limit 1..%d", STORE_PER_PAGE_MAX + 1);
    if (!store_opt_text_ok(f->customer) || !store_opt_text_ok(f->status) ||
        !store_opt_text_ok(f->partner) || !store_opt_text_ok(f->after) ||
        (f->q && *f->q && !store_text_ok(f->q)))
        return store_failf(st, CPQD_EINVAL, "quote list: a filter is empty or not UTF-8");
    return 0;
}

int store_quote_list(store *st, const store_quote_filter *f, store_quote **items, size_t *n)
{
    *items = NULL;
    *n = 0;
    int rc = filter_check(st, f);
    if (rc != 0)
        return rc;
    char *pattern = f->q ? like_pattern(f->q) : NULL;
    if (f->q && !pattern)
        return store_failf(st, CPQD_ENOMEM, "out of memory");
    rc = list_page(st, f, pattern, items, n);
    free(pattern);
    if (rc != 0) {
        for (size_t i = 0; i < *n; i++)
            store_quote_fini(&(*items)[i]);
        free(*items);
        *items = NULL;
        *n = 0;
    }
    return rc;
}

/* A packed copy of text, or a plain copy when it is better stored as
 * it is: 0 or CPQD_ENOMEM. */
static int pack_copy(const char *text, char **out)
{
    size_t n;
    free(*out);
    *out = NULL;
    if (!store_text_ok(text))
        return 0; /* the insert refuses it */
    if (store_pack(text, strlen(text), STORE_PACK_FAST, out, &n) != 0)
        return CPQD_ENOMEM;
    if (!*out)
        *out = strdup(text);
    return *out ? 0 : CPQD_ENOMEM;
}

int store_quote_pack(store_quote *q)
{
    if (!q->request || !q->priced)
        return 0; /* invalid: the insert says so */
    int rc = pack_copy(q->request, &q->request_packed);
    return rc ? rc : pack_copy(q->priced, &q->priced_packed);
}
