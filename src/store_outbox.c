/*
 * store_outbox: the outbox table (see store.h "outbox").
 *
 * Owns: writing events in the caller's transaction, their cursor (seq),
 * the webhook body (built once, at insert), and their delivery state
 * (pending -> delivered, pending -> failed -> pending on replay).
 * Does not own: what an event means or its payload (quote and later
 * contract, sched), sending it or the retry policy (outbox), the HTTP
 * feed (http_events).
 *
 * Invariants: seq and body never change once written; an event leaves
 * pending only through mark_delivered or a parking mark_failed, and
 * comes back only through replay; each of these checks the status it
 * expects in the UPDATE itself, so two deliverers cannot both win.
 */
#include "store_int.h"

#include "cpqd/date.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define OUTBOX_TS_LEN DATE_TS_MS_LEN /* "2026-11-26T08:41:14.123Z" + NUL */

void store_outbox_event_fini(store_outbox_event *e)
{
    if (!e)
        return;
    free(e->type), free(e->resource_kind), free(e->resource_id), free(e->order_key);
    free(e->payload), free(e->body), free(e->created_at), free(e->status);
    free(e->next_attempt_at), free(e->last_error), free(e->delivered_at);
    memset(e, 0, sizeof(*e));
}

/* Event types and resource kinds are open (later issues add
 * contract.signed, receivables.*) but plain: they go into the body
 * without escaping. */
static bool name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > STORE_OUTBOX_TYPE_MAX)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.") == n;
}

/* An id, a resource id or a key also goes into the body unescaped or into
 * headers: printable ASCII without quotes or backslashes. */
static bool token_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 200)
        return false;
    for (; *s; s++)
        if (*s <= 0x20 || *s >= 0x7f || *s == '"' || *s == '\\')
            return false;
    return true;
}

static int check_new(store *st, const store_outbox_new *in)
{
    if (in->priced.quote &&
        (!token_ok(in->priced.quote) || !store_priced_ref_ok(&in->priced, in->payload)))
        return store_failf(st, CPQD_EINVAL,
                           "outbox: the priced result referenced lies outside the payload, or "
                           "the rest of it is not UTF-8 JSON text");
    if (!name_ok(in->type) || !name_ok(in->resource_kind))
        return store_failf(st, CPQD_EINVAL,
                           "outbox: type and resource kind are required, [a-z0-9_.] only");
    if (!token_ok(in->resource_id) || !token_ok(in->order_key))
        return store_failf(st, CPQD_EINVAL,
                           "outbox: resource id and ordering key are required (printable ASCII)");
    if (!in->priced.quote && !store_text_ok(in->payload))
        return store_failf(st, CPQD_EINVAL, "outbox: payload is required (UTF-8 JSON text)");
    return 0;
}

static int seq_next(store *st, int64_t *seq)
{
    store_stmt *s;
    if (store_flat_seq_take(st, STMT_OUTBOX_SEQ_SET, "", seq))
        return 0;
    int rc = store_prepare(st, STMT_OUTBOX_SEQ_NEXT, &s);
    if (rc != 0)
        return rc;
    int r = store_step(st, s);
    if (r == STORE_ROW)
        *seq = store_col_int64(s, 0);
    else
        rc = store_fail(st, r, "outbox seq");
    store_stmt_done(s);
    if (rc == 0)
        store_flat_seq_note(st, STMT_OUTBOX_SEQ_SET, "", *seq);
    return rc;
}

/* The webhook body: fixed key order, payload verbatim. Every part but the
 * payload was checked to need no escaping. */
static char *body_of(const char *id, const char *type, const char *created_at,
                     const char *payload)
{
    static const char fmt[] =
        "{\"id\":\"%s\",\"type\":\"%s\",\"created_at\":\"%s\",\"payload\":%s}";
    int n = snprintf(NULL, 0, fmt, id, type, created_at, payload);
    char *b = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (b)
        snprintf(b, (size_t)n + 1, fmt, id, type, created_at, payload);
    return b;
}

/* The payload as stored: without the priced result it references, then
 * packed; *out is malloc'ed. */
static int payload_stored(store *st, const store_outbox_new *in, char **out)
{
    if (store_pack_without(in->payload, &in->priced, out) != 0)
        return store_failf(st, CPQD_ENOMEM, "outbox: out of memory");
    return 0;
}

#define ID_ATTEMPTS 4 /* fresh ids tried when one collides (store_ordered_id) */

static int insert(store *st, const store_outbox_new *in, char id[STORE_OUTBOX_ID_LEN],
                  int64_t *seq)
{
    char created[STORE_TS_LEN], due[OUTBOX_TS_LEN];
    char *payload = NULL;
    int rc = seq_next(st, seq);
    if (rc == 0)
        rc = payload_stored(st, in, &payload);
    if (rc != 0)
        return rc;
    store_now(created);
    date_stamp_ms(date_wall_ms(), due);
    rc = CPQD_ECONFLICT;
    for (int a = 0; a < ID_ATTEMPTS && rc == CPQD_ECONFLICT; a++) {
        store_stmt *s;
        if ((rc = store_ordered_id(st, "ev_", id, STORE_OUTBOX_ID_LEN)) != 0 ||
            (rc = store_prepare(st, STMT_OUTBOX_INSERT, &s)) != 0)
            break;
        /* the body is rebuilt when read (body_of): "" */
        const char *t[] = {id, in->type, in->resource_kind, in->resource_id, in->order_key,
                           payload, "", created, due};
        store_bind_int64(st, s, 1, *seq);
        for (int i = 0; i < 9; i++)
            store_bind_text(st, s, i + 2, t[i]);
        store_bind_priced_ref(st, s, 11, &in->priced);
        rc = store_run_insert(st, s, "outbox add");
    }
    free(payload);
    return rc;
}

int store_outbox_add(store *st, const store_outbox_new *in, char id[STORE_OUTBOX_ID_LEN],
                     int64_t *seq)
{
    char idbuf[STORE_OUTBOX_ID_LEN];
    int64_t seqbuf = 0;
    bool own;
    int rc = check_new(st, in);
    if (rc != 0)
        return rc;
    if ((rc = store_write_begin(st, &own)) != 0)
        return rc;
    rc = store_write_end(st, own, insert(st, in, idbuf, &seqbuf));
    if (rc == 0 && id)
        memcpy(id, idbuf, sizeof(idbuf));
    if (rc == 0 && seq)
        *seq = seqbuf;
    return rc;
}

/* ---- reads ---- */


static int row_read(store_stmt *s, store_outbox_event *e)
{
    memset(e, 0, sizeof(*e));
    const char *id = store_col_text(s, 0, NULL);
    snprintf(e->id, sizeof(e->id), "%s", id ? id : "");
    e->seq = store_col_int64(s, 1);
    e->attempts = store_col_int(s, 10);
    char **const f[] = {NULL,           NULL,          &e->type,       &e->resource_kind,
                        &e->resource_id, &e->order_key, NULL,           &e->body,
                        &e->created_at, &e->status,    NULL,           &e->next_attempt_at,
                        &e->last_error, &e->delivered_at};
    int rc = 0;
    for (int i = 0; i < 14 && rc == 0; i++)
        if (f[i] && store_col_dup(s, i, f[i]) != 0)
            rc = CPQD_ENOMEM;
    /* with the referenced version's priced result back in; a row that
     * cannot be read back is returned as damaged, not as an error */
    if (rc == 0 && (rc = store_col_unpack_with(s, 6, 14, 15, &e->payload)) == CPQD_ENOTFOUND)
        e->damaged = "the quote version whose priced result its payload holds is missing";
    else if (rc == CPQD_EIO)
        e->damaged = "its stored payload is corrupt (cannot be unpacked)";
    if (e->damaged) {
        rc = 0;
        free(e->payload);
        free(e->body);
        e->payload = e->body = NULL;
    }
    /* stored once: a body of "" is rebuilt, the same bytes every time */
    if (rc == 0 && e->body && !*e->body) {
        free(e->body);
        e->body = body_of(e->id, e->type, e->created_at, e->payload);
        rc = e->body ? 0 : CPQD_ENOMEM;
    }
    if (rc)
        store_outbox_event_fini(e);
    return rc;
}

/* Steps s to the end, collecting rows into a malloc'ed array. */
static int rows_read(store *st, store_stmt *s, size_t limit, store_outbox_event **items,
                     size_t *n, const char *what)
{
    store_outbox_event *v = calloc(limit, sizeof(*v));
    size_t k = 0;
    int rc = v ? 0 : CPQD_ENOMEM, r = STORE_DONE;
    while (rc == 0 && k < limit && (r = store_step(st, s)) == STORE_ROW) {
        if ((rc = row_read(s, &v[k])) == 0)
            k++;
    }
    if (rc == 0 && r != STORE_DONE && r != STORE_ROW)
        rc = store_fail(st, r, what);
    store_stmt_done(s);
    if (rc != 0 || k == 0) {
        for (size_t i = 0; i < k; i++)
            store_outbox_event_fini(&v[i]);
        free(v);
        return rc;
    }
    *items = v;
    *n = k;
    return 0;
}

static bool status_ok(const char *s)
{
    return s && (!strcmp(s, "pending") || !strcmp(s, "delivered") || !strcmp(s, "failed"));
}

int store_outbox_list(store *st, int64_t after, const char *status, size_t limit,
                      store_outbox_event **items, size_t *n)
{
    store_stmt *s;
    *items = NULL;
    *n = 0;
    if (limit < 1 || limit > STORE_PER_PAGE_MAX || after < 0 || (status && !status_ok(status)))
        return store_failf(st, CPQD_EINVAL,
                           "outbox list: limit 1..%d, cursor >= 0, status pending, delivered "
                           "or failed",
                           STORE_PER_PAGE_MAX);
    int rc = store_prepare(st, STMT_OUTBOX_LIST, &s);
    if (rc != 0)
        return rc;
    store_bind_int64(st, s, 1, after);
    store_bind_text(st, s, 2, status);
    store_bind_int64(st, s, 3, (int64_t)limit);
    return rows_read(st, s, limit, items, n, "outbox list");
}

int store_outbox_due(store *st, int64_t now, size_t limit, store_outbox_event **items, size_t *n)
{
    char ts[OUTBOX_TS_LEN];
    store_stmt *s;
    *items = NULL;
    *n = 0;
    if (limit < 1 || limit > STORE_PER_PAGE_MAX)
        return store_failf(st, CPQD_EINVAL, "outbox due: limit 1..%d", STORE_PER_PAGE_MAX);
    int rc = store_prepare(st, STMT_OUTBOX_DUE, &s);
    if (rc != 0)
        return rc;
    date_stamp_ms(now, ts);
    store_bind_text(st, s, 1, ts);
    store_bind_int64(st, s, 2, (int64_t)limit);
    return rows_read(st, s, limit, items, n, "outbox due");
}

int store_outbox_claim(store *st, const char *id, int64_t now_ms, int64_t until_ms, bool *got)
{
    char now[OUTBOX_TS_LEN], until[OUTBOX_TS_LEN];
    store_stmt *s;
    *got = false;
    if (!store_text_ok(id) || until_ms < now_ms)
        return store_failf(st, CPQD_EINVAL, "outbox claim: an event id and a lease are required");
    int rc = store_prepare(st, STMT_OUTBOX_CLAIM, &s);
    if (rc != 0)
        return rc;
    date_stamp_ms(now_ms, now);
    date_stamp_ms(until_ms, until);
    store_bind_text(st, s, 1, until);
    store_bind_text(st, s, 2, id);
    store_bind_text(st, s, 3, now);
    int r = store_step(st, s);
    if (r == STORE_DONE)
        *got = store_changes(st, s) == 1;
    else
        rc = store_fail(st, r, "outbox claim");
    store_stmt_done(s);
    return rc;
}

int store_outbox_release(store *st, const char *id, int64_t until_ms, int64_t now_ms)
{
    static const char sql[] = "UPDATE outbox SET next_attempt_at = $1"
                              " WHERE id = $2 AND status = 'pending' AND next_attempt_at = $3";
    char now[OUTBOX_TS_LEN], until[OUTBOX_TS_LEN];
    store_stmt *s;
    if (!store_text_ok(id) || until_ms < now_ms)
        return store_failf(st, CPQD_EINVAL, "outbox release: an event id and its lease are required");
    int rc = store_prepare_sql(st, sql, &s);
    if (rc != 0)
        return store_fail(st, rc, "outbox release");
    date_stamp_ms(now_ms, now);
    date_stamp_ms(until_ms, until);
    store_bind_text(st, s, 1, now);
    store_bind_text(st, s, 2, id);
    store_bind_text(st, s, 3, until);
    rc = store_run(st, s, "outbox release", NULL);
    store_stmt_free(s);
    return rc;
}

int store_outbox_get(store *st, const char *id, store_outbox_event *out)
{
    store_stmt *s;
    memset(out, 0, sizeof(*out));
    if (!store_text_ok(id))
        return store_failf(st, CPQD_EINVAL, "outbox: an event id is required");
    int rc = store_prepare(st, STMT_OUTBOX_GET, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, id);
    int r = store_step(st, s);
    if (r == STORE_ROW)
        rc = row_read(s, out);
    else if (r == STORE_DONE)
        rc = store_failf(st, CPQD_ENOTFOUND, "outbox: no event %.64s", id);
    else
        rc = store_fail(st, r, "outbox get");
    store_stmt_done(s);
    return rc;
}

/* ---- state moves ---- */

/* Why an UPDATE guarded by a status changed no row: no such event
 * (CPQD_ENOTFOUND) or not in the expected status (CPQD_ECONFLICT). */
static int why_unchanged(store *st, const char *id, const char *want)
{
    store_stmt *s;
    int rc = store_prepare(st, STMT_OUTBOX_STATUS, &s);
    if (rc != 0)
        return rc;
    store_bind_text(st, s, 1, id);
    int r = store_step(st, s);
    if (r == STORE_ROW)
        rc = store_failf(st, CPQD_ECONFLICT, "outbox: event %.64s is %s, not %s", id,
                         store_col_text(s, 0, NULL), want);
    else if (r == STORE_DONE)
        rc = store_failf(st, CPQD_ENOTFOUND, "outbox: no event %.64s", id);
    else
        rc = store_fail(st, r, "outbox status");
    store_stmt_done(s);
    return rc;
}

/* Steps a prepared, bound UPDATE on id in a write scope of its own (or
 * the caller's transaction); 0 if it changed the row. */
static int update_one(store *st, store_stmt *s, const char *id, const char *want)
{
    bool own;
    int rc = store_write_begin(st, &own);
    if (rc != 0) {
        store_stmt_done(s);
        return rc;
    }
    int r = store_step(st, s);
    int changed = r == STORE_DONE ? (int)store_changes(st, s) : 0;
    store_stmt_done(s);
    if (r != STORE_DONE)
        rc = store_fail(st, r, "outbox update");
    else if (changed == 0)
        rc = why_unchanged(st, id, want);
    return store_write_end(st, own, rc);
}

int store_outbox_mark_delivered(store *st, const char *id)
{
    char now[STORE_TS_LEN];
    store_stmt *s;
    if (!store_text_ok(id))
        return store_failf(st, CPQD_EINVAL, "outbox: an event id is required");
    int rc = store_prepare(st, STMT_OUTBOX_DELIVERED, &s);
    if (rc != 0)
        return rc;
    store_now(now);
    store_bind_text(st, s, 1, now);
    store_bind_text(st, s, 2, id);
    return update_one(st, s, id, "pending");
}

int store_outbox_mark_failed(store *st, const char *id, const char *error, int64_t next_ms,
                             bool park)
{
    char next[OUTBOX_TS_LEN];
    store_stmt *s;
    if (!store_text_ok(id) || !store_opt_text_ok(error))
        return store_failf(st, CPQD_EINVAL, "outbox: an event id is required, error UTF-8");
    int rc = store_prepare(st, STMT_OUTBOX_FAILED, &s);
    if (rc != 0)
        return rc;
    date_stamp_ms(next_ms, next);
    store_bind_text(st, s, 1, error);
    store_bind_text(st, s, 2, next);
    store_bind_int64(st, s, 3, park ? 1 : 0);
    store_bind_text(st, s, 4, id);
    return update_one(st, s, id, "pending");
}

int store_outbox_replay(store *st, const char *id)
{
    char due[OUTBOX_TS_LEN];
    store_stmt *s;
    if (!store_text_ok(id))
        return store_failf(st, CPQD_EINVAL, "outbox: an event id is required");
    int rc = store_prepare(st, STMT_OUTBOX_REPLAY, &s);
    if (rc != 0)
        return rc;
    date_stamp_ms(date_wall_ms(), due);
    store_bind_text(st, s, 1, due);
    store_bind_text(st, s, 2, id);
    return update_one(st, s, id, "failed");
}

int store_outbox_prune(store *st, int64_t before_ms, int64_t *n)
{
    char ts[OUTBOX_TS_LEN];
    store_stmt *s;
    bool own;
    int changes = 0;
    if (n)
        *n = 0;
    int rc = store_prepare(st, STMT_OUTBOX_PRUNE, &s);
    if (rc != 0)
        return rc;
    if ((rc = store_write_begin(st, &own)) != 0) {
        store_stmt_done(s);
        return rc;
    }
    date_stamp_ms(before_ms, ts);
    store_bind_text(st, s, 1, ts);
    rc = store_write_end(st, own, store_run(st, s, "outbox prune", &changes));
    if (rc == 0 && n)
        *n = changes;
    return rc;
}

/* ---- the backlog (GET /metrics, GET /readyz) ---- */

/* "YYYY-MM-DDThh:mm:ss[.mmm]Z" as Unix milliseconds; -1 if malformed. */
static int64_t stamp_ms(const char *t)
{
    date_days d;
    size_t n = t ? strlen(t) : 0;
    if (n < 20 || date_parse(t, 10, &d) != 0 || t[10] != 'T' || t[13] != ':' || t[16] != ':')
        return -1;
    int v[3];
    for (int i = 0; i < 3; i++) {
        const char *p = t + 11 + 3 * i;
        if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
            return -1;
        v[i] = (p[0] - '0') * 10 + (p[1] - '0');
    }
    int ms = 0;
    if (t[19] == '.' && n >= 24)
        ms = atoi(t + 20) % 1000;
    return (((int64_t)d * 24 + v[0]) * 60 + v[1]) * 60000 + (int64_t)v[2] * 1000 + ms;
}

/* Steps an uncached statement once; *out the first column's text
 * (malloc'ed, NULL for SQL NULL) and *num the second's integer. */
static int stats_query(store *st, const char *sql, int64_t *num, char **text)
{
    store_stmt *s = NULL;
    *text = NULL;
    int rc = store_prepare_sql(st, sql, &s);
    if (rc != 0)
        return store_fail(st, rc, "outbox stats");
    int r = store_step(st, s);
    if (r == STORE_ROW) {
        if (num)
            *num = store_col_int64(s, 1);
        rc = store_col_null(s, 0) ? 0 : store_col_dup(s, 0, text);
    } else if (r != STORE_DONE) {
        rc = store_fail(st, r, "outbox stats");
    }
    store_stmt_free(s);
    return rc;
}

int store_outbox_stats_get(store *st, bool due, store_outbox_stats *out)
{
    char *t = NULL;
    *out = (store_outbox_stats){.oldest_pending = -1, .oldest_due = -1};
    int rc = stats_query(st, "SELECT MIN(created_at), COUNT(*) FROM outbox"
                             " WHERE status = 'pending'", &out->pending, &t);
    if (rc == 0 && t)
        out->oldest_pending = stamp_ms(t);
    free(t);
    t = NULL;
    if (rc == 0)
        rc = stats_query(st, "SELECT MIN(status), COUNT(*) FROM outbox WHERE status = 'failed'",
                         &out->failed, &t);
    free(t);
    t = NULL;
    /* the head of each key, as STMT_OUTBOX_DUE finds them */
    if (rc == 0 && due)
        rc = stats_query(st,
                         "SELECT MIN(o.next_attempt_at), 0 FROM outbox o WHERE o.status = 'pending'"
                         " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.order_key = o.order_key"
                         " AND p.seq < o.seq AND p.status <> 'delivered')",
                         NULL, &t);
    if (rc == 0 && t)
        out->oldest_due = stamp_ms(t);
    free(t);
    return rc;
}
