/*
 * cat internals shared by cat.c (snapshot), cat_yaml.c (YAML -> node
 * tree) and cat_load.c (node tree -> validated catalog structs).
 */
#ifndef CPQD_CAT_INT_H
#define CPQD_CAT_INT_H

#include "cpqd/arena.h"
#include "cpqd/cat.h"
#include "cpqd/digest.h"

#include <stdbool.h>
#include <stddef.h>

/* ---- YAML node tree (cat_yaml.c) ---- */

typedef enum yn_type { YN_SCALAR, YN_MAP, YN_SEQ } yn_type;

typedef struct yn {
    unsigned char type; /* yn_type */
    bool quoted;        /* scalar was single/double quoted or a block */
    unsigned line, col; /* 1-based */
    unsigned n;         /* map: pairs; seq: items */
    size_t len;         /* scalar length */
    const char *str;    /* scalar bytes, NUL-terminated copy */
    struct yn **keys;   /* map: scalar keys */
    struct yn **vals;   /* map values / seq items */
} yn;

#define YN_MAX_DEPTH 64

/* Parses buf[0..len) into a node tree allocated from a; the root is a
 * mapping, a sequence or a scalar, or NULL for an empty document. Syntax
 * errors, anchors/aliases, duplicate keys, non-scalar keys, more than one
 * document and nesting deeper than YN_MAX_DEPTH are added to errs with
 * file:line:col; returns 0 or the first error code. */
int yn_parse(arena *a, const char *file, const char *buf, size_t len, cpqd_errs *errs,
             yn **root);

/* Hooks of yn_parse_stream: when the root mapping reaches its key
 * 'products' with a sequence value, begin sees the root's pairs before
 * it and the key itself; if begin returns true, each item of that sequence is parsed alone,
 * passed to item (nonzero stops the parse with that code) and freed, and
 * the root's 'products' is a sequence node with n items and no vals. */
typedef struct yn_stream {
    bool (*begin)(void *ctx, const yn *before, const yn *key);
    int (*item)(void *ctx, const yn *item);
    /* With no buf: the text, read in pieces into out[0..size): the bytes
     * read (0 at its end) or -1. It is then checked for UTF-8 as it comes,
     * and any fault (not UTF-8, a read error) fails the parse with
     * nothing said of it but CPQD_EINVAL (the text is not at hand to
     * point at: the caller reads it whole and parses it again). */
    long (*read)(void *read_ctx, unsigned char *out, size_t size);
    void *ctx, *read_ctx;
    /* A piece of a file (cat_split.c): positions past line shift_from
     * (1-based, in the piece) move down by shift_by lines. */
    unsigned shift_from, shift_by;
    /* The piece holds only items of the products sequence: its root is
     * that sequence, each item passed to item (begin is not called). */
    bool items_root;
} yn_stream;

/* yn_parse with the hooks st (NULL: none); buf may be NULL with st->read. */
int yn_parse_stream(arena *a, const char *file, const char *buf, size_t len, cpqd_errs *errs,
                    const yn_stream *st, yn **root);

/* Value of key in a map, or NULL. */
const yn *yn_get(const yn *map, const char *key);
const char *yn_type_name(yn_type t);

/* ---- snapshot internals (cat.c) ---- */

/* Everything one load produces; cat_load.c fills it, cat.c publishes it. */
typedef struct cat_build {
    arena *a;               /* owns all catalog memory */
    cpqd_errs *errs;
    const char *rules_dir;
    cat_catalog *catalogs;  /* ncatalogs of capcatalogs: sized once for every file before
                               the first load, never moved (products and books point into it) */
    size_t ncatalogs, capcatalogs;
    void **regexes;         /* pcre2_code*, freed with the snapshot */
    size_t nregexes, capregexes;
    char **rule_files;      /* resolved rule paths used, for hashing */
    size_t nrule_files, caprule_files;
    size_t split_min;       /* files of this many bytes or more: products parsed on two
                               threads (cat_load_stream_path; 0: its default) */
    double split_share;     /* of the products, to the first thread (0: the default) */
    unsigned split_loads;   /* files loaded so */
} cat_build;

/* Decodes one file's tree into a new catalog appended to b (which must
 * have room for it: b->catalogs never grows, see cat_build). Collects
 * every error; returns 0 or a negative code if anything in it failed. */
int cat_load_file(cat_build *b, const char *file, const char *hash, const yn *root);
/* Parses and decodes the catalog file at path (named file in positions)
 * as it is read, the products decoded as they are parsed, one product's
 * tree at a time: the text and the whole tree are never held. Only for a
 * file without errors: returns 0 when it was loaded as cat_load_file
 * would load it (its SHA-256 in hash), CPQD_ENOMEM, or CAT_LOAD_RETRY
 * when anything in it failed (a read, the UTF-8, the YAML, a check),
 * with nothing reported and nothing added to b: the caller then reads
 * the file whole, parses it whole and cat_load_file reports every error
 * as ever. A file whose header or attributes come after its products is
 * parsed whole here and decoded as cat_load_file does, errors reported. */
#define CAT_LOAD_RETRY 1
int cat_load_stream_path(cat_build *b, const char *file, const char *path,
                         char hash[DIGEST_SHA256_HEX_LEN]);
/* Cross-catalog checks and resolution (SKUs unique, references, BOM
 * cycles, constraint paths, rule files). Requires all files decoded. */
int cat_load_link(cat_build *b, const cat_product **sorted, size_t nproducts);

#endif
