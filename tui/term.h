/*
 * The terminal backend: the only code that talks to curses. It owns the terminal for one
 * session (mpt_tui_term_session), feeds keys and mouse events to the app, re-reads the model
 * between keys, and copies the app's canvas to the screen. It restores the terminal on every
 * way out: normal return, SIGINT/SIGTERM/SIGHUP (which end the session cleanly) and fatal
 * signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT), whose handler writes the saved
 * reset sequences and terminal modes with async-signal-safe calls and re-raises the signal.
 */
#ifndef MPT_TUI_TERM_H
#define MPT_TUI_TERM_H

#include <stddef.h>

#include "tui/app.h"

/* Runs the interactive loop until the user quits or a terminating signal arrives.
 * color: -1 auto, 0 off, 1 on. Returns 0, or -1 with a message (no terminal, no terminfo). */
int mpt_tui_term_session(mpt_tui_app *a, int color, char *err, size_t errlen);

/* The terminating signal that ended the last session (SIGINT, SIGTERM, SIGHUP), or 0. */
int mpt_tui_term_quit_signal(void);

/* The curses attribute of a style (colour pair or, monochrome, bold/underline/reverse/dim);
 * exposed for tests of the monochrome mapping. Only meaningful after the session started
 * curses; `mono` selects the monochrome table. */
unsigned long mpt_tui_term_attr(unsigned style, int mono);

#endif
