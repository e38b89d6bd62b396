/*
 * The parts of mpt-train --self-check (train.h: mpt_tr_self_check) that live in
 * selfcheck_model.c: the optimizer kernels and the whole model against the double reference.
 * Each writes one line per check on out and adds to *run and *failed.
 */
#ifndef MPT_TR_SELFCHECK_H
#define MPT_TR_SELFCHECK_H

#include <stdio.h>

void mpt_tr_self_check_optim(FILE *out, int *run, int *failed);
void mpt_tr_self_check_model(FILE *out, int *run, int *failed);

#endif
