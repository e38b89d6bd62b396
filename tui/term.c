/*
 * The curses backend (term.h): terminal setup and restore, colours or monochrome, the event
 * loop, and the copy of the canvas to the screen.
 *
 * The loop: wait for a key (100 ms at most when idle, not at all while a trace is loading),
 * handle every key already queued, read more of the trace (a time-bounded slice: 30 ms while
 * loading, so a key waits at most that long), repaint when anything moved. A live trace's new
 * step therefore shows within ~100 ms of its flush.
 *
 * Restore on fatal signals: curses' own endwin() is not async-signal-safe, so at start the
 * terminal's modes (termios) and its reset strings (rmcup, cnorm, sgr0, rmkx, mouse off) are
 * saved; the handler writes them with write(2), restores the modes with tcsetattr(3) (both
 * async-signal-safe), puts the default action back and re-raises the signal.
 */
#include <curses.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "tui/term.h"

static struct termios saved_tio;
static int have_tio;
static char reset_seq[256];
static size_t reset_len;
static volatile sig_atomic_t quit_signal;
static const int fatal_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT};
static const int quit_sigs[] = {SIGINT, SIGTERM, SIGHUP};
#define NFATAL (sizeof fatal_sigs / sizeof *fatal_sigs)
#define NQUIT  (sizeof quit_sigs / sizeof *quit_sigs)
static struct sigaction old_fatal[NFATAL], old_quit[NQUIT];

static void on_fatal(int sig)
{
    if (reset_len) {
        ssize_t w = write(STDOUT_FILENO, reset_seq, reset_len);
        (void)w;
    }
    if (have_tio) tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
    signal(sig, SIG_DFL);
    raise(sig); /* delivered when the handler returns: the default action (core, exit) */
}

static void on_quit(int sig)
{
    quit_signal = sig;
}

static void add_cap(const char *name)
{
    char *s = tigetstr((char *)name);
    if (!s || s == (char *)-1) return;
    size_t n = strlen(s);
    if (reset_len + n < sizeof reset_seq) {
        memcpy(reset_seq + reset_len, s, n);
        reset_len += n;
    }
}

static void install_handlers(int mouse)
{
    reset_len = 0;
    if (mouse) { /* xterm mouse reporting off (what ncurses turned on) */
        static const char off[] = "\033[?1006l\033[?1002l\033[?1000l";
        memcpy(reset_seq, off, sizeof off - 1);
        reset_len = sizeof off - 1;
    }
    add_cap("sgr0");
    add_cap("cnorm");
    add_cap("rmkx");
    add_cap("rmcup");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_fatal;
    for (size_t i = 0; i < NFATAL; i++)
        sigaction(fatal_sigs[i], &sa, &old_fatal[i]);
    sa.sa_handler = on_quit;
    for (size_t i = 0; i < NQUIT; i++)
        sigaction(quit_sigs[i], &sa, &old_quit[i]);
}

static void remove_handlers(void)
{
    for (size_t i = 0; i < NFATAL; i++)
        sigaction(fatal_sigs[i], &old_fatal[i], NULL);
    for (size_t i = 0; i < NQUIT; i++)
        sigaction(quit_sigs[i], &old_quit[i], NULL);
    reset_len = 0;
}

int mpt_tui_term_quit_signal(void)
{
    return quit_signal;
}

/* ---- styles ---------------------------------------------------------------------------------- */

static const struct {
    short fg, bg;
    unsigned long extra; /* colour mode */
    unsigned long mono;  /* monochrome mode */
} styles[MPT_STY_COUNT] = {
    [MPT_STY_NORMAL] = {-1, -1, 0, 0},
    [MPT_STY_DIM] = {-1, -1, A_DIM, A_DIM},
    [MPT_STY_BOLD] = {-1, -1, A_BOLD, A_BOLD},
    [MPT_STY_BAR] = {COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE},
    [MPT_STY_TAB] = {COLOR_WHITE, COLOR_BLUE, 0, A_REVERSE},
    [MPT_STY_TAB_ON] = {COLOR_BLACK, COLOR_GREEN, A_BOLD, A_BOLD | A_UNDERLINE},
    [MPT_STY_OK] = {COLOR_GREEN, -1, 0, 0},
    [MPT_STY_INFO] = {COLOR_BLUE, -1, A_BOLD, 0},
    [MPT_STY_WARN] = {COLOR_YELLOW, -1, 0, A_BOLD},
    [MPT_STY_BAD] = {COLOR_RED, -1, 0, A_UNDERLINE},
    [MPT_STY_NONFINITE] = {COLOR_RED, -1, A_BOLD, A_BOLD | A_UNDERLINE},
    [MPT_STY_PLOT] = {COLOR_CYAN, -1, 0, 0},
    [MPT_STY_SCALE] = {COLOR_MAGENTA, -1, 0, 0},
    [MPT_STY_SKIP] = {COLOR_YELLOW, -1, A_BOLD, A_BOLD},
};

unsigned long mpt_tui_term_attr(unsigned style, int mono)
{
    unsigned s = style & MPT_STY_MASK;
    unsigned long at = 0;
    if (s < MPT_STY_COUNT) {
        if (mono)
            at = styles[s].mono;
        else
            at = styles[s].extra | ((styles[s].fg != -1 || styles[s].bg != -1) ? COLOR_PAIR(s) : 0);
    }
    if (style & MPT_STY_REVERSE) at ^= A_REVERSE;
    return at;
}

static int setup_colors(int want)
{
    const char *nc = getenv("NO_COLOR"); /* no-color.org: set and not empty */
    if (want == 0 || (want < 0 && nc && *nc) || !has_colors()) return 0;
    if (start_color() == ERR) return 0;
    use_default_colors();
    for (unsigned s = 1; s < MPT_STY_COUNT; s++)
        if (styles[s].fg != -1 || styles[s].bg != -1) init_pair((short)s, styles[s].fg, styles[s].bg);
    return 1;
}

/* ---- screen ---------------------------------------------------------------------------------- */

static void blit(const mpt_canvas *c, int mono)
{
    wchar_t run[1024];
    for (int y = 0; y < c->h; y++) {
        int x = 0;
        while (x < c->w) {
            size_t i = (size_t)y * (size_t)c->w + (size_t)x;
            uint8_t s = c->sty[i];
            int n = 0;
            while (x + n < c->w && n < 1023 && c->sty[i + (size_t)n] == s) {
                run[n] = (wchar_t)c->cp[i + (size_t)n];
                n++;
            }
            run[n] = 0;
            attrset((attr_t)mpt_tui_term_attr(s, mono));
            mvaddnwstr(y, x, run, n);
            x += n;
        }
    }
    attrset(A_NORMAL);
}

static int translate(int r, wint_t ch)
{
    if (r == OK) {
        switch (ch) {
        case '\n': case '\r': return MPT_KEY_ENTER;
        case '\t': return MPT_KEY_TAB;
        case 27: return MPT_KEY_ESC;
        case 3: return MPT_KEY_CTRL_C;
        case 12: return MPT_KEY_CTRL_L;
        case 127: case 8: return MPT_KEY_BACKSPACE;
        default: return ch < 0x20 ? 0 : (int)ch;
        }
    }
    switch (ch) {
    case KEY_UP: return MPT_KEY_UP;
    case KEY_DOWN: return MPT_KEY_DOWN;
    case KEY_LEFT: return MPT_KEY_LEFT;
    case KEY_RIGHT: return MPT_KEY_RIGHT;
    case KEY_PPAGE: return MPT_KEY_PGUP;
    case KEY_NPAGE: return MPT_KEY_PGDN;
    case KEY_HOME: return MPT_KEY_HOME;
    case KEY_END: return MPT_KEY_END;
    case KEY_ENTER: return MPT_KEY_ENTER;
    case KEY_BTAB: return MPT_KEY_BTAB;
    case KEY_BACKSPACE: return MPT_KEY_BACKSPACE;
    default: return 0;
    }
}

static void mouse_event(mpt_tui_app *a)
{
    MEVENT ev;
    if (getmouse(&ev) != OK) return;
    int b = ev.bstate & BUTTON1_DOUBLE_CLICKED ? MPT_MOUSE_DOUBLE
            : ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED) ? MPT_MOUSE_CLICK
            : ev.bstate & BUTTON4_PRESSED ? MPT_MOUSE_WHEEL_UP
#ifdef BUTTON5_PRESSED
            : ev.bstate & BUTTON5_PRESSED ? MPT_MOUSE_WHEEL_DOWN
#endif
                                           : 0;
    if (b) mpt_tui_app_mouse(a, ev.x, ev.y, b);
}

int mpt_tui_term_session(mpt_tui_app *a, int color, char *err, size_t errlen)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        snprintf(err, errlen, "the TUI needs a terminal on stdin and stdout");
        return -1;
    }
    setlocale(LC_ALL, "");
    have_tio = tcgetattr(STDIN_FILENO, &saved_tio) == 0;
    quit_signal = 0;
    SCREEN *scr = newterm(NULL, stdout, stdin); /* unlike initscr, fails without exiting */
    if (!scr) {
        const char *t = getenv("TERM");
        snprintf(err, errlen, "cannot drive terminal type '%s' (no terminfo entry?)", t ? t : "");
        return -1;
    }
    int mono = !setup_colors(color);
    raw(); /* Ctrl-C arrives as a key: quitting is the app's decision (live mode asks first) */
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    int mouse = mousemask(BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
                              | BUTTON5_PRESSED
#endif
                          , NULL) != 0;
    install_handlers(mouse);
    mpt_canvas cv;
    int rc = 0;
    if (mpt_canvas_init(&cv, COLS, LINES, a->unicode) != 0) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
        goto out;
    }
    mpt_tui_app_tick(a, 0.05, 0.3);
    int dirty = 1;
    while (!a->quit && !quit_signal) {
        if (dirty) {
            mpt_tui_render(a, &cv);
            blit(&cv, mono);
            refresh();
            dirty = 0;
        }
        timeout(a->busy ? 0 : 100); /* no waiting while there is more to read now */
        wint_t ch;
        int r;
        while ((r = get_wch(&ch)) != ERR) { /* every key already typed, then one repaint */
            if (r == KEY_CODE_YES && ch == KEY_RESIZE) {
                mpt_canvas_resize(&cv, COLS, LINES);
                clearok(stdscr, TRUE);
            } else if (r == KEY_CODE_YES && ch == KEY_MOUSE) {
                mouse_event(a);
            } else {
                int k = translate(r, ch);
                if (k == MPT_KEY_CTRL_L) clearok(stdscr, TRUE);
                if (k) mpt_tui_app_key(a, k);
            }
            dirty = 1;
            if (a->quit) break;
            timeout(0);
        }
        if (mpt_tui_app_tick(a, a->loading ? 0.03 : 0.02, 0.3)) dirty = 1;
    }
out:
    mpt_canvas_free(&cv);
    endwin();
    delscreen(scr);
    remove_handlers();
    return rc;
}
