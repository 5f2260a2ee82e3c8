/*
 * http_portal: the ordering portal served by cpqd itself (docs/portal.md).
 *
 * Owns: serving the embedded files of web/portal/ under /portal/ with a
 * strict Content-Security-Policy; the session routes (POST, GET and
 * DELETE /v1/session: an API key exchanged for an HttpOnly, SameSite=
 * Strict cookie and a CSRF token); resolving a request's session cookie
 * to its key for authenticate() (http_route.c), with the CSRF and Origin
 * checks of state changes; GET /v1/quotes/{id}/contract (the contract an
 * accepted quote became, so the portal can list a partner's contracts).
 * Does not own: the sessions (portal_session.c, in the store), keys (auth), who
 * may call what (the route table), the API the page calls.
 *
 * Invariant: the key a browser signs in with is read once, looked up,
 * and never written anywhere: not into a cookie, a reply or the log.
 */
#include "http_int.h"

#include "cpqd/contract.h"
#include "cpqd/portal.h"
#include "cpqd/quote.h"
#include "portal_assets.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define COOKIE_NAME "cpqd_session"
#define CSRF_HEADER "X-CSRF-Token"

/* No script, style, font or image from anywhere but this origin, no
 * inline script or style, no framing, no plugins. */
static const char portal_csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

/* ---- static files ---- */

static const portal_asset *asset_find(const char *name)
{
    for (size_t i = 0; i < portal_asset_count; i++)
        if (portal_assets[i].name && !strcmp(portal_assets[i].name, name))
            return &portal_assets[i];
    return NULL;
}

/* GET /portal/ and /portal/{file}. */
void http_portal_asset(http_ctx *c, const http_query *q)
{
    (void)q;
    const char *name = http_ctx_param(c, 0);
    const portal_asset *a = asset_find(name ? name : "index.html");
    if (!a) {
        cpqd_errs *errs = errs_new();
        if (errs)
            errs_add(errs, CPQD_ENOTFOUND, NULL, 0, 0, "no portal file '%.64s'", name);
        http_reply_errs(c, CPQD_ENOTFOUND, errs, "serving the portal");
        errs_free(errs);
        return;
    }
    http_ctx_add_header(c, "Content-Security-Policy", portal_csp);
    http_ctx_add_header(c, "X-Content-Type-Options", "nosniff");
    http_ctx_add_header(c, "Referrer-Policy", "no-referrer");
    http_ctx_add_header(c, "X-Frame-Options", "DENY");
    http_reply_bytes(c, 200, a->type, a->data, a->len);
}

/* ---- cookies ---- */

/* The value of cookie COOKIE_NAME in the request, or NULL; *len its bytes. */
static const char *session_cookie(http_ctx *c, size_t *len)
{
    const char *h = http_ctx_header(c, "Cookie");
    static const char name[] = COOKIE_NAME "=";
    for (const char *p = h; p && *p;) {
        p += strspn(p, " \t");
        size_t n = strcspn(p, ";");
        if (n > sizeof(name) - 1 && !strncmp(p, name, sizeof(name) - 1)) {
            *len = n - (sizeof(name) - 1);
            while (*len && (p[sizeof(name) - 1 + *len - 1] == ' '))
                (*len)--;
            return p + sizeof(name) - 1;
        }
        p += n;
        if (*p == ';')
            p++;
    }
    return NULL;
}

/* A request from another origin: an Origin header that is not this
 * server's (http(s)://Host). Browsers send Origin on every cross-origin
 * request and on same-origin POST/PUT/DELETE; SameSite=Strict already
 * keeps the cookie off cross-site requests: this is the second lock. */
static bool cross_origin(http_ctx *c)
{
    const char *o = http_ctx_header(c, "Origin"), *host = http_ctx_header(c, "Host");
    if (!o)
        return false;
    if (!host)
        return true;
    const char *rest = !strncmp(o, "http://", 7)    ? o + 7
                       : !strncmp(o, "https://", 8) ? o + 8
                                                    : NULL;
    return !rest || strcmp(rest, host) != 0;
}

static bool state_change(http_ctx *c)
{
    enum evhttp_cmd_type m = http_ctx_method(c);
    return m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD && m != EVHTTP_REQ_OPTIONS;
}

int http_portal_cookie(http_ctx *c, const auth_key **k)
{
    size_t len = 0;
    const char *tok = session_cookie(c, &len);
    portal_session s;
    if (!tok)
        return 0;
    struct store *st = http_ctx_store(c);
    int rc = st ? portal_session_find(st, tok, len, &s) : CPQD_EIO;
    if (rc != 0)
        return rc == CPQD_ENOTFOUND ? -1 : -3;
    if (state_change(c)) {
        const char *csrf = http_ctx_header(c, CSRF_HEADER);
        if (!csrf || !portal_csrf_ok(&s, csrf, strlen(csrf)) || cross_origin(c))
            return -2;
    }
    /* the key as the key file in force has it: a revoked or removed key
     * ends its sessions */
    const auth_keys *keys = http_ctx_keys(c);
    *k = keys ? portal_session_key(&s, keys) : NULL; /* no keys: development mode */
    return !keys || *k ? 1 : -1;
}

/* ---- session routes ---- */

static json_t *partner_json(const cat_snapshot *snap, const char *id)
{
    json_t *cats = json_array();
    const cat_partner *found = NULL;
    for (size_t i = 0; snap && cats && i < cat_snapshot_catalog_count(snap); i++) {
        const cat_catalog *cc = cat_snapshot_catalog_at(snap, i);
        for (size_t k = 0; k < cc->npartners; k++) {
            if (strcmp(cc->partners[k].id, id) != 0)
                continue;
            found = found ? found : &cc->partners[k];
            json_array_append_new(cats, json_string(cc->id));
        }
    }
    return json_pack("{s:s,s:s?,s:s?,s:o,s:b}", "id", id, "name", found ? found->name : NULL,
                     "segment", found ? found->segment : NULL, "catalogs",
                     cats ? cats : json_array(), "can_accept",
                     cat_snapshot_partner_can_accept(snap, id, NULL));
}

/* {"role","key_id","name","partner","csrf_token","expires_at"}: who the
 * session stands for, and what the page needs to make its calls. */
static json_t *session_json(http_ctx *c, const portal_session *s, const auth_key *k)
{
    char at[32] = "";
    time_t t = (time_t)(s->expires_ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
    char today[DATE_FMT_LEN];
    date_format(date_today(), today);
    json_t *partner = k && k->partner ? partner_json(http_ctx_snap(c), k->partner) : json_null();
    return json_pack("{s:s,s:s,s:s?,s:o,s:s,s:s,s:s}", "role",
                     auth_role_name(k ? k->role : AUTH_ROLE_ADMIN), "key_id", k ? k->id : "dev",
                     "name", k ? k->name : NULL, "partner", partner ? partner : json_null(),
                     "csrf_token", s->csrf, "expires_at", at, "today", today);
}

static void set_cookie(http_ctx *c, const char *token, unsigned max_age)
{
    char v[160];
    snprintf(v, sizeof(v), COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%u", token,
             max_age);
    http_ctx_add_header(c, "Set-Cookie", v);
}

static void reply_json(http_ctx *c, int status, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    http_reply_text(c, status, text);
}

static void reply_err(http_ctx *c, int rc, const char *msg)
{
    cpqd_errs *errs = errs_new();
    if (errs)
        errs_add(errs, rc, NULL, 0, 0, "%s", msg);
    http_reply_errs(c, rc, errs, "the session");
    errs_free(errs);
}

/* The "key" member of the login body, or NULL after replying 400. */
static const char *login_key(http_ctx *c, json_t **body)
{
    size_t len = 0;
    const char *b = http_ctx_body(c, &len);
    const char *type = http_ctx_header(c, "Content-Type");
    json_error_t je;
    *body = NULL;
    /* a cross-site form cannot send JSON without a CORS preflight, which
     * cpqd never grants: signing a victim's browser in to the attacker's
     * key (login CSRF) takes more than a form */
    if (!type || strncasecmp(type, "application/json", 16) != 0 || cross_origin(c)) {
        reply_err(c, CPQD_EINVAL, "sign in with a JSON body {\"key\": \"...\"} from this origin");
        return NULL;
    }
    *body = json_loadb(b, len, 0, &je);
    const char *key = json_string_value(json_object_get(*body, "key"));
    if (!key || json_object_size(*body) != 1) {
        reply_err(c, CPQD_EINVAL, "the body must be {\"key\": \"<API key>\"}");
        return NULL;
    }
    return key;
}

/* POST /v1/session: {"key"} -> 201 with the session and its cookie. */
void http_session_new(http_ctx *c, const http_query *q)
{
    (void)q;
    json_t *body;
    const char *key = login_key(c, &body);
    const auth_keys *keys = http_ctx_keys(c);
    const auth_key *k = NULL;
    if (key && keys && (!(k = auth_keys_lookup(keys, key, strlen(key))) || k->revoked)) {
        http_ctx_add_header(c, "WWW-Authenticate", "Bearer realm=\"cpqd\"");
        http_reply_unauthorized(c, "unknown API key");
    } else if (key) {
        char token[PORTAL_TOKEN_MAX];
        portal_session s;
        unsigned ttl = http_ctx_worker(c)->cfg->session_ttl_s;
        struct store *st = http_ctx_store(c);
        int rc = st ? portal_session_new(st, k, ttl ? ttl : PORTAL_TTL_DEFAULT, token, &s)
                    : CPQD_EIO;
        if (rc != 0) {
            reply_err(c, rc, st ? store_last_error(st) : "cannot make a session");
        } else {
            set_cookie(c, token, ttl ? ttl : PORTAL_TTL_DEFAULT);
            reply_json(c, 201, session_json(c, &s, k));
        }
    }
    json_decref(body); /* the key's bytes go with it */
}

/* GET /v1/session: the session of the cookie, or 401. */
void http_session_get(http_ctx *c, const http_query *q)
{
    (void)q;
    size_t len = 0;
    const char *tok = session_cookie(c, &len);
    portal_session s;
    const auth_key *k = NULL;
    const auth_keys *keys = http_ctx_keys(c);
    struct store *st = http_ctx_store(c);
    int rc = !tok ? CPQD_ENOTFOUND : st ? portal_session_find(st, tok, len, &s) : CPQD_EIO;
    if (rc != 0 && rc != CPQD_ENOTFOUND) {
        reply_err(c, rc, "cannot read the session");
        return;
    }
    if (rc != 0 || (keys && !(k = portal_session_key(&s, keys)))) {
        http_reply_unauthorized(c, tok ? "the session expired or was ended: sign in again"
                                       : "no session: sign in");
        return;
    }
    reply_json(c, 200, session_json(c, &s, k));
}

/* DELETE /v1/session: ends the session of the cookie (with its CSRF
 * token) and clears the cookie. */
void http_session_end(http_ctx *c, const http_query *q)
{
    (void)q;
    size_t len = 0;
    const char *tok = session_cookie(c, &len);
    const auth_key *k = NULL;
    int r = http_portal_cookie(c, &k);
    if (r == -2) {
        reply_err(c, CPQD_EFORBIDDEN, "signing out needs the session's X-CSRF-Token header");
        return;
    }
    int rc = r == -3 ? CPQD_EIO : r == 1 ? portal_session_end(http_ctx_store(c), tok, len) : 0;
    if (rc != 0 && rc != CPQD_ENOTFOUND) {
        reply_err(c, rc, "cannot end the session");
        return;
    }
    set_cookie(c, "", 0);
    reply_json(c, 200, json_pack("{s:b}", "signed_out", r == 1));
}

/* ---- GET /v1/quotes/{id}/contract ---- */

HTTP_OP(http_op_quote_contract)
{
    (void)body, (void)len, (void)q;
    const char *id = http_ctx_param(c, 0);
    store_contract k;
    /* the quote first: it is the caller's, or it does not exist */
    svc_reply qr = {0};
    int rc = quote_get(qc, id, 0, &qr, errs);
    free(qr.body);
    if (rc != 0)
        return rc;
    rc = store_contract_by_quote(qc->st, id, &k);
    if (rc == CPQD_ENOTFOUND) {
        errs_add(errs, rc, NULL, 0, 0, "quote '%.64s' has no contract (it is not accepted)", id);
        return rc;
    }
    if (rc != 0)
        return rc;
    rc = contract_get(qc, k.id, out, errs);
    store_contract_fini(&k);
    return rc;
}
