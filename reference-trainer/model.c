/*
 * Parameter layout and initialisation (contract in model.h).
 */
#include "reference-trainer/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference-trainer/rng.h"

static size_t add(mpt_tr_layout *lo, const char *name, int rows, int cols, int decay, float std,
                  float cst)
{
    mpt_tr_tensor *t = &lo->tensors[lo->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->offset = lo->total;
    t->rows = rows;
    t->cols = cols;
    t->decay = decay;
    t->init_std = std;
    t->init_const = cst;
    lo->total += (size_t)rows * (size_t)cols;
    return t->offset;
}

int mpt_tr_layout_init(mpt_tr_layout *lo, const mpt_tr_config *cfg)
{
    memset(lo, 0, sizeof *lo);
    lo->cfg = *cfg;
    const int V = cfg->V, C = cfg->C, L = cfg->L, T = cfg->T;
    lo->blk = calloc((size_t)L, sizeof *lo->blk);
    lo->tensors = calloc((size_t)(5 + 9 * L), sizeof *lo->tensors);
    if (!lo->blk || !lo->tensors) {
        mpt_tr_layout_free(lo);
        return -1;
    }
    const float std = 0.02f;
    const float std_proj = (float)(0.02 / sqrt(2.0 * L));
    lo->wte = add(lo, "wte", V, C, 1, std, 0.0f);
    lo->wpe = add(lo, "wpe", T, C, 1, std, 0.0f);
    for (int l = 0; l < L; l++) {
        mpt_tr_block_params *b = &lo->blk[l];
        char n[24];
#define NAME(s) (snprintf(n, sizeof n, "blk%d.%s", l, s), n)
        b->ln1w = add(lo, NAME("ln1w"), 1, C, 0, 0.0f, 1.0f);
        b->ln1b = cfg->rms ? MPT_TR_ABSENT : add(lo, NAME("ln1b"), 1, C, 0, 0.0f, 0.0f);
        b->qkvw = add(lo, NAME("qkvw"), 3 * C, C, 1, std, 0.0f);
        b->projw = add(lo, NAME("projw"), C, C, 1, std_proj, 0.0f);
        b->ln2w = add(lo, NAME("ln2w"), 1, C, 0, 0.0f, 1.0f);
        b->ln2b = cfg->rms ? MPT_TR_ABSENT : add(lo, NAME("ln2b"), 1, C, 0, 0.0f, 0.0f);
        b->fcw = add(lo, NAME("fcw"), 4 * C, C, 1, std, 0.0f);
        b->fcb = add(lo, NAME("fcb"), 1, 4 * C, 0, 0.0f, 0.0f);
        b->fcprojw = add(lo, NAME("fcprojw"), C, 4 * C, 1, std_proj, 0.0f);
#undef NAME
    }
    lo->lnfw = add(lo, "lnfw", 1, C, 0, 0.0f, 1.0f);
    lo->lnfb = cfg->rms ? MPT_TR_ABSENT : add(lo, "lnfb", 1, C, 0, 0.0f, 0.0f);
    lo->lmw = add(lo, "lmw", V, C, 1, std, 0.0f);
    return 0;
}

void mpt_tr_layout_free(mpt_tr_layout *lo)
{
    free(lo->blk);
    free(lo->tensors);
    memset(lo, 0, sizeof *lo);
}

void mpt_tr_params_init(const mpt_tr_layout *lo, uint64_t seed, float *params)
{
    mpt_tr_rng r;
    mpt_tr_rng_seed(&r, seed, 0x696e6974ull /* "init" */);
    for (int i = 0; i < lo->n_tensors; i++) {
        const mpt_tr_tensor *t = &lo->tensors[i];
        size_t n = (size_t)t->rows * (size_t)t->cols;
        float *p = params + t->offset;
        for (size_t j = 0; j < n; j++)
            p[j] =
                t->init_std > 0.0f ? (float)(t->init_std * mpt_tr_rng_normal(&r)) : t->init_const;
    }
}
