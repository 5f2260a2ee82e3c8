/*
 * cat_split: where a big catalog file can be cut into two parser inputs,
 * so that its products are parsed on two threads (cat_load.c).
 *
 * Owns: one read of the file up to the end of its products (the lines
 * that matter: the root key `products:`, its items' indentation, the item
 * lines, the first line after the sequence), the readers of the two
 * pieces, and the file's SHA-256 read apart (a thread that is done first
 * takes it). Does not
 * own: whether the cut was right. The plan is made from lines alone, so
 * cat_load.c checks the pieces' parses against it (the root's key after
 * the products starts where the plan says, the second piece's sequence
 * starts at its cut) and loads the file the usual way when they differ.
 *
 * The cut: piece 2 is [s, e), whole items of the products sequence from
 * an item line s (exactly `indent` spaces and "- ") to the first line e
 * after them that is less indented (or as indented and not an item), the
 * rest of the file. Piece 1 is [0, s) followed by [e, len): the header,
 * the first items and whatever follows the sequence. In block YAML an
 * item line at the sequence's indentation ends every scalar and
 * collection opened inside the items before it, except a quoted scalar
 * or a flow collection; those run on into piece 1's tail, where the root
 * key of line e then does not start at its place, which the check sees.
 * A file with line breaks other than LF (CR, NEL, LS, PS: YAML counts
 * them as lines) gets no plan, so that lines here are libyaml's lines.
 */
#include "cat_split.h"

#include "cpqd/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPLIT_BUF (1u << 20) /* a longer line: no plan */

typedef struct item_line {
    off_t off;
    unsigned line;
} item_line;

typedef struct scan {
    cat_split *sp;
    int state; /* 0: before products:, 1: before the first item, 2: items, 3: after */
    item_line *items;
    size_t nitems, cap;
    bool no;   /* no plan */
    int rc;    /* ENOMEM */
} scan;

static bool blank_or_comment(const char *p, size_t n, size_t k)
{
    return k == n || p[k] == '#';
}

static bool item_at(const char *p, size_t n, size_t k)
{
    return k < n && p[k] == '-' && (k + 1 == n || p[k + 1] == ' ');
}

/* `products:` at column 0, then nothing but spaces or a comment. */
static bool products_key(const char *p, size_t n)
{
    static const char key[] = "products:";
    size_t k = sizeof(key) - 1;
    if (n < k || memcmp(p, key, k) != 0)
        return false;
    while (k < n && p[k] == ' ')
        k++;
    return k == n || (p[k] == '#' && p[k - 1] == ' ');
}

static void add_item(scan *sc, off_t off, unsigned line)
{
    if (sc->nitems == sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 4096;
        item_line *v = realloc(sc->items, cap * sizeof(*v));
        if (!v) {
            sc->rc = CPQD_ENOMEM;
            return;
        }
        sc->items = v;
        sc->cap = cap;
    }
    sc->items[sc->nitems++] = (item_line){off, line};
}

/* One line p[0..n) (without its LF) at offset off, line index line. */
static void scan_line(scan *sc, const char *p, size_t n, off_t off, unsigned line)
{
    cat_split *sp = sc->sp;
    size_t k = 0;
    while (k < n && p[k] == ' ')
        k++;
    switch (sc->state) {
    case 0:
        if (products_key(p, n)) {
            sp->lp = line;
            sc->state = 1;
        }
        return;
    case 1:
        if (blank_or_comment(p, n, k))
            return;
        if (!item_at(p, n, k)) {
            sc->no = true;
            return;
        }
        sp->indent = (unsigned)k;
        sc->state = 2;
        add_item(sc, off, line);
        return;
    case 2:
        if (blank_or_comment(p, n, k) || k > sp->indent)
            return;
        if (k == sp->indent && item_at(p, n, k)) {
            add_item(sc, off, line);
            return;
        }
        sp->e = off;
        sp->le = line;
        sp->ce = (unsigned)k;
        sc->state = 3;
        return;
    default:
        return;
    }
}

/* Whether p[0..n) holds lead byte c followed by one of the byte pairs
 * tails (NUL-separated: 1 or 2 bytes each). */
static bool has_seq(const char *p, size_t n, char c, const char *t1, const char *t2)
{
    for (const char *q = memchr(p, c, n); q; q = memchr(q + 1, c, n - (size_t)(q + 1 - p))) {
        size_t left = n - (size_t)(q + 1 - p);
        size_t l1 = strlen(t1), l2 = t2 ? strlen(t2) : 0;
        if ((left >= l1 && memcmp(q + 1, t1, l1) == 0) || (t2 && left >= l2 && memcmp(q + 1, t2, l2) == 0))
            return true;
        if (q + 1 == p + n)
            break;
    }
    return false;
}

/* Line breaks YAML counts besides LF (CR, NEL, LS, PS), in p[0..n). */
static bool other_breaks(const char *p, size_t n)
{
    return memchr(p, '\r', n) || has_seq(p, n, '\xC2', "\x85", NULL) ||
           has_seq(p, n, '\xE2', "\x80\xA8", "\x80\xA9");
}

int cat_split_plan(int fd, double share, cat_split *sp)
{
    memset(sp, 0, sizeof(*sp));
    sp->le = UINT32_MAX;
    char *buf = malloc(SPLIT_BUF);
    scan sc = {.sp = sp};
    int rc = buf ? 0 : CPQD_ENOMEM;
    struct stat st;
    if (!rc && fstat(fd, &st) != 0)
        rc = CAT_SPLIT_NONE;
    off_t at = 0;     /* file offset of buf[0] */
    size_t have = 0;  /* bytes in buf */
    unsigned line = 0;
    bool eof = false;
    if (!rc && lseek(fd, 0, SEEK_SET) != 0)
        rc = CAT_SPLIT_NONE;
    while (!rc && !eof && sc.state < 3) {
        ssize_t r = read(fd, buf + have, SPLIT_BUF - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = CAT_SPLIT_NONE;
            break;
        }
        eof = r == 0;
        have += (size_t)r;
        /* whole lines only; at the end, the last line without its LF */
        const char *last = memrchr(buf, '\n', have);
        size_t whole = last ? (size_t)(last - buf) + 1 : 0;
        if (eof)
            whole = have;
        else if (!whole && have == SPLIT_BUF)
            sc.no = true;
        if (!sc.no && sc.state < 3 && other_breaks(buf, whole))
            sc.no = true;
        for (size_t i = 0; i < whole && !sc.no && sc.state < 3;) {
            const char *nl = memchr(buf + i, '\n', whole - i);
            size_t n = nl ? (size_t)(nl - (buf + i)) : whole - i;
            scan_line(&sc, buf + i, n, at + (off_t)i, line);
            line++;
            i += n + 1;
        }
        if (sc.rc)
            rc = sc.rc;
        if (sc.no && !rc)
            rc = CAT_SPLIT_NONE;
        memmove(buf, buf + whole, have - whole);
        at += (off_t)whole;
        have -= whole;
    }
    sp->len = st.st_size;
    if (!rc && sc.state == 2 && at + (off_t)have != sp->len)
        rc = CAT_SPLIT_NONE; /* not the size fstat said: changing under us */
    if (!rc && sc.state < 2)
        rc = CAT_SPLIT_NONE;
    if (!rc && sc.state == 2) { /* the sequence runs to the end */
        sp->e = sp->len;
        sp->le = UINT32_MAX;
    }
    if (!rc) {
        /* the first item line at or past share of the items' bytes; never
         * the first item (piece 1 keeps at least one) */
        off_t first = sc.items[0].off;
        off_t want = first + (off_t)((double)(sp->e - first) * share);
        size_t i = 1;
        while (i < sc.nitems && sc.items[i].off < want)
            i++;
        if (i >= sc.nitems)
            rc = CAT_SPLIT_NONE;
        else {
            sp->s = sc.items[i].off;
            sp->ls = sc.items[i].line;
        }
    }
    free(sc.items);
    free(buf);
    return rc;
}

int cat_split_hash(int fd, off_t len, char hex[DIGEST_SHA256_HEX_LEN])
{
    digest_sha256_ctx *md = digest_sha256_new();
    char *buf = malloc(SPLIT_BUF);
    int rc = md && buf ? 0 : CPQD_ENOMEM;
    for (off_t at = 0; !rc && at < len;) {
        size_t want = len - at < (off_t)SPLIT_BUF ? (size_t)(len - at) : SPLIT_BUF;
        ssize_t r = pread(fd, buf, want, at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            rc = CAT_SPLIT_NONE;
        else if (digest_sha256_add(md, buf, (size_t)r) != 0)
            rc = CPQD_ENOMEM;
        else
            at += r;
    }
    char one;
    if (!rc && pread(fd, &one, 1, len) != 0)
        rc = CAT_SPLIT_NONE; /* longer than planned */
    if (!rc && digest_sha256_end_hex(md, hex) != 0)
        rc = CPQD_ENOMEM;
    free(buf);
    digest_sha256_free(md);
    return rc;
}

/* ---- the pieces' readers ---- */

void cat_piece_init(cat_piece *pc, int fd, off_t from, off_t to)
{
    *pc = (cat_piece){.fd = fd, .nseg = 1, .seg = {{from, to}}};
    pc->pos = from;
}

void cat_piece_add(cat_piece *pc, off_t from, off_t to)
{
    if (pc->nseg == 2 || from >= to)
        return;
    pc->seg[pc->nseg][0] = from;
    pc->seg[pc->nseg][1] = to;
    pc->nseg++;
}

long cat_piece_read(void *ctx, unsigned char *out, size_t size)
{
    cat_piece *pc = ctx;
    for (;;) {
        if (pc->cur >= pc->nseg)
            return 0;
        off_t end = pc->seg[pc->cur][1];
        if (pc->pos >= end) {
            if (++pc->cur < pc->nseg)
                pc->pos = pc->seg[pc->cur][0];
            continue;
        }
        size_t want = (size_t)(end - pc->pos) < size ? (size_t)(end - pc->pos) : size;
        ssize_t r = pread(pc->fd, out, want, pc->pos);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1; /* a file that shrank since the plan, or a read error */
        pc->pos += r;
        return (long)r;
    }
}
