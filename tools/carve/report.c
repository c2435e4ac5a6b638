/*
 * tools/carve/report.c: replay results as an aligned table, CSV or JSON.
 *
 * The table ends, when there is more than one trace, with one line per allocator: its mean
 * utilisation over the traces it replayed without failure or error, and its ns/op over all of
 * them (total time / total operations).
 */
#include "lab.h"

#include <string.h>

const char *lab_human_bytes(size_t bytes, char *buf, size_t len)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0) snprintf(buf, len, "%zu B", bytes);
    else snprintf(buf, len, "%.1f %s", v, unit[u]);
    return buf;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\') fprintf(out, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) fprintf(out, "\\u%04x", *s);
        else fputc(*s, out);
    }
    fputc('"', out);
}

/* "gave up after 1 s at operation 612352 of 1148600 (53%): WHY", for a replay over its budget. */
static void timeout_note(const lab_result *x, char *buf, size_t len)
{
    double pct = x->planned_ops != 0 ? 100.0 * (double)x->ops / (double)x->planned_ops : 100.0;
    snprintf(buf, len, "gave up after %g s (--timeout) at operation %zu of %zu (%.0f%%)%s%s", x->budget_s, x->ops,
             x->planned_ops, pct, x->cost != NULL ? ": " : "", x->cost != NULL ? x->cost : "");
}

/* A CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break. */
static void csv_field(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s != '\0'; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void print_table(FILE *out, const lab_result *r, size_t n)
{
    int tw = 5;
    for (size_t i = 0; i < n; i++) {
        int len = (int)strlen(base_name(r[i].trace));
        if (len > tw) tw = len;
    }
    fprintf(out, "%-*s  %-11s %9s %6s %6s %12s %11s %8s %8s %8s %9s\n", tw, "trace", "allocator", "ops",
            "fail", "util", "peak fp", "int frag", "ext frag", "ns/op", "p99 ns", "max ns");
    for (size_t i = 0; i < n; i++) {
        const lab_result *x = &r[i];
        if (x->error) {
            fprintf(out, "%-*s  %-11s ERROR: %s\n", tw, base_name(x->trace), x->alloc, x->message);
            continue;
        }
        if (x->timed_out) {
            char why[320];
            timeout_note(x, why, sizeof why);
            fprintf(out, "%-*s  %-11s %9zu  %s\n", tw, base_name(x->trace), x->alloc, x->planned_ops, why);
            continue;
        }
        char fp[32], frag[32], ext[16];
        lab_human_bytes(x->peak_footprint, fp, sizeof fp);
        lab_human_bytes(x->internal_frag, frag, sizeof frag);
        if (x->external_frag < 0) snprintf(ext, sizeof ext, "n/a");
        else snprintf(ext, sizeof ext, "%.3f", x->external_frag);
        fprintf(out, "%-*s  %-11s %9zu %6zu %6.3f %12s %11s %8s %8.1f %8llu %9llu\n", tw, base_name(x->trace),
                x->alloc, x->ops, x->failures, x->utilisation, fp, frag, ext, x->ns_per_op,
                (unsigned long long)x->p99_ns, (unsigned long long)x->max_ns);
    }
    /* The summary: one line per allocator, in first-seen order. */
    size_t ntraces = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(r[i].alloc, r[0].alloc) == 0) ntraces++;
    if (ntraces < 2) return;
    fprintf(out, "\n%-11s %8s %9s %6s %9s\n", "allocator", "traces", "mean util", "fail", "ns/op");
    for (size_t i = 0; i < n; i++) {
        bool first = true;
        for (size_t j = 0; j < i; j++)
            if (strcmp(r[j].alloc, r[i].alloc) == 0) first = false;
        if (!first) continue;
        double util = 0, ns = 0;
        size_t counted = 0, ops = 0, failing = 0, errors = 0, slow = 0;
        for (size_t j = i; j < n; j++) {
            if (strcmp(r[j].alloc, r[i].alloc) != 0) continue;
            if (r[j].error) { errors++; continue; }
            if (r[j].timed_out) { slow++; continue; }
            ns += r[j].ns_per_op * (double)r[j].ops;
            ops += r[j].ops;
            if (r[j].failures != 0) { failing++; continue; }
            util += r[j].utilisation;
            counted++;
        }
        char slow_note[96] = "";
        if (slow != 0)
            snprintf(slow_note, sizeof slow_note, "  (not counted: %zu trace%s over the time budget)", slow,
                     slow == 1 ? "" : "s");
        fprintf(out, "%-11s %8zu %9.3f %6zu %9.1f%s%s\n", r[i].alloc, counted, counted ? util / (double)counted : 0.0,
                failing, ops ? ns / (double)ops : 0.0, errors ? "  (content errors!)" : "", slow_note);
    }
}

void lab_print_results(FILE *out, lab_format fmt, const lab_result *r, size_t n)
{
    if (fmt == LAB_TABLE) {
        print_table(out, r, n);
        return;
    }
    if (fmt == LAB_CSV)
        fprintf(out, "trace,allocator,ops,failures,utilisation,peak_live,peak_footprint,internal_frag,"
                     "external_frag,ns_per_op,p99_ns,max_ns,error\n");
    else
        fprintf(out, "[\n");
    for (size_t i = 0; i < n; i++) {
        const lab_result *x = &r[i];
        if (fmt == LAB_CSV) {
            csv_field(out, x->trace);
            fputc(',', out);
            csv_field(out, x->alloc);
            fprintf(out, ",%zu,%zu,%.6f,%zu,%zu,%zu,", x->ops, x->failures, x->utilisation, x->peak_live,
                    x->peak_footprint, x->internal_frag);
            if (x->external_frag >= 0) fprintf(out, "%.6f", x->external_frag);
            fprintf(out, ",%.2f,%llu,%llu,", x->ns_per_op, (unsigned long long)x->p99_ns, (unsigned long long)x->max_ns);
            if (x->timed_out) {
                char why[320];
                timeout_note(x, why, sizeof why);
                csv_field(out, why);
            }
            if (x->error) csv_field(out, x->message);
            fputc('\n', out);
            continue;
        }
        fprintf(out, "  {\"trace\": ");
        json_string(out, x->trace);
        fprintf(out, ", \"allocator\": ");
        json_string(out, x->alloc);
        fprintf(out, ", \"ops\": %zu, \"failures\": %zu, \"utilisation\": %.6f, \"peak_live\": %zu, "
                     "\"peak_footprint\": %zu, \"internal_frag\": %zu, \"external_frag\": ",
                x->ops, x->failures, x->utilisation, x->peak_live, x->peak_footprint, x->internal_frag);
        if (x->external_frag >= 0) fprintf(out, "%.6f", x->external_frag);
        else fprintf(out, "null");
        fprintf(out, ", \"ns_per_op\": %.2f, \"p99_ns\": %llu, \"max_ns\": %llu, \"error\": ", x->ns_per_op,
                (unsigned long long)x->p99_ns, (unsigned long long)x->max_ns);
        if (x->error) json_string(out, x->message);
        else fprintf(out, "null");
        fprintf(out, ", \"timed_out\": %s, \"planned_ops\": %zu, \"timing_faults\": %zu", x->timed_out ? "true" : "false",
                x->planned_ops, x->timing_faults);
        if (x->timed_out) {
            char why[320];
            timeout_note(x, why, sizeof why);
            fprintf(out, ", \"gave_up\": ");
            json_string(out, why);
        }
        fprintf(out, "}%s\n", i + 1 < n ? "," : "");
    }
    if (fmt == LAB_JSON) fprintf(out, "]\n");
}
