/*
 * portal_assets: the files of web/portal/, embedded into the binary at
 * build time (scripts/embed-assets.sh writes BUILD/gen/portal_assets.c),
 * so that `cpqd serve` serves the portal with nothing installed beside it.
 * Immutable, share freely.
 */
#ifndef CPQD_PORTAL_ASSETS_H
#define CPQD_PORTAL_ASSETS_H

#include <stddef.h>

typedef struct portal_asset {
    const char *name;          /* file name under web/portal/: "portal.js" */
    const char *type;          /* Content-Type */
    const unsigned char *data; /* the bytes (NUL-terminated beyond len) */
    size_t len;
} portal_asset;

extern const portal_asset portal_assets[];
extern const size_t portal_asset_count;

#endif
