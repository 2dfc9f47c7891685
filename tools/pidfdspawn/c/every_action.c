// SPDX-License-Identifier: MIT OR LGPL-2.1-or-later
/*
 * every_action: an unmodified C program that uses every file action of
 * glibc's posix_spawn() in one spawn, and then one failing spawn.
 *
 * Run it plainly and it is glibc's posix_spawnp(); run it with
 * LD_PRELOAD=libpidfdspawn.so and the same calls start an embryo. Both
 * runs must print the same lines: what the child saw (descriptors,
 * directory, process group, terminal, signal state), what it wrote through
 * the descriptor an addopen action gave it, and the error of the spawn
 * that fails. How libpidfdspawn routed the spawns goes to stderr.
 *
 * The spawn, in the order the child runs it:
 *   addfchdir_np(dir)            cwd := the scratch directory
 *   addchdir_np("sub")           cwd := its subdirectory, relative
 *   addopen(3, "out.txt", ...)   created in that cwd
 *   adddup2(pipe, 1)             stdout is the report pipe
 *   adddup2(tty, 0)              stdin is a pty, the session's terminal
 *   addclose(tty)
 *   adddup2(keep, keep)          keep (7, or the next free one below 10)
 *                                is O_CLOEXEC here: this keeps it
 *   addclosefrom_np(10)          fd 20 (or above), inherited, goes
 *   addtcsetpgrp_np(0)           the child's group takes the terminal
 * with POSIX_SPAWN_SETPGROUP (its own group), SETSIGMASK (SIGUSR1) and
 * SETSIGDEF (SIGUSR2, which the caller ignores).
 *
 * Usage: every_action
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *scratch;

static void die(const char *what)
{
	fprintf(stderr, "every_action: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Prints a path with the scratch directory's name replaced by DIR. */
static void print_path(const char *p)
{
	size_t n = strlen(scratch);

	if (!strncmp(p, scratch, n))
		printf("DIR%s", p + n);
	else if (!strncmp(p, "pipe:", 5))
		printf("a pipe");
	else if (!strncmp(p, "/dev/pts/", 9))
		printf("the pty");
	else
		printf("%s", p);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The child: report what it was born with. */
static int report(void)
{
	int fds[64], n = 0, i;
	char link[PATH_MAX + 32], target[PATH_MAX];
	struct sigaction sa;
	struct dirent *e;
	sigset_t mask;
	ssize_t len;
	DIR *d;

	if (dprintf(3, "written by the child through fd 3\n") < 0)
		die("write to fd 3");

	d = opendir("/proc/self/fd");
	if (!d)
		die("opendir /proc/self/fd");
	while ((e = readdir(d)) && n < 64) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		fds[n++] = atoi(e->d_name);
	}
	closedir(d);
	qsort(fds, n, sizeof(fds[0]), cmp_int);
	for (i = 0; i < n; i++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fds[i]);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			die("readlink");
		target[len] = '\0';
		printf("child: fd %d is ", fds[i]);
		print_path(target);
		printf("\n");
	}

	if (!getcwd(target, sizeof(target)))
		die("getcwd");
	printf("child: cwd ");
	print_path(target);
	printf("\n");
	printf("child: process group %s\n", getpgrp() == getpid() ? "its own" : "inherited");
	printf("child: foreground group of its terminal: %s\n",
	       tcgetpgrp(0) == getpgrp() ? "its own" : "another");
	sigprocmask(SIG_SETMASK, NULL, &mask);
	printf("child: SIGUSR1 %s\n", sigismember(&mask, SIGUSR1) ? "blocked" : "not blocked");
	sigaction(SIGUSR2, NULL, &sa);
	printf("child: SIGUSR2 %s\n", sa.sa_handler == SIG_IGN ? "ignored" : "default");
	return 7;
}

static void counts(void)
{
	void (*fn)(unsigned long long *, unsigned long long *);
	unsigned long long e = 0, f = 0;

	/* Only there under LD_PRELOAD=libpidfdspawn.so. */
	*(void **)&fn = dlsym(RTLD_DEFAULT, "pidfdspawn_counts");
	if (fn) {
		fn(&e, &f);
		fprintf(stderr, "via embryo=%llu fallback=%llu\n", e, f);
	}
}

/* In a session of its own, with a pty as its terminal: the spawns. */
static int spawner(const char *self)
{
	char buf[4096], path[PATH_MAX], *argv[] = { "every_action", "--report", (char *)scratch, NULL };
	posix_spawn_file_actions_t fa;
	int pty, tty, p[2], dir, keep, ret, status;
	posix_spawnattr_t attr;
	sigset_t set;
	ssize_t len;
	pid_t pid;
	FILE *f;

	/* Start from 0, 1 and 2 only, whatever the caller left open. */
	if (close_range(3, ~0U, 0))
		die("close_range");
	if (setsid() < 0)
		die("setsid");
	pty = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (pty < 0 || grantpt(pty) || unlockpt(pty))
		die("posix_openpt");
	tty = open(ptsname(pty), O_RDWR | O_CLOEXEC);
	if (tty < 0 || ioctl(tty, TIOCSCTTY, 0))
		die("open the pty as the controlling terminal");
	if (pipe2(p, O_CLOEXEC))
		die("pipe2");
	dir = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		die("open the scratch directory");
	/* Whatever the caller left open: the lowest free one from 7 up. */
	keep = fcntl(dir, F_DUPFD_CLOEXEC, 7);
	if (keep < 0 || keep >= 10)
		die("no free descriptor from 7 to 9");
	if (fcntl(dir, F_DUPFD, 20) < 20)
		die("dup onto 20 or above");
	signal(SIGUSR2, SIG_IGN);

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addfchdir_np(&fa, dir);
	posix_spawn_file_actions_addchdir_np(&fa, "sub");
	posix_spawn_file_actions_addopen(&fa, 3, "out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, tty, 0);
	posix_spawn_file_actions_addclose(&fa, tty);
	posix_spawn_file_actions_adddup2(&fa, keep, keep);
	posix_spawn_file_actions_addclosefrom_np(&fa, 10);
	posix_spawn_file_actions_addtcsetpgrp_np(&fa, 0);

	posix_spawnattr_init(&attr);
	posix_spawnattr_setpgroup(&attr, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	posix_spawnattr_setsigmask(&attr, &set);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	posix_spawnattr_setsigdefault(&attr, &set);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);

	/* posix_spawnp() searches PATH: the directory of this program. */
	snprintf(path, sizeof(path), "%s", self);
	*strrchr(path, '/') = '\0';
	setenv("PATH", path, 1);
	ret = posix_spawnp(&pid, "every_action", &fa, &attr, argv, environ);
	printf("posix_spawnp: %s\n", ret ? strerror(ret) : "started");
	close(p[1]);
	if (!ret) {
		while ((len = read(p[0], buf, sizeof(buf))) > 0)
			fwrite(buf, 1, len, stdout);
		if (waitpid(pid, &status, 0) != pid)
			die("waitpid");
		printf("child: exit status %d\n", WEXITSTATUS(status));
		snprintf(path, sizeof(path), "%s/sub/out.txt", scratch);
		f = fopen(path, "r");
		if (!f)
			die("open DIR/sub/out.txt");
		while (fgets(buf, sizeof(buf), f))
			printf("DIR/sub/out.txt: %s", buf);
		fclose(f);
		unlink(path);
	}
	posix_spawn_file_actions_destroy(&fa);

	/* A spawn whose open action fails: the error, and no child at all. */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addchdir_np(&fa, scratch);
	posix_spawn_file_actions_addopen(&fa, 3, "no/such/file", O_RDONLY, 0);
	ret = posix_spawnp(&pid, "every_action", &fa, NULL, argv, environ);
	printf("posix_spawnp with a failing addopen: %s\n", ret ? strerror(ret) : "started");
	printf("children left to wait for: %s\n",
	       waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD ? "none" : "some");
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	fflush(stdout);
	counts();
	return 0;
}

int main(int argc, char **argv)
{
	char self[PATH_MAX], tmpl[] = "/tmp/every_action.XXXXXX", sub[PATH_MAX];
	ssize_t len;
	int status;
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "--report")) {
		scratch = argv[2];
		return report();
	}

	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0)
		die("readlink /proc/self/exe");
	self[len] = '\0';
	scratch = mkdtemp(tmpl);
	if (!scratch)
		die("mkdtemp");
	snprintf(sub, sizeof(sub), "%s/sub", scratch);
	if (mkdir(sub, 0700))
		die("mkdir");

	/* setsid() needs a process that leads no group: a fork of this one. */
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid)
		exit(spawner(self));
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	rmdir(sub);
	rmdir(scratch);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}
