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

typedef struct events_query {
    int64_t after;
    size_t limit;
    const char *status;
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

static int query_read(const http_query *q, events_query *eq, cpqd_errs *errs)
{
    for (size_t i = 0; i < q->n; i++) {
        const http_param *p = &q->p[i];
        int64_t v = 0;
        if (!strcmp(p->key, "after") && !parse_i64(p->val, 0, INT64_MAX / 2, &v)) {
            errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "after: a cursor from a previous \"next\"");
            return CPQD_EINVAL;
        }
        if (!strcmp(p->key, "after"))
            eq->after = v;
        if (!strcmp(p->key, "limit")) {
            if (!parse_i64(p->val, 1, STORE_PER_PAGE_MAX, &v)) {
                errs_add(errs, CPQD_EINVAL, NULL, 0, 0, "limit: an integer from 1 to %d",
                         STORE_PER_PAGE_MAX);
                return CPQD_EINVAL;
            }
            eq->limit = (size_t)v;
        }
    }
    return 0;
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
        json_object_set_new(o, "last_error", str_or_null(e->last_error));
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

/* {"items":[...],"next":"CURSOR"} of one page; frees the items. */
static char *page_json(store_outbox_event *items, size_t n, int64_t after, bool state)
{
    json_t *arr = json_array();
    int64_t next = after;
    for (size_t i = 0; i < n; i++) {
        if (arr && json_array_append_new(arr, event_json(&items[i], state)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
        next = items[i].seq;
        store_outbox_event_fini(&items[i]);
    }
    free(items);
    char cursor[24];
    snprintf(cursor, sizeof(cursor), "%" PRId64, next);
    return arr ? dump(json_pack("{s:o,s:s}", "items", arr, "next", cursor)) : NULL;
}

static void list(http_ctx *c, const http_query *q, events_query eq, bool state)
{
    cpqd_errs *errs = errs_new();
    int rc = errs ? query_read(q, &eq, errs) : CPQD_ENOMEM;
    if (rc) {
        http_reply_errs(c, rc, errs, "listing events");
        errs_free(errs);
        return;
    }
    store *st = http_ctx_store(c);
    store_outbox_event *items = NULL;
    size_t n = 0;
    if (st && (rc = store_outbox_list(st, eq.after, eq.status, eq.limit, &items, &n)) != 0) {
        errs_add(errs, rc, NULL, 0, 0, "%s", store_last_error(st));
        http_reply_errs(c, rc, errs, "listing events");
    } else if (st) {
        http_reply_text(c, 200, page_json(items, n, eq.after, state));
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
