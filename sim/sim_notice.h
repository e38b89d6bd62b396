/*
 * The one place simcuda writes to stderr: a line per unsupported function (or fact), once per
 * process. The CUDA libraries it stands in for have no error channel but their status codes, and
 * a user running a real program on simcuda must learn which call it does not implement, so this
 * is the documented exception to "library code never prints".
 */
#ifndef MPT_SIM_NOTICE_H
#define MPT_SIM_NOTICE_H

/* Prints "simcuda: <what> is not supported" once for each distinct `flag`. Thread-safe. */
void sim_notice_unsupported(int *flag, const char *what);

/* Prints "simcuda: <message>" once for each distinct `flag`. Thread-safe. */
void sim_notice_once(int *flag, const char *message);

/* Prints "simcuda: <message>" now; for callers that keep their own once-flag. */
void sim_notice_line(const char *message);

/* "not supported" for a named API function: one static flag per call site. */
#define SIM_UNSUPPORTED_NOTICE(name)                                                               \
    do {                                                                                           \
        static int sim_notice_flag_;                                                               \
        sim_notice_unsupported(&sim_notice_flag_, name);                                           \
    } while (0)

#endif
