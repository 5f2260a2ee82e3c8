/*
 * file: reading a whole file into memory, bounded.
 *
 * Owns: the one way cpqd reads a file it was pointed at (catalogs, rules,
 * key files, benchmark models, the webhook secret, rule files for `cpqd
 * rule eval`): regular files only, a size cap checked before and while
 * reading, and a reason in words when it fails. Does not own: what the
 * bytes mean (the callers' parsers), writing files (auth appends its key
 * file atomically itself).
 *
 * Ownership: *out is malloc'ed for the caller, who frees it.
 * Thread-safety: reentrant; share freely.
 */
#ifndef CPQD_FILE_H
#define CPQD_FILE_H

#include <stddef.h>

#define FILE_WHY_MAX 160 /* bytes of a failure's reason, NUL included */

/* Reads the regular file at path, at most max bytes, into *out: a
 * malloc'ed buffer of *out_len bytes followed by a NUL, a convenience for
 * text parsers; the content may itself hold NUL bytes, so *out_len, not
 * the NUL, is its end. A file that grows while it is read is read to its
 * end or refused, never cut at max.
 *
 * Returns 0, or on failure (*out NULL, *out_len 0) one of
 *   CPQD_ENOTFOUND  path does not exist ("cannot read: No such file or
 *                   directory")
 *   CPQD_EIO        it cannot be opened or read ("cannot read: <errno text>")
 *   CPQD_EINVAL     it is not a regular file ("not a regular file")
 *   CPQD_ELIMIT     it holds more than max bytes ("file larger than 4 MiB")
 *   CPQD_ENOMEM     ("out of memory")
 * with that reason in why (FILE_WHY_MAX bytes; may be NULL), which does
 * not repeat the path: callers put it in front (an error's file, or
 * "path: ").
 */
int file_read(const char *path, size_t max, char **out, size_t *out_len, char *why);

#endif
