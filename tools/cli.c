/* avtruth command line: the option-table parser and --help printer (cli.h). */
#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/common.h"

enum { CLI_MAX_OPTS = 64 };

/* "a, b or c" */
static void choices_text(const char *const *c, char *buf, size_t n)
{
    size_t k = 0, pos = 0;
    while (c[k]) k++;
    buf[0] = '\0';
    for (size_t i = 0; i < k && pos < n; i++) {
        int w = snprintf(buf + pos, n - pos, "%s%s", i == 0 ? "" : (i + 1 == k ? " or " : ", "), c[i]);
        if (w < 0) break;
        pos += (size_t)w;
    }
}

/* What an option accepts, for --help and for errors. */
static void accepted_text(const cli_opt *o, char *buf, size_t n)
{
    switch (o->kind) {
    case CLI_CHOICE: choices_text(o->choices, buf, n); break;
    case CLI_INT: snprintf(buf, n, "an integer in %.0f..%.0f", o->min, o->max); break;
    case CLI_REAL: snprintf(buf, n, "a number in %g..%g", o->min, o->max); break;
    case CLI_CALL: {
        char tmp[256] = "";
        o->call(NULL, NULL, tmp, sizeof tmp); /* call(NULL) fills only `accepted` */
        snprintf(buf, n, "%s", tmp);
        break;
    }
    default: buf[0] = '\0';
    }
}

void cli_help(const cli_cmd *cmd, const cli_opt *opts, FILE *f)
{
    fprintf(f, "usage: avtruth %s %s\n\n%s\n", cmd->name, cmd->args ? cmd->args : "", cmd->summary);
    if (opts && opts[0].name) fputs("\noptions:\n", f);
    for (const cli_opt *o = opts; o && o->name; o++) {
        char left[160], acc[256];
        const char *mv = o->metavar ? o->metavar : "VALUE";
        if (o->kind == CLI_FLAG) mv = "";
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name, *mv ? " " : "", mv);
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name, *mv ? " " : "", mv);
        accepted_text(o, acc, sizeof acc);
        if (strlen(left) > 28) fprintf(f, "  %s\n  %-28s %s", left, "", o->help);
        else fprintf(f, "  %-28s %s", left, o->help);
        if (acc[0]) fprintf(f, " [%s]", acc);
        if (o->def) fprintf(f, " (default: %s)", o->def);
        fputc('\n', f);
    }
    fprintf(f, "  %-28s %s\n", "-h, --help", "this text");
    if (cmd->example) fprintf(f, "\nexample:\n%s", cmd->example);
}

int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "avtruth %s: %s\n(avtruth %s --help lists the options)\n", cmd->name, msg, cmd->name);
    return 2;
}

int cli_fail(const avt_error *err)
{
    fprintf(stderr, "avtruth: error: %s\n", err->msg[0] ? err->msg : avt_status_message(err->code));
    return 1;
}

/* Stores optarg for option o; 0, or 2 after printing the error. */
static int store(const cli_cmd *cmd, const cli_opt *o, const char *v)
{
    char acc[256];
    switch (o->kind) {
    case CLI_FLAG: *(int *)o->dest = 1; return 0;
    case CLI_STR: *(const char **)o->dest = v; return 0;
    case CLI_INT: {
        int64_t x;
        if (avt_parse_int64(v, &x) && (double)x >= o->min && (double)x <= o->max) {
            *(int64_t *)o->dest = x;
            return 0;
        }
        break;
    }
    case CLI_REAL: {
        double x;
        if (avt_parse_double(v, &x) && isfinite(x) && x >= o->min && x <= o->max) {
            *(double *)o->dest = x;
            return 0;
        }
        break;
    }
    case CLI_CHOICE:
        for (int i = 0; o->choices[i]; i++)
            if (strcmp(v, o->choices[i]) == 0) {
                *(int *)o->dest = i;
                return 0;
            }
        break;
    case CLI_CALL:
        acc[0] = '\0';
        if (o->call(v, o->dest, acc, sizeof acc) == 0) return 0;
        return cli_usage_error(cmd, "--%s: '%s' is not accepted: expected %s", o->name, v, acc);
    }
    accepted_text(o, acc, sizeof acc);
    return cli_usage_error(cmd, "--%s: '%s' is not accepted: expected %s", o->name, v, acc);
}

int cli_parse(const cli_cmd *cmd, const cli_opt *opts, int argc, char **argv, char ***pos, int *npos)
{
    struct option lo[CLI_MAX_OPTS + 2];
    char shorts[2 * CLI_MAX_OPTS + 4] = ":h"; /* leading ':': a missing value is reported as ':' */
    size_t n = 0, sp = 2;
    for (const cli_opt *o = opts; o && o->name; o++, n++) {
        if (n == CLI_MAX_OPTS) return cli_usage_error(cmd, "internal: too many options");
        lo[n] = (struct option){o->name, o->kind == CLI_FLAG ? no_argument : required_argument, NULL, (int)(256 + n)};
        if (o->short_name) {
            shorts[sp++] = o->short_name;
            if (o->kind != CLI_FLAG) shorts[sp++] = ':';
        }
    }
    shorts[sp] = '\0';
    lo[n++] = (struct option){"help", no_argument, NULL, 'h'};
    lo[n] = (struct option){NULL, 0, NULL, 0};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        if (c == 'h') {
            cli_help(cmd, opts, stdout);
            return CLI_EXIT_HELP;
        }
        if (c == '?') {
            if (optopt) return cli_usage_error(cmd, "unknown option '-%c'", optopt);
            return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
        if (c == ':') return cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        const cli_opt *o = NULL;
        if (c >= 256) o = &opts[c - 256];
        else
            for (const cli_opt *q = opts; q->name; q++)
                if (q->short_name == c) o = q;
        if (!o) return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        int r = store(cmd, o, optarg);
        if (r) return r;
    }
    *pos = argv + optind;
    *npos = argc - optind;
    return CLI_OK;
}

char *cli_join_args(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
    char *s = malloc(len);
    if (!s) return NULL;
    size_t p = 0;
    for (int i = 0; i < argc; i++) {
        size_t k = strlen(argv[i]);
        if (i) s[p++] = ' ';
        memcpy(s + p, argv[i], k);
        p += k;
    }
    s[p] = '\0';
    return s;
}
