/*
 * svc internals shared by svc.c (the transaction runner) and svc_write.c
 * (group commit).
 */
#ifndef CPQD_SVC_INT_H
#define CPQD_SVC_INT_H

#include "cpqd/svc.h"

/* svc_tx through the writer: queues fn, waits until its batch is
 * committed (or failed) and returns fn's result, or CPQD_EIO when the
 * batch could not be committed (errs says why). */
int svc_writer_run(svc_ctx *c, svc_tx_fn fn, void *arg, svc_reply *out, cpqd_errs *errs);

#endif
