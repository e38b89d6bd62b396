/*
 * One-source kernels on the CPU (sim/sim_grid.h): the loop over a launch's blocks and threads.
 * The thread indices reach the kernel through the mpt_sim_launch it is passed (the kernel's
 * translation unit keeps a thread-local pointer to it, sim/mpt_kernel.h).
 */
#include "sim/sim_grid.h"

void sim_grid_run(mpt_sim_entry entry, void **args, mpt_sim_dim3 grid, mpt_sim_dim3 block)
{
    mpt_sim_launch l;
    l.grid_dim = grid;
    l.block_dim = block;
    for (unsigned bz = 0; bz < grid.z; bz++)
        for (unsigned by = 0; by < grid.y; by++)
            for (unsigned bx = 0; bx < grid.x; bx++) {
                l.block_idx = (mpt_sim_dim3){bx, by, bz};
                for (unsigned tz = 0; tz < block.z; tz++)
                    for (unsigned ty = 0; ty < block.y; ty++)
                        for (unsigned tx = 0; tx < block.x; tx++) {
                            l.thread_idx = (mpt_sim_dim3){tx, ty, tz};
                            entry(args, &l);
                        }
            }
}
