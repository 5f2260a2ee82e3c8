/*
 * http_events: the outbox over HTTP (docs/events.md): the pull feed for
 * CRMs that poll, the failed list and the replay for operators.
 *
 * Owns: parsing these routes' parameters and the JSON of events.
 * Does not own: the events or their state (store), delivery (outbox), who
 * may call (the route table in http_route.c: crm and admin for the feed,
 * admin for the rest).
 *
 * Invariant: the feed's cursor is the seq of the last item returned
 * (or the one given when nothing follows it); seqs are handed out in
 * commit order, so following "next" never skips an event.
 */
#include "http_int.h"

#include "cpqd/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_LIMIT_DEFAULT 100

#define EVENTS_TYPES_MAX 16    /* event types one `type` filter names */
#define EVENTS_SCAN_PAGES 20   /* pages of limit events a filtered read scans at most */

typedef struct events_type {
    const char *name;
    size_t len;
} events_type;

typedef struct events_query {
    int64_t after;
    size_t limit;
    const char *status;
    events_type types[EVENTS_TYPES_MAX]; /* none: every type */
    size_t ntypes;
} events_query;

/* Digits only, within [lo, hi]. */
static bool parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t v = 0;
    if (!*s || strlen(s) > 18)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (*s - '0');
    }
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* A `type` filter: names separated by commas, each [a-z0-9_.]+. */
static int types_read(const char *v, events_query *eq, cpqd_errs *errs)
{
    const char *p = v;
    while (*p) {
        size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_.");
        if (!len || (p[len] && p[len] != ',') || eq->ntypes == EVENTS_TYPES_MAX) {
            errs_add(errs, CPQD_EINVAL, NULL, 0, 0,
                     "type: at most %d event types separated by commas (got '%.64s')",
                     EVENTS_TYPES_MAX, v);
            return CPQD_EINVAL;
        }
        eq->types[eq->ntypes++] = (events_type){p, len};
        p += len + (p[len] == ',');
    }
    return 0;
}

static int query_read(const http_query *q, events_query *eq, cpqd_errs *errs)
{
    svc_page pg = http_page_of(q, EVENTS_LIMIT_DEFAULT); /* limit: checked by http_page_read */
    eq->limit = pg.limit;
    if (pg.after && !parse_i64(pg.after, 0, INT64_MAX / 2, &eq->after)) {
        errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "after: a cursor from a previous \"next\"");
        return CPQD_EINVAL;
    }
    const char *types = http_query_value(q, "type");
    return types ? types_read(types, eq, errs) : 0;
}

static bool type_wanted(const events_query *eq, const char *type)
{
    for (size_t i = 0; i < eq->ntypes; i++)
        if (strlen(type) == eq->types[i].len && !memcmp(type, eq->types[i].name, eq->types[i].len))
            return true;
    return !eq->ntypes;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* One event as the feed shows it; with state, also its delivery state
 * (the admin view). */
static json_t *event_json(const store_outbox_event *e, bool state)
{
    json_error_t je;
    json_t *payload = e->payload ? json_loads(e->payload, JSON_DECODE_ANY, &je) : NULL;
    json_t *o = json_pack("{s:s,s:I,s:s?,s:{s:s?,s:s?},s:s?,s:o}", "id", e->id, "seq",
                          (json_int_t)e->seq, "type", e->type, "resource", "kind",
                          e->resource_kind, "id", e->resource_id, "created_at", e->created_at,
                          "payload", payload ? payload : json_null());
    if (o && state) {
        json_object_set_new(o, "order_key", str_or_null(e->order_key));
        json_object_set_new(o, "status", str_or_null(e->status));
        json_object_set_new(o, "attempts", json_integer(e->attempts));
        json_object_set_new(o, "next_attempt_at", str_or_null(e->next_attempt_at));
        json_object_set_new(o, "last_error", str_or_null(e->last_error ? e->last_error : e->damaged));
        json_object_set_new(o, "delivered_at", str_or_null(e->delivered_at));
    }
    return o;
}

static char *dump(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* Appends the events of items[0..n) eq wants to arr (until it holds
 * eq->limit) and frees them all; *next gets the seq of the last one
 * looked at. */
static int page_add(json_t *arr, const events_query *eq, store_outbox_event *items, size_t n,
                    bool state, int64_t *next)
{
    int rc = arr ? 0 : CPQD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && json_array_size(arr) < eq->limit) {
            if (type_wanted(eq, items[i].type) &&
                json_array_append_new(arr, event_json(&items[i], state)) != 0)
                rc = CPQD_ENOMEM;
            *next = items[i].seq;
        }
        store_outbox_event_fini(&items[i]);
    }
    free(items);
    return rc;
}

/* {"items":[...],"next":"CURSOR"}: the events after eq->after that eq
 * wants, at most eq->limit; a type filter reads on through later pages
 * (EVENTS_SCAN_PAGES at most) and `next` is the last event looked at, so
 * polling from it never skips one. */
static int page_read(store *st, const events_query *eq, bool state, char **out)
{
    json_t *arr = json_array();
    int64_t next = eq->after;
    int rc = 0;
    for (int scan = 0; rc == 0 && scan < EVENTS_SCAN_PAGES && json_array_size(arr) < eq->limit;
         scan++) {
        store_outbox_event *items = NULL;
        size_t n = 0;
        if ((rc = store_outbox_list(st, next, eq->status, eq->limit, &items, &n)) != 0)
            break;
        rc = page_add(arr, eq, items, n, state, &next);
        if (n < eq->limit || !eq->ntypes)
            break;
    }
    char cursor[24];
    snprintf(cursor, sizeof(cursor), "%" PRId64, next);
    if (rc == 0)
        rc = (*out = dump(json_pack("{s:o,s:s}", "items", arr, "next", cursor))) ? 0 : CPQD_ENOMEM;
    else
        json_decref(arr);
    return rc;
}

static void list(http_ctx *c, const http_query *q, events_query eq, bool state)
{
    svc_page pg;
    if (!http_page_read(c, q, EVENTS_LIMIT_DEFAULT, &pg))
        return;
    cpqd_errs *errs = errs_new();
    int rc = errs ? query_read(q, &eq, errs) : CPQD_ENOMEM;
    if (rc) {
        http_reply_errs(c, rc, errs, "listing events");
        errs_free(errs);
        return;
    }
    store *st = http_ctx_store(c);
    char *body = NULL;
    if (st && (rc = page_read(st, &eq, state, &body)) != 0) {
        errs_add(errs, rc, NULL, 0, 0, "%s", store_last_error(st));
        http_reply_errs(c, rc, errs, "listing events");
    } else if (st) {
        http_reply_text(c, 200, body);
    }
    errs_free(errs);
}

void http_events_feed(http_ctx *c, const http_query *q)
{
    list(c, q, (events_query){.limit = EVENTS_LIMIT_DEFAULT}, false);
}

/* The delivery states of an event (store_outbox). */
static const char *const event_states[] = {"failed", "pending", "delivered", NULL};

void http_events_admin(http_ctx *c, const http_query *q)
{
    events_query eq = {.limit = EVENTS_LIMIT_DEFAULT, .status = "failed"};
    if (http_query_enum(c, q, "status", event_states, &eq.status))
        list(c, q, eq, true);
}

void http_events_replay(http_ctx *c, const http_query *q)
{
    (void)q;
    const char *id = http_ctx_param(c, 0);
    store *st = http_ctx_store(c);
    if (!st)
        return;
    cpqd_errs *errs = errs_new();
    store_outbox_event e;
    int rc = errs ? store_outbox_replay(st, id) : CPQD_ENOMEM;
    if (rc == 0)
        rc = store_outbox_get(st, id, &e);
    if (rc == 0) {
        http_outbox_wake(http_ctx_worker(c)->srv);
        http_reply_text(c, 200, dump(event_json(&e, true)));
        store_outbox_event_fini(&e);
    } else {
        if (errs)
            errs_add(errs, rc, NULL, 0, 0, "%s", store_last_error(st));
        http_reply_errs(c, rc, errs, "replaying the event");
    }
    errs_free(errs);
}
