/*
 * bench/malloc/run.c: mbench-run [-p LIB] [-o FILE] [-t SECONDS] -- COMMAND [ARG...]
 *
 * Runs COMMAND once and prints one line: `<wall seconds> <peak RSS KiB> <status>`, where status
 * is `ok`, `exit=N`, `signal=N` or `timeout`. The allocator under test is preloaded into the
 * child only (LD_PRELOAD=LIB is set after fork), so the runner's own allocations never count.
 * COMMAND's stdout goes to FILE (default /dev/null); its stderr is left alone.
 *
 * Peak RSS comes from wait4(2): the largest resident set of the child or of any descendant it
 * waited for (gcc's cc1, git's subcommands), the same figure GNU time reports. The child runs in
 * its own process group, so a timeout kills the whole tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile sig_atomic_t timed_out;
static pid_t child;

static void on_alarm(int sig)
{
    (void)sig;
    timed_out = 1;
    kill(-child, SIGKILL);
}

static int usage(const char *self)
{
    fprintf(stderr, "usage: %s [-p LIB] [-o FILE] [-t SECONDS] -- COMMAND [ARG...]\n", self);
    return 2;
}

int main(int argc, char **argv)
{
    const char *preload = NULL, *out = "/dev/null";
    unsigned timeout = 0;
    int opt;
    while ((opt = getopt(argc, argv, "p:o:t:")) != -1) {
        if (opt == 'p') preload = optarg;
        else if (opt == 'o') out = optarg;
        else if (opt == 't') timeout = (unsigned)strtoul(optarg, NULL, 10);
        else return usage(argv[0]);
    }
    if (optind >= argc) return usage(argv[0]);

    double start = now_seconds();
    child = fork();
    if (child < 0) {
        perror("mbench-run: fork");
        return 1;
    }
    if (child == 0) {
        setpgid(0, 0);
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) _exit(126);
        close(fd);
        if (preload != NULL && *preload != '\0') setenv("LD_PRELOAD", preload, 1);
        else unsetenv("LD_PRELOAD");
        execvp(argv[optind], &argv[optind]);
        fprintf(stderr, "mbench-run: %s: %s\n", argv[optind], strerror(errno));
        _exit(127);
    }
    setpgid(child, child);
    if (timeout > 0) {
        signal(SIGALRM, on_alarm);
        alarm(timeout);
    }
    int status;
    struct rusage usage_info;
    while (wait4(child, &status, 0, &usage_info) < 0) {
        if (errno != EINTR) {
            perror("mbench-run: wait4");
            return 1;
        }
    }
    double wall = now_seconds() - start;
    alarm(0);
    char verdict[32];
    if (timed_out) snprintf(verdict, sizeof verdict, "timeout");
    else if (WIFSIGNALED(status)) snprintf(verdict, sizeof verdict, "signal=%d", WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0) snprintf(verdict, sizeof verdict, "exit=%d", WEXITSTATUS(status));
    else snprintf(verdict, sizeof verdict, "ok");
    printf("%.6f %ld %s\n", wall, usage_info.ru_maxrss, verdict);
    return 0;
}
