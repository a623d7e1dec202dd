/* timeit.c -- runs a command N times (fork and exec, no shell) and prints
 * the median and the best wall time in seconds: for timing short runs,
 * like a warm partsctl get, without a shell's overhead. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[1]) : 0;
	double *t;

	if (n <= 0) {
		fprintf(stderr, "usage: timeit N COMMAND [ARG...]\n");
		return 2;
	}
	t = calloc((size_t)n, sizeof *t);
	for (int i = 0; i < n; i++) {
		double t0 = now();
		int status;
		pid_t pid = fork();
		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY);
			dup2(fd, 1);
			execv(argv[2], argv + 2);
			_exit(127);
		}
		if (pid == -1 || waitpid(pid, &status, 0) == -1 ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "timeit: the command failed\n");
			return 1;
		}
		t[i] = now() - t0;
	}
	qsort(t, (size_t)n, sizeof *t, cmp);
	printf("%.6f %.6f\n", t[n / 2], t[0]);
	free(t);
	return 0;
}
