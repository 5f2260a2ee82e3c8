/*
 * file: reading a whole file, bounded (see include/cpqd/file.h).
 *
 * Owns: open, the regular-file and size checks, the read loop and the
 * words of its failures. The size from fstat is only a first guess: a
 * file may grow or shrink while it is read, and procfs reports 0 for
 * files that have content, so the loop reads until read() says end of
 * file and enforces max on what it actually got.
 */
#include "cpqd/file.h"

#include "cpqd/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int say(char *why, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes the reason into why (if given) and returns rc. */
static int say(char *why, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (why)
        vsnprintf(why, FILE_WHY_MAX, fmt, ap);
    va_end(ap);
    return rc;
}

static int say_errno(char *why, int err)
{
    return say(why, err == ENOENT ? CPQD_ENOTFOUND : CPQD_EIO, "cannot read: %s", strerror(err));
}

static int too_big(char *why, size_t max)
{
    char size[32];
    if (max >= ((size_t)1 << 20) && max % ((size_t)1 << 20) == 0)
        snprintf(size, sizeof(size), "%zu MiB", max >> 20);
    else
        snprintf(size, sizeof(size), "%zu bytes", max);
    return say(why, CPQD_ELIMIT, "file larger than %s", size);
}

/* One byte past a full buffer: grows *b when the file has more than the
 * buffer holds. Returns 1 (a byte was added), 0 (end of file) or an
 * error. */
static int read_past(int fd, char **b, size_t *cap, size_t *len, size_t max, char *why)
{
    char probe;
    ssize_t r;
    while ((r = read(fd, &probe, 1)) < 0 && errno == EINTR)
        ;
    if (r <= 0)
        return r == 0 ? 0 : say_errno(why, errno);
    if (*len >= max)
        return too_big(why, max);
    /* room for the byte and the NUL; never more than max + 1 */
    size_t want = *cap > (SIZE_MAX - 1) / 2 ? SIZE_MAX : *cap * 2;
    if (want - 1 > max)
        want = max + 1;
    char *nb = realloc(*b, want);
    if (!nb)
        return say(why, CPQD_ENOMEM, "out of memory");
    *b = nb;
    *cap = want;
    (*b)[(*len)++] = probe;
    return 1;
}

/* Reads fd to its end into a buffer first sized for hint bytes. */
static int read_fd(int fd, size_t hint, size_t max, char **out, size_t *out_len, char *why)
{
    size_t cap = hint + 1, len = 0;
    char *b = malloc(cap);
    int rc = b ? 0 : say(why, CPQD_ENOMEM, "out of memory");
    bool eof = false;
    while (rc == 0 && !eof) {
        if (len + 1 == cap) {
            int r = read_past(fd, &b, &cap, &len, max, why);
            eof = r == 0;
            rc = r < 0 ? r : 0;
            continue;
        }
        ssize_t r = read(fd, b + len, cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            rc = say_errno(why, errno);
        else if (r == 0)
            eof = true;
        else
            len += (size_t)r;
    }
    if (rc) {
        free(b);
        return rc;
    }
    b[len] = '\0';
    *out = b;
    *out_len = len;
    return 0;
}

int file_read(const char *path, size_t max, char **out, size_t *out_len, char *why)
{
    *out = NULL;
    *out_len = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is
     * refused below like any other file that is not regular */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return say_errno(why, errno);
    struct stat st;
    int rc;
    if (fstat(fd, &st) != 0)
        rc = say_errno(why, errno);
    else if (!S_ISREG(st.st_mode))
        rc = say(why, CPQD_EINVAL, "not a regular file");
    else if (st.st_size < 0 || (uintmax_t)st.st_size > max)
        rc = too_big(why, max);
    else
        rc = read_fd(fd, (size_t)st.st_size, max, out, out_len, why);
    close(fd);
    return rc;
}
