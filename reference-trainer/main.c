/*
 * mpt-train: the reference trainer's command (docs/reference-trainer.md). Parses, then hands
 * over to mpt_tr_run; the only place that decides the exit status: 0 done, 1 runtime failure,
 * 2 bad usage (every message on stderr, prefixed "mpt-train:").
 */
#include <stdio.h>
#include <stdlib.h>

#include "reference-trainer/options.h"
#include "reference-trainer/train.h"

int main(int argc, char **argv)
{
    mpt_tr_opts o;
    char err[512] = "";
    mpt_tr_opts_default(&o);
    switch (mpt_tr_opts_parse(&o, argc, argv, err, sizeof err)) {
    case MPT_TR_OPTS_HELP:
        mpt_tr_opts_usage(stdout, "mpt-train");
        return 0;
    case MPT_TR_OPTS_ERROR:
        fprintf(stderr, "mpt-train: %s\n", err);
        return 2;
    case MPT_TR_OPTS_OK:
        break;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (o.self_check) return mpt_tr_self_check(stdout);
    int rc = mpt_tr_run(&o, stdout, err, sizeof err);
    if (rc) fprintf(stderr, "mpt-train: %s\n", err);
    return rc;
}
