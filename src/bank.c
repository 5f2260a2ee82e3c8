/*
 * bank: the statement builder shared by both readers, and the CSV reader
 * (include/cpqd/bank.h, docs/finance.md "Bank statements").
 *
 * Owns: text normalisation (whitespace, UTF-8, length), amount and date
 * checks, the error cap, and the CSV layout: RFC 4180 records, a header
 * naming the columns, one credit per row. Does not own: camt.053
 * (bank_camt.c), matching.
 *
 * Key invariant: a statement is returned only if every row was valid;
 * every credit has a non-empty id, a positive amount at most at its
 * currency's places, and a value date.
 */
#include "bank_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the builder ---- */

int bank_build_init(bank_build *b, const char *file, cpqd_errs *errs)
{
    memset(b, 0, sizeof(*b));
    b->file = file ? file : "statement";
    b->errs = errs;
    b->mem = arena_new(64 * 1024);
    return b->mem ? 0 : CPQD_ENOMEM;
}

void bank_err(bank_build *b, unsigned line, unsigned col, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (b->rc == 0)
        b->rc = CPQD_EINVAL;
    b->nbad++;
    if (!b->errs || b->nerrs > BANK_MAX_ERRORS)
        return;
    if (b->nerrs++ == BANK_MAX_ERRORS) {
        errs_add(b->errs, CPQD_EINVAL, b->file, 0, 0,
                 "more than %d errors; the rest are not reported", BANK_MAX_ERRORS);
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    errs_add(b->errs, CPQD_EINVAL, b->file, line, col, "%s", msg);
}

int bank_add(bank_build *b, const bank_credit *c)
{
    if (b->n == BANK_MAX_CREDITS) {
        if (b->rc != CPQD_ELIMIT && b->errs)
            errs_add(b->errs, CPQD_ELIMIT, b->file, c->line, 0,
                     "a statement may hold at most %u credits", BANK_MAX_CREDITS);
        b->rc = CPQD_ELIMIT;
        return CPQD_ELIMIT;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        bank_credit *p = realloc(b->credits, cap * sizeof(*p));
        if (!p)
            return b->rc = CPQD_ENOMEM;
        b->credits = p;
        b->cap = cap;
    }
    b->credits[b->n++] = *c;
    return 0;
}

int bank_build_finish(bank_build *b, const char *id, const char *account, bank_statement *out)
{
    memset(out, 0, sizeof(*out));
    int rc = b->rc;
    if (rc == 0) {
        bank_credit *c = arena_calloc(b->mem, b->n ? b->n : 1, sizeof(*c));
        const char *i = arena_strdup(b->mem, id ? id : "");
        const char *a = arena_strdup(b->mem, account ? account : "");
        if (!c || !i || !a) {
            rc = CPQD_ENOMEM;
        } else {
            if (b->n)
                memcpy(c, b->credits, b->n * sizeof(*c));
            *out = (bank_statement){i, a, c, b->n, b->nskipped, b->mem};
            b->mem = NULL;
        }
    }
    free(b->credits);
    arena_free(b->mem);
    b->credits = NULL;
    b->mem = NULL;
    return rc;
}

void bank_statement_fini(bank_statement *s)
{
    if (!s)
        return;
    arena_free(s->mem);
    memset(s, 0, sizeof(*s));
}

/* ---- text ---- */

/* Length of the UTF-8 sequence at s[0..n), or 0 if it is not valid
 * (overlongs, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t k = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (k == 0 || k > n || s[0] > 0xF4)
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
        (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
        return 0;
    return k;
}

const char *bank_text(bank_build *b, const char *s, size_t n, size_t max, unsigned line,
                      unsigned col, const char *what)
{
    char *out = arena_alloc(b->mem, (n < max ? n : max) + 1);
    size_t k = 0;
    bool space = false;
    if (!out) {
        b->rc = CPQD_ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < n;) {
        const unsigned char *c = (const unsigned char *)s + i;
        size_t len = utf8_len(c, n - i);
        if (len == 0) {
            bank_err(b, line, col, "%s: invalid UTF-8 (byte 0x%02X)", what, c[0]);
            return NULL;
        }
        i += len;
        if (len == 1 && (c[0] < 0x20 || c[0] == 0x7F || c[0] == ' ')) {
            space = k > 0;
            continue;
        }
        if (k + (space ? 1 : 0) + len > max)
            break; /* cut on a character boundary */
        if (space)
            out[k++] = ' ';
        space = false;
        memcpy(out + k, c, len);
        k += len;
    }
    out[k] = '\0';
    return out;
}

const char *bank_id(bank_build *b, const char *s, size_t n, bool upper, unsigned line, unsigned col,
                    const char *what)
{
    const char *t = bank_text(b, s, n, n + 1, line, col, what);
    if (!t)
        return NULL;
    if (strlen(t) > BANK_MAX_ID) {
        bank_err(b, line, col, "%s is longer than %d bytes", what, BANK_MAX_ID);
        return NULL;
    }
    if (!upper)
        return t;
    char *u = (char *)t; /* ours: in b->mem */
    size_t k = 0;
    for (size_t i = 0; u[i]; i++)
        if (u[i] != ' ')
            u[k++] = (u[i] >= 'a' && u[i] <= 'z') ? (char)(u[i] - 'a' + 'A') : u[i];
    u[k] = '\0';
    return u;
}

int bank_amount(bank_build *b, const char *s, size_t n, const char *cur, unsigned line,
                unsigned col, money_dec *out)
{
    int minor;
    if (!cur || money_currency_minor(cur, &minor) != 0) {
        bank_err(b, line, col, "unknown currency '%.8s'", cur ? cur : "");
        return -1;
    }
    int rc = money_parse(s, n, out);
    if (rc) {
        bank_err(b, line, col, "amount '%.*s' is not a decimal number (digits, one '.')",
                 (int)(n < 40 ? n : 40), s);
        return -1;
    }
    if (out->scale > minor) {
        bank_err(b, line, col, "amount '%.*s' has more places than %s allows (%d)",
                 (int)(n < 40 ? n : 40), s, cur, minor);
        return -1;
    }
    if (money_is_zero(*out)) {
        bank_err(b, line, col, "amount is zero");
        return -1;
    }
    return 0;
}

int bank_date(bank_build *b, const char *s, size_t n, unsigned line, unsigned col, const char *what,
              date_days *out)
{
    /* an ISODateTime or a date with a zone: the calendar date written */
    if (n > 10 && (s[10] == 'T' || s[10] == 'Z' || s[10] == '+' || s[10] == '-'))
        n = 10;
    if (date_parse(s, n, out) == 0)
        return 0;
    bank_err(b, line, col, "%s '%.*s' is not a date YYYY-MM-DD", what, (int)(n < 32 ? n : 32), s);
    return -1;
}

/* ---- CSV ---- */

enum {
    COL_TX_ID,
    COL_VALUE_DATE,
    COL_AMOUNT,
    COL_CURRENCY,
    COL_BOOKING_DATE,
    COL_DEBTOR_NAME,
    COL_DEBTOR_ACCOUNT,
    COL_REMITTANCE,
    COL_END_TO_END,
    COL_N
};

static const char *const col_names[COL_N] = {"bank_tx_id",     "value_date",   "amount",
                                             "currency",       "booking_date", "debtor_name",
                                             "debtor_account", "remittance",   "end_to_end_id"};

#define COL_REQUIRED 4 /* the first four */
#define CSV_MAX_FIELDS 64

/* One field of the current record: its unescaped text. */
typedef struct csv_field {
    char *s; /* unescaped, NUL-terminated (b->mem) */
    size_t n;
    unsigned col; /* 1-based byte column of its first byte */
} csv_field;

typedef struct csv {
    bank_build *b;
    const char *p, *end;
    unsigned line, col; /* of p */
    csv_field f[CSV_MAX_FIELDS];
    size_t nf;
    unsigned rec_line; /* line where the record starts */
} csv;

static void csv_adv(csv *c)
{
    if (*c->p == '\n') {
        c->line++;
        c->col = 1;
    } else {
        c->col++;
    }
    c->p++;
}

/* Reads one field starting at c->p; stops before ',' or the line end. */
static int csv_field_read(csv *c, csv_field *f)
{
    const char *start = c->p;
    size_t cap = 16;
    f->col = c->col;
    f->n = 0;
    if (c->p < c->end && *c->p == '"') {
        csv_adv(c);
        const char *q = c->p;
        while (q < c->end && !(*q == '"' && (q + 1 >= c->end || q[1] != '"')))
            q += *q == '"' ? 2 : 1;
        cap = (size_t)(q - c->p) + 1;
    } else {
        const char *q = c->p;
        while (q < c->end && *q != ',' && *q != '\n' && *q != '\r')
            q++;
        cap = (size_t)(q - c->p) + 1;
    }
    f->s = arena_alloc(c->b->mem, cap);
    if (!f->s)
        return c->b->rc = CPQD_ENOMEM;
    if (start < c->end && *start == '"') {
        for (;;) {
            if (c->p >= c->end) {
                bank_err(c->b, c->rec_line, f->col, "a quoted field is not closed");
                return -1;
            }
            if (*c->p == '"') {
                csv_adv(c);
                if (c->p < c->end && *c->p == '"') {
                    f->s[f->n++] = '"';
                    csv_adv(c);
                    continue;
                }
                break;
            }
            f->s[f->n++] = *c->p;
            csv_adv(c);
        }
        if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
            bank_err(c->b, c->line, c->col, "unexpected '%c' after a closing quote", *c->p);
            return -1;
        }
    } else {
        while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
            if (*c->p == '"') {
                bank_err(c->b, c->line, c->col,
                         "a '\"' inside an unquoted field (quote the "
                         "whole field and double the quote)");
                return -1;
            }
            f->s[f->n++] = *c->p;
            csv_adv(c);
        }
    }
    f->s[f->n] = '\0';
    return 0;
}

/* Reads one record into c->f. Returns 1 for a record, 0 at the end,
 * -1 after an error (the rest of the line is skipped). */
static int csv_record(csv *c)
{
    c->nf = 0;
    c->rec_line = c->line;
    if (c->p >= c->end)
        return 0;
    for (;;) {
        if (c->nf == CSV_MAX_FIELDS) {
            bank_err(c->b, c->rec_line, c->col, "more than %d fields in a row", CSV_MAX_FIELDS);
            goto skip;
        }
        if (csv_field_read(c, &c->f[c->nf]))
            goto skip;
        c->nf++;
        if (c->p < c->end && *c->p == ',') {
            csv_adv(c);
            continue;
        }
        break;
    }
    if (c->p < c->end && *c->p == '\r')
        csv_adv(c);
    if (c->p < c->end && *c->p == '\n') {
        csv_adv(c);
    } else if (c->p < c->end) {
        bank_err(c->b, c->line, c->col, "a lone carriage return inside a row");
        goto skip;
    }
    return 1;
skip:
    if (c->b->rc == CPQD_ENOMEM)
        return -1;
    while (c->p < c->end && *c->p != '\n')
        csv_adv(c);
    if (c->p < c->end)
        csv_adv(c);
    return -1;
}

static bool csv_blank(const csv *c)
{
    return c->nf == 1 && c->f[0].n == 0;
}

/* Maps the header's columns; map[k] is the field index of column k or -1. */
static int csv_header(csv *c, int map[COL_N])
{
    int r;
    for (int k = 0; k < COL_N; k++)
        map[k] = -1;
    while ((r = csv_record(c)) == 1 && csv_blank(c))
        ;
    if (r != 1) {
        if (r == 0)
            bank_err(c->b, 1, 1, "no header row (bank_tx_id,value_date,amount,currency,...)");
        return -1;
    }
    for (size_t i = 0; i < c->nf; i++) {
        const csv_field *f = &c->f[i];
        int k = 0;
        while (k < COL_N && strcmp(col_names[k], f->s) != 0)
            k++;
        if (k == COL_N)
            bank_err(c->b, c->rec_line, f->col,
                     "unknown column '%.40s' (bank_tx_id, value_date, "
                     "amount, currency, booking_date, debtor_name, debtor_account, remittance, "
                     "end_to_end_id)",
                     f->s);
        else if (map[k] >= 0)
            bank_err(c->b, c->rec_line, f->col, "column '%s' appears twice", col_names[k]);
        else
            map[k] = (int)i;
    }
    for (int k = 0; k < COL_REQUIRED; k++)
        if (map[k] < 0)
            bank_err(c->b, c->rec_line, 1, "the header lacks the required column '%s'",
                     col_names[k]);
    return c->b->rc ? -1 : 0;
}

static const csv_field *col(const csv *c, const int map[COL_N], int k)
{
    static const csv_field none = {"", 0, 0};
    return map[k] >= 0 ? &c->f[map[k]] : &none;
}

static const char *csv_text(csv *c, const int map[COL_N], int k, size_t max)
{
    const csv_field *f = col(c, map, k);
    return bank_text(c->b, f->s, f->n, max, c->rec_line, f->col, col_names[k]);
}

/* One data row into a credit (or a skipped debit). */
static void csv_row(csv *c, const int map[COL_N], size_t nhead)
{
    bank_build *b = c->b;
    if (c->nf != nhead) {
        bank_err(b, c->rec_line, 1, "the row has %zu fields, the header %zu", c->nf, nhead);
        return;
    }
    bank_credit cr = {.line = c->rec_line, .booking_date = BANK_NO_DATE};
    const csv_field *fc = col(c, map, COL_CURRENCY), *fa = col(c, map, COL_AMOUNT);
    const csv_field *fid = col(c, map, COL_TX_ID), *fv = col(c, map, COL_VALUE_DATE);
    const csv_field *fb = col(c, map, COL_BOOKING_DATE);
    bool ok = true;
    if (fc->n != 3) {
        bank_err(b, c->rec_line, fc->col, "currency '%.8s' is not an ISO 4217 code", fc->s);
        ok = false;
    } else {
        memcpy(cr.currency, fc->s, 4);
        ok = bank_amount(b, fa->s, fa->n, cr.currency, c->rec_line, fa->col, &cr.amount) == 0;
    }
    cr.tx_id = bank_id(b, fid->s, fid->n, false, c->rec_line, fid->col, "bank_tx_id");
    if (cr.tx_id && !*cr.tx_id) {
        bank_err(b, c->rec_line, fid->col, "bank_tx_id is empty");
        cr.tx_id = NULL;
    }
    ok &= bank_date(b, fv->s, fv->n, c->rec_line, fv->col, "value_date", &cr.value_date) == 0;
    if (fb->n)
        ok &=
            bank_date(b, fb->s, fb->n, c->rec_line, fb->col, "booking_date", &cr.booking_date) == 0;
    cr.debtor_name = csv_text(c, map, COL_DEBTOR_NAME, BANK_MAX_TEXT);
    cr.remittance = csv_text(c, map, COL_REMITTANCE, BANK_MAX_TEXT);
    const csv_field *fd = col(c, map, COL_DEBTOR_ACCOUNT), *fe = col(c, map, COL_END_TO_END);
    cr.debtor_account = bank_id(b, fd->s, fd->n, true, c->rec_line, fd->col, "debtor_account");
    cr.end_to_end_id = bank_id(b, fe->s, fe->n, false, c->rec_line, fe->col, "end_to_end_id");
    if (!ok || !cr.tx_id || !cr.debtor_name || !cr.remittance || !cr.debtor_account ||
        !cr.end_to_end_id)
        return;
    if (money_sign(cr.amount) < 0) {
        b->nskipped++; /* a debit: not a payment to us */
        return;
    }
    bank_add(b, &cr);
}

int bank_parse_csv(const char *buf, size_t len, const char *file, bank_statement *out,
                   cpqd_errs *errs)
{
    bank_build b;
    int map[COL_N], r;
    memset(out, 0, sizeof(*out));
    if (!buf && len)
        return CPQD_EINVAL;
    if (!buf)
        buf = "";
    if (bank_build_init(&b, file, errs))
        return CPQD_ENOMEM;
    if (len > BANK_MAX_BYTES) {
        if (errs)
            errs_add(errs, CPQD_ELIMIT, b.file, 0, 0, "a statement may have at most %u bytes",
                     BANK_MAX_BYTES);
        b.rc = CPQD_ELIMIT;
        return bank_build_finish(&b, NULL, NULL, out);
    }
    csv c = {.b = &b, .p = buf, .end = buf + len, .line = 1, .col = 1};
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        c.p += 3;
    if (csv_header(&c, map) == 0) {
        size_t nhead = c.nf;
        while ((r = csv_record(&c)) != 0 && b.rc != CPQD_ENOMEM && b.rc != CPQD_ELIMIT) {
            if (r == 1 && !csv_blank(&c))
                csv_row(&c, map, nhead);
        }
    }
    return bank_build_finish(&b, NULL, NULL, out);
}
