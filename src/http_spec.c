/*
 * http_spec: GET /openapi.yaml, the API contract (docs/openapi.yaml).
 *
 * Owns: serving the contract. The file is built into the binary (the
 * Makefile turns docs/openapi.yaml into the byte array http_spec_yaml,
 * build/MODE/gen/openapi_yaml.c), so the contract served is always the
 * one the binary was built with, wherever it runs.
 * Does not own: the contract's content (docs/openapi.yaml; the suite
 * checks every response against it: tests/spec/).
 */
#include "http_int.h"

/* defined in the generated build/MODE/gen/openapi_yaml.c */
extern const unsigned char http_spec_yaml[];
extern const size_t http_spec_yaml_len;

void http_spec_serve(http_ctx *c, const http_query *q)
{
    (void)q;
    http_reply_static(c, "application/yaml", http_spec_yaml, http_spec_yaml_len);
}
