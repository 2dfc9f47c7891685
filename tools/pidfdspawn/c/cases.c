// SPDX-License-Identifier: MIT OR LGPL-2.1-or-later
/*
 * cases: unmodified C programs, one per scenario, in which a posix_spawn()
 * library could behave differently from glibc's. Each prints on stdout
 * what the program sees (the spawn's result, the child's exit status,
 * errno, what happened to its thread), so that a run under
 * LD_PRELOAD=libpidfdspawn.so can be compared line by line with a plain
 * run; how the library routed the spawns goes to stderr.
 *
 *   emfile       every descriptor up to RLIMIT_NOFILE in use; one addopen
 *   pidns        after unshare(CLONE_NEWPID) (needs CAP_SYS_ADMIN)
 *   cancel       a deferred pthread_cancel() pending during the spawn
 *   fork         fork() while another thread uses file-action objects
 *   errno        errno after a spawn that succeeded
 *   dup2_closed  an adddup2 from the lowest descriptor, which is closed
 *   closefrom    a table with gaps; addclosefrom_np(3), then an addopen
 *                and an adddup2 onto the lowest descriptors
 *   closefrom_low  fd 0 closed too; addclosefrom_np(2), then an addopen
 *                onto 0 and an adddup2 onto 2
 *   empty_path   an addopen that creates a file, then an empty path: the
 *                child runs its file actions before its exec fails
 *
 * Usage: cases SCENARIO
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char *true_argv[] = { "true", NULL };

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

/* Reads @fd to its end into @buf, NUL-terminated: the length. */
static size_t read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	buf[len] = 0;
	return len;
}

/* Waits for @pid and prints its exit status. */
static void reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid) {
		printf("waitpid: %s\n", strerror(errno));
		return;
	}
	if (WIFEXITED(status))
		printf("child exited %d\n", WEXITSTATUS(status));
	else
		printf("child killed by %d\n", WTERMSIG(status));
}

static int emfile(void)
{
	struct rlimit rl = { 32, 32 };
	posix_spawn_file_actions_t fa;
	int n = 0, ret;
	pid_t pid;

	if (setrlimit(RLIMIT_NOFILE, &rl))
		return 2;
	/* Ready before the table is full: init takes no descriptor either. */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 5, "/dev/null", O_RDONLY, 0);
	/* Close-on-exec, so that the new program has room to load. */
	while (fcntl(0, F_DUPFD_CLOEXEC, 0) >= 0)
		n++;
	printf("table full: %s\n", errno == EMFILE ? "EMFILE" : strerror(errno));
	ret = posix_spawn(&pid, "/bin/true", &fa, NULL, true_argv, environ);
	printf("ret %d\n", ret);
	if (!ret)
		reap(pid);
	posix_spawn_file_actions_destroy(&fa);
	return 0;
}

static int pidns(void)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { "sh", "-c", "echo pid $$", NULL };
	char buf[64] = "";
	int p[2], ret;
	pid_t pid;

	if (unshare(CLONE_NEWPID)) {
		printf("unshare: %s\n", strerror(errno));
		return 0;
	}
	if (pipe(p))
		return 2;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	ret = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
	close(p[1]);
	printf("ret %d\n", ret);
	if (read_all(p[0], buf, sizeof(buf)))
		printf("child says: %s", buf);
	if (!ret)
		reap(pid);
	posix_spawn_file_actions_destroy(&fa);
	return 0;
}

static int cancel_ret = -1;
static pid_t cancel_pid;

static void *cancel_thread(void *arg)
{
	(void)arg;
	pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL);
	pthread_cancel(pthread_self());
	/* Not a cancellation point: it must return, and the thread go on. */
	cancel_ret = posix_spawn(&cancel_pid, "/bin/true", NULL, NULL,
				 true_argv, environ);
	pthread_testcancel();
	return NULL;
}

static int cancel(void)
{
	pthread_t t;
	void *res;

	if (pthread_create(&t, NULL, cancel_thread, NULL))
		return 2;
	pthread_join(t, &res);
	printf("ret %d\n", cancel_ret);
	printf("thread %s\n", res == PTHREAD_CANCELED ?
	       "cancelled after the spawn" : "not cancelled");
	if (!cancel_ret)
		reap(cancel_pid);
	return 0;
}

static atomic_int fork_stop;

static void *fork_thread(void *arg)
{
	posix_spawn_file_actions_t fa;

	(void)arg;
	while (!atomic_load(&fork_stop)) {
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, 0, 3);
		posix_spawn_file_actions_destroy(&fa);
	}
	return NULL;
}

static int forks(void)
{
	int i, ok = 0, hung = 0, status;
	pthread_t t;
	pid_t pid;

	if (pthread_create(&t, NULL, fork_thread, NULL))
		return 2;
	for (i = 0; i < 300; i++) {
		pid = fork();
		if (pid < 0)
			break;
		if (!pid) {
			posix_spawn_file_actions_t fa;

			/* A child that hangs on a lock its parent held dies here. */
			alarm(10);
			posix_spawn_file_actions_init(&fa);
			posix_spawn_file_actions_addclose(&fa, 3);
			posix_spawn_file_actions_destroy(&fa);
			_exit(0);
		}
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    !WEXITSTATUS(status))
			ok++;
		else
			hung++;
	}
	atomic_store(&fork_stop, 1);
	pthread_join(t, NULL);
	printf("children that used file actions after fork(): %d ok, %d hung\n",
	       ok, hung);
	return 0;
}

static int errno_kept(void)
{
	pid_t pid;
	int ret;

	errno = ENOTTY;
	ret = posix_spawn(&pid, "/bin/true", NULL, NULL, true_argv, environ);
	printf("ret %d errno %s\n", ret, errno == ENOTTY ? "unchanged" : strerror(errno));
	if (!ret)
		reap(pid);
	return 0;
}

static int dup2_closed(void)
{
	posix_spawn_file_actions_t fa;
	int lowest, ret;
	pid_t pid;

	lowest = dup(0);
	if (lowest < 0)
		return 2;
	close(lowest);
	/* glibc's child fails its dup2() of a closed descriptor: EBADF. */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, lowest, 1);
	ret = posix_spawn(&pid, "/bin/true", &fa, NULL, true_argv, environ);
	printf("ret %d\n", ret);
	if (!ret)
		reap(pid);
	posix_spawn_file_actions_destroy(&fa);
	return 0;
}

static int closefrom_then_open(int low)
{
	char *argv[] = { "sh", "-c",
			 "cd /proc/self/fd && for f in *; do printf ' %s' $f; done; echo", NULL };
	posix_spawn_file_actions_t fa;
	char buf[256] = "";
	int p[2], fd, ret;
	pid_t pid;

	if (pipe(p))
		return 2;
	/* Gaps: 10, 12 and 14 open, 11 and 13 not (pipe() took two low ones). */
	for (fd = 10; fd <= 14; fd += 2)
		if (dup2(0, fd) < 0)
			return 2;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	if (low) {
		close(0);
		posix_spawn_file_actions_addclosefrom_np(&fa, 2);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
	} else {
		posix_spawn_file_actions_addclosefrom_np(&fa, 3);
		posix_spawn_file_actions_addopen(&fa, 3, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, 0, 4);
		posix_spawn_file_actions_adddup2(&fa, 0, 11);
	}
	ret = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
	close(p[1]);
	printf("ret %d\n", ret);
	if (read_all(p[0], buf, sizeof(buf)))
		printf("child's descriptors:%s", buf);
	if (!ret)
		reap(pid);
	posix_spawn_file_actions_destroy(&fa);
	return 0;
}

static int empty_path(void)
{
	char path[] = "/tmp/pidfdspawn-empty-path-XXXXXX";
	posix_spawn_file_actions_t fa;
	int fd, ret;
	pid_t pid;

	fd = mkstemp(path);
	if (fd < 0)
		return 2;
	close(fd);
	unlink(path);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 3, path, O_WRONLY | O_CREAT, 0600);
	ret = posix_spawn(&pid, "", &fa, NULL, true_argv, environ);
	printf("ret %s\n", ret ? strerror(ret) : "0");
	printf("file the action creates: %s\n", access(path, F_OK) ? "absent" : "present");
	unlink(path);
	posix_spawn_file_actions_destroy(&fa);
	return 0;
}

int main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : "";
	int ret;

	if (!strcmp(s, "emfile"))
		ret = emfile();
	else if (!strcmp(s, "pidns"))
		ret = pidns();
	else if (!strcmp(s, "cancel"))
		ret = cancel();
	else if (!strcmp(s, "fork"))
		ret = forks();
	else if (!strcmp(s, "errno"))
		ret = errno_kept();
	else if (!strcmp(s, "dup2_closed"))
		ret = dup2_closed();
	else if (!strcmp(s, "closefrom"))
		ret = closefrom_then_open(0);
	else if (!strcmp(s, "closefrom_low"))
		ret = closefrom_then_open(1);
	else if (!strcmp(s, "empty_path"))
		ret = empty_path();
	else {
		fprintf(stderr, "usage: cases emfile|pidns|cancel|fork|errno|dup2_closed|closefrom|closefrom_low|empty_path\n");
		return 2;
	}
	fflush(stdout);
	counts();
	return ret;
}
