/*
 * cat_split: the plan that cuts a big catalog file into two parser
 * inputs (see cat_split.c), and the readers of those inputs.
 */
#ifndef CPQD_CAT_SPLIT_H
#define CPQD_CAT_SPLIT_H

#include "cpqd/digest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct cat_split {
    off_t len;         /* the file's bytes */
    off_t s, e;        /* piece 2: [s, e); e == len when the sequence ends the file */
    unsigned lp;       /* 0-based line of the root key `products:` */
    unsigned ls;       /* 0-based line of s */
    unsigned le;       /* 0-based line of e (UINT32_MAX when e == len) */
    unsigned ce;       /* column (0-based) of the first character of line e */
    unsigned indent;   /* column of the items' '-' */
} cat_split;

#define CAT_SPLIT_NONE 1 /* the file has no such cut: load it the usual way */

/* Reads fd from its start to the end of its products: a cut whose piece
 * 2 starts at the first item line past share (0..1) of the products'
 * bytes. Returns 0 with *sp, CAT_SPLIT_NONE, or CPQD_ENOMEM. */
int cat_split_plan(int fd, double share, cat_split *sp);
/* The SHA-256 of fd's len bytes (pread); CAT_SPLIT_NONE when it does not
 * have exactly len bytes or cannot be read. */
int cat_split_hash(int fd, off_t len, char hex[DIGEST_SHA256_HEX_LEN]);

/* A reader of up to two byte ranges of fd, one after the other (pread:
 * the file offset is not used), for yn_stream.read. */
typedef struct cat_piece {
    int fd;
    off_t seg[2][2];
    int nseg, cur;
    off_t pos;
} cat_piece;

void cat_piece_init(cat_piece *pc, int fd, off_t from, off_t to);
/* Appends [from, to) after the ranges so far (an empty one is skipped). */
void cat_piece_add(cat_piece *pc, off_t from, off_t to);
long cat_piece_read(void *ctx, unsigned char *out, size_t size);

#endif
