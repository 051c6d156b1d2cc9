/* A child for cudaenv run's terminal test: counts SIGINT deliveries in a C handler (Python
 * merges signals that arrive before its handler runs; this counts each one the kernel
 * delivers). Writes "ready" to argv[1], spins until the first SIGINT, waits half a second for a
 * second copy, writes the count and exits 40 + count.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t count = 0;

static void on_sigint(int signo) {
    (void)signo;
    count++;
}

static void put(const char *path, const char *text, int n) {
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fprintf(f, text, n);
        fclose(f);
    }
}

int main(int argc, char **argv) {
    struct sigaction action;
    if (argc != 2) return 2;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_sigint;
    sigaction(SIGINT, &action, NULL);
    put(argv[1], "ready", 0);
    while (count == 0) {
        /* on a CPU, not asleep: the signal is taken as soon as it is sent */
    }
    struct timespec left = {0, 500000000};
    while (nanosleep(&left, &left) != 0) {
    }
    put(argv[1], "%d", (int)count);
    return 40 + count;
}
