/*
 * pause: the process that holds a pod's namespaces open.
 *
 * Written for labgrader's offline kind node image. It does nothing but wait:
 *  - SIGINT / SIGTERM: exit 0 (the sandbox is being torn down);
 *  - SIGCHLD: reap any exited children, so that when it runs as PID 1 of a
 *    shared PID namespace, orphans do not stay zombies;
 *  - `pause -v` prints a version line and exits.
 * Build: gcc -static -Os -o pause pause.c
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PAUSE_VERSION
#define PAUSE_VERSION "labgrader"
#endif

static void on_term(int sig) {
	(void)sig;
	_exit(0);
}

static void on_child(int sig) {
	int saved = errno;
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
	errno = saved;
}

static void install(int sig, void (*fn)(int), int flags) {
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0) {
		perror("pause: sigaction");
		exit(1);
	}
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		printf("pause %s\n", PAUSE_VERSION);
		return 0;
	}
	if (getpid() != 1)
		fprintf(stderr, "pause: warning: not running as PID 1\n");
	install(SIGINT, on_term, 0);
	install(SIGTERM, on_term, 0);
	install(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART);
	for (;;)
		pause();
	return 1; /* not reached */
}
