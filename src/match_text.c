/*
 * match_text: reading references and company names for the matcher
 * (docs/finance.md "Matching").
 *
 * Owns: how a document number is recognised in free remittance text
 * (letters, then a year and a sequence, any case, any separators, leading
 * zeros optional), the canonical key both sides are compared by, company
 * name normalisation and the "same company" test. Does not own: any
 * decision about a credit (match.c).
 *
 * Only ASCII letters and digits carry meaning; every other byte (spaces,
 * punctuation, Chinese text) separates, so "发票号INV-SH-2026-000123。"
 * and "inv sh 2026/123" both read as INVSH|2026|123.
 */
#include "match_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Separators allowed inside a number or between its prefix and digits. */
static bool is_sep(char c)
{
    return c == '-' || c == '_' || c == '.' || c == '/' || c == ' ' || c == ':' || c == '#';
}

/* ---- reference keys ---- */

int mt_canon(const char *d, size_t n, char *buf)
{
    if (n < 5 || n > 12)
        return -1;
    int year = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
    if (year < 1900 || year > 2199)
        return -1;
    size_t i = 4;
    while (i < n - 1 && d[i] == '0')
        i++;
    if (n - i > 8)
        return -1;
    return snprintf(buf, 16, "%04d|%.*s", year, (int)(n - i), d + i);
}

int match_ref_key(const char *s, char *buf, size_t cap)
{
    char letters[24], digits[16], canon[16];
    size_t nl = 0, nd = 0;
    if (!s)
        return CPQD_EINVAL;
    for (; *s; s++) {
        if (is_alpha(*s) && nd == 0 && nl < sizeof(letters) - 1)
            letters[nl++] = upper(*s);
        else if (is_digit(*s) && nl > 0 && nd < sizeof(digits) - 1)
            digits[nd++] = *s;
        else if (!is_sep(*s))
            return CPQD_EINVAL;
    }
    letters[nl] = '\0';
    if (nl == 0 || nd < 5 || mt_canon(digits, nd, canon) < 0)
        return CPQD_EINVAL;
    int n = snprintf(buf, cap, "%s|%s", letters, canon);
    return n < 0 || (size_t)n >= cap ? CPQD_ERANGE : n;
}

/* ---- scanning remittance text ---- */

/* The digits of a number starting at text[i]: runs joined across single
 * separators until there are at least 5 (a year and a sequence). Writes
 * the end to *end; returns the digit count (0 if over 12). */
static size_t scan_digits(const char *t, size_t i, char *d, size_t *end)
{
    size_t n = 0;
    for (;;) {
        while (is_digit(t[i])) {
            if (n < 13)
                d[n] = t[i];
            n++;
            i++;
        }
        if (n >= 5 || !is_sep(t[i]) || !is_digit(t[i + 1]))
            break;
        i++;
    }
    *end = i;
    if (n > 12)
        return 0;
    d[n] = '\0';
    return n;
}

/* The letter runs before text[i] (separators between them), last first,
 * joined into the candidate's prefixes: "FOR INV-SH" gives SH, INVSH,
 * FORINVSH. */
static void scan_prefixes(const char *t, size_t i, mt_cand *c)
{
    char runs[MT_MAX_PRE][20];
    size_t k = i;
    c->npre = 0;
    for (int r = 0; r < MT_MAX_PRE; r++) {
        int seps = 0;
        while (k > 0 && is_sep(t[k - 1]) && seps < 2) {
            k--;
            seps++;
        }
        size_t e = k;
        while (k > 0 && is_alpha(t[k - 1]))
            k--;
        if (k == e || e - k >= sizeof(runs[0]))
            break;
        for (size_t j = 0; j < e - k; j++)
            runs[r][j] = upper(t[k + j]);
        runs[r][e - k] = '\0';
        char joined[20] = "";
        for (int q = r; q >= 0; q--)
            if (strlen(joined) + strlen(runs[q]) < sizeof(joined))
                strcat(joined, runs[q]);
        memcpy(c->pre[c->npre++], joined, sizeof(joined));
        if (k > 0 && !is_sep(t[k - 1]))
            break; /* a digit or other text before the letters */
    }
}

size_t mt_scan(const char *text, mt_cand *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; text[i] && n < cap;) {
        if (!is_digit(text[i]) || (i > 0 && is_digit(text[i - 1]))) {
            i++;
            continue;
        }
        mt_cand *c = &out[n];
        size_t end;
        c->nd = scan_digits(text, i, c->d, &end);
        if (c->nd >= 5 && !is_alpha(text[end]) &&
            !(i > 0 && is_alpha(text[i - 1]) && text[end] && is_digit(text[end]))) {
            scan_prefixes(text, i, c);
            n++;
        }
        i = end > i ? end : i + 1;
    }
    return n;
}

/* ---- company names ---- */

static const char *const legal_words[] = {
    "CO",  "COMPANY", "LTD", "LIMITED", "INC", "INCORPORATED", "CORP", "CORPORATION", "LLC",
    "PLC", "GMBH",    "AG",  "SA",      "BV",  "NV",           "THE",  NULL};

/* Chinese legal forms, longest first; removed at the end of a word. */
static const char *const legal_zh[] = {"股份有限公司", "有限责任公司", "有限公司", "公司", NULL};

static bool legal_word(const char *w, size_t n)
{
    for (size_t i = 0; legal_words[i]; i++)
        if (strlen(legal_words[i]) == n && memcmp(legal_words[i], w, n) == 0)
            return true;
    return false;
}

/* Drops a Chinese legal form ending the word w[0..*n). */
static void strip_zh(const char *w, size_t *n)
{
    for (size_t i = 0; legal_zh[i]; i++) {
        size_t m = strlen(legal_zh[i]);
        if (*n > m && memcmp(w + *n - m, legal_zh[i], m) == 0) {
            *n -= m;
            return;
        }
    }
}

int match_name_norm(const char *name, char *buf, size_t cap)
{
    size_t k = 0;
    const char *s = name ? name : "";
    if (cap == 0)
        return CPQD_ERANGE;
    while (*s) {
        char w[256];
        size_t n = 0;
        while (*s && !((unsigned char)*s < 0x80 && !is_alpha(*s) && !is_digit(*s))) {
            if (n < sizeof(w))
                w[n++] = upper(*s);
            s++;
        }
        while (*s && (unsigned char)*s < 0x80 && !is_alpha(*s) && !is_digit(*s))
            s++;
        strip_zh(w, &n);
        if (n == 0 || legal_word(w, n))
            continue;
        if (k + (k ? 1 : 0) + n + 1 > cap)
            return CPQD_ERANGE;
        if (k)
            buf[k++] = ' ';
        memcpy(buf + k, w, n);
        k += n;
    }
    buf[k] = '\0';
    return (int)k;
}

/* Levenshtein distance of a and b if at most k, else k + 1 (a band of
 * width 2k + 1; names are at most a few hundred bytes). */
static int lev(const char *a, size_t na, const char *b, size_t nb, int k)
{
    if ((na > nb ? na - nb : nb - na) > (size_t)k)
        return k + 1;
    if (nb > 255)
        return k + 1;
    int prev[256], cur[256];
    for (size_t j = 0; j <= nb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        int best = cur[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            if (cur[j] < best)
                best = cur[j];
        }
        if (best > k)
            return k + 1;
        memcpy(prev, cur, (nb + 1) * sizeof(int));
    }
    return prev[nb];
}

static int word_cmp(const void *pa, const void *pb)
{
    return strcmp(*(const char *const *)pa, *(const char *const *)pb);
}

/* The words of s sorted, joined by spaces, into buf (same size as s). */
static void sorted_words(const char *s, char *buf, size_t cap)
{
    char tmp[512], *save = NULL;
    const char *w[64] = {NULL};
    size_t n = 0;
    snprintf(tmp, sizeof(tmp), "%s", s);
    for (char *p = strtok_r(tmp, " ", &save); p && n < 64; p = strtok_r(NULL, " ", &save))
        w[n++] = p;
    if (n > 1)
        qsort(w, n, sizeof(w[0]), word_cmp);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, cap - used, "%s%s", i ? " " : "", w[i]);
    }
}

bool mt_name_close(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na == 0 || nb == 0)
        return false;
    if (strcmp(a, b) == 0)
        return true;
    size_t mn = na < nb ? na : nb;
    if (mn >= 12 && strncmp(a, b, mn) == 0)
        return true; /* cut short by the bank's field length */
    if (mn >= 6 && lev(a, na, b, nb, mn >= 12 ? 2 : 1) <= (mn >= 12 ? 2 : 1))
        return true;
    if (strchr(a, ' ') && na < 512 && nb < 512) {
        char sa[512], sb[512];
        sorted_words(a, sa, sizeof(sa));
        sorted_words(b, sb, sizeof(sb));
        return strcmp(sa, sb) == 0;
    }
    return false;
}
