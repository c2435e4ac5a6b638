/*
 * tools/carve/cmd_record.c: carve record -o FILE.rep[.gz] [--lib LIBRECORD] -- PROGRAM [ARGS...]
 *
 * Runs PROGRAM with build/libcarve-record.so preloaded (see recorder.c), which logs its
 * operations to FILE.rep.ops; then writes FILE.rep: the four header lines (suggested heap = the
 * peak of live bytes, number of ids, number of operations, weight 1), a comment naming the
 * command, and the operations. A name ending in .gz is compressed with gzip. The exit status is
 * the program's (or 2 when carve itself cannot do its part).
 */
#include "lab.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: carve record -o FILE.rep[.gz] [--lib LIBCARVE_RECORD] -- PROGRAM [ARGS...]\n"
                 "  runs PROGRAM with the malloc recorder preloaded and writes its allocations as a .rep trace\n"
                 "  --lib PATH   the recorder (default: libcarve-record.so next to carve, or $CARVE_RECORD_LIB)\n");
}

/* The recorder library: --lib, $CARVE_RECORD_LIB, or next to this executable. */
static int find_recorder(const char *given, char *out, size_t len)
{
    const char *env = getenv("CARVE_RECORD_LIB");
    if (given == NULL) given = env;
    if (given != NULL) {
        if (realpath(given, out) == NULL) return -1;
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = '\0';
    snprintf(out, len, "%s/libcarve-record.so", dirname(exe));
    return access(out, R_OK);
}

/* Write the final trace from the recorder's log. */
static int write_trace(const char *ops_path, const char *out_path, int argc, char **argv)
{
    trace t;
    char err[512];
    /* The log has no header: give it one for the reader, then count. */
    FILE *in = fopen(ops_path, "r");
    if (in == NULL) {
        fprintf(stderr, "carve record: no recording was made (%s: %s); did the program start?\n", ops_path,
                strerror(errno));
        return -1;
    }
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    if (text == NULL) {
        fclose(in);
        return -1;
    }
    len = (size_t)snprintf(text, cap, "0\n0\n0\n1\n");
    for (;;) {
        if (cap - len < 65536) {
            char *grown = realloc(text, cap * 2);
            if (grown == NULL) break;
            text = grown;
            cap *= 2;
        }
        size_t got = fread(text + len, 1, cap - len - 1, in);
        if (got == 0) break;
        len += got;
    }
    fclose(in);
    text[len] = '\0';
    if (trace_parse(ops_path, text, &t, err, sizeof err) != 0) {
        fprintf(stderr, "carve record: the recording is damaged: %s\n", err);
        free(text);
        return -1;
    }
    lab_plan plan;
    if (lab_plan_build(&t, &plan, NULL, 0) != 0) {
        free(text);
        trace_free(&t);
        return -1;
    }
    size_t n = strlen(out_path);
    bool gz = n > 3 && strcmp(out_path + n - 3, ".gz") == 0;
    FILE *out;
    if (gz) {
        char cmd[PATH_MAX + 32];
        if (strchr(out_path, '\'') != NULL) {
            fprintf(stderr, "carve record: unsupported file name %s\n", out_path);
            out = NULL;
        } else {
            snprintf(cmd, sizeof cmd, "gzip -c > '%s'", out_path);
            out = popen(cmd, "w");
        }
    } else {
        out = fopen(out_path, "w");
    }
    int rc = -1;
    if (out != NULL) {
        fprintf(out, "%zu\n%u\n%zu\n1\n# carve record:", plan.peak_live, t.nids, t.nops);
        for (int i = 0; i < argc; i++) fprintf(out, " %s", argv[i]);
        fputc('\n', out);
        fputs(text + 8, out); /* the operations and the recorder's own figures */
        rc = gz ? pclose(out) : fclose(out);
        if (rc != 0) fprintf(stderr, "carve record: could not write %s\n", out_path);
    } else if (!gz) {
        fprintf(stderr, "carve record: %s: %s\n", out_path, strerror(errno));
    }
    if (rc == 0)
        fprintf(stderr, "carve record: %zu operations, %u ids, peak live %zu bytes -> %s\n", t.nops, t.nids,
                plan.peak_live, out_path);
    lab_plan_free(&plan);
    trace_free(&t);
    free(text);
    return rc;
}

int lab_cmd_record(int argc, char **argv)
{
    static const struct option longs[] = {
        {"output", required_argument, NULL, 'o'}, {"lib", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    const char *out_path = NULL, *lib = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+o:h", longs, NULL)) != -1) {
        switch (c) {
        case 'o': out_path = optarg; break;
        case 'l': lib = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (out_path == NULL || optind >= argc) {
        usage(stderr);
        return 2;
    }
    char recorder[PATH_MAX];
    if (find_recorder(lib, recorder, sizeof recorder) != 0) {
        fprintf(stderr, "carve record: cannot find libcarve-record.so (build it, or give --lib)\n");
        return 2;
    }
    char ops_path[PATH_MAX];
    snprintf(ops_path, sizeof ops_path, "%s.ops", out_path);
    unlink(ops_path);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "carve record: fork: %s\n", strerror(errno));
        return 2;
    }
    if (pid == 0) {
        char preload[2 * PATH_MAX + 2], pidbuf[32];
        const char *old = getenv("LD_PRELOAD");
        snprintf(preload, sizeof preload, "%s%s%s", recorder, old != NULL && *old ? ":" : "", old != NULL ? old : "");
        snprintf(pidbuf, sizeof pidbuf, "%ld", (long)getpid());
        setenv("LD_PRELOAD", preload, 1);
        setenv("CARVE_RECORD_FILE", ops_path, 1);
        setenv("CARVE_RECORD_PID", pidbuf, 1);
        execvp(argv[optind], &argv[optind]);
        fprintf(stderr, "carve record: cannot run %s: %s\n", argv[optind], strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    int prog = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (prog == 127 && access(ops_path, F_OK) != 0) return 2;
    int rc = write_trace(ops_path, out_path, argc - optind, &argv[optind]);
    unlink(ops_path);
    return rc != 0 ? 2 : prog;
}
