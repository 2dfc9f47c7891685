// SPDX-License-Identifier: MIT OR LGPL-2.1-or-later
/*
 * compat: a program bound to posix_spawn@GLIBC_2.2.5 and
 * posix_spawnp@GLIBC_2.2.5, the versions of binaries linked before glibc
 * 2.15, whose child runs an executable file without "#!" through /bin/sh
 * when its exec fails with ENOEXEC; and, for comparison, the same spawns
 * through today's versions, which return ENOEXEC. Prints what it sees;
 * under LD_PRELOAD=libpidfdspawn.so it must print the same.
 *
 * Usage: compat
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The old versions, by their versioned names. */
int spawn_old(pid_t *, const char *, const posix_spawn_file_actions_t *,
	      const posix_spawnattr_t *, char *const[], char *const[]);
int spawnp_old(pid_t *, const char *, const posix_spawn_file_actions_t *,
	       const posix_spawnattr_t *, char *const[], char *const[]);
__asm__(".symver spawn_old, posix_spawn@GLIBC_2.2.5");
__asm__(".symver spawnp_old, posix_spawnp@GLIBC_2.2.5");

static void counts(void)
{
	void (*fn)(unsigned long long *, unsigned long long *);
	unsigned long long e = 0, f = 0;

	*(void **)&fn = dlsym(RTLD_DEFAULT, "pidfdspawn_counts");
	if (fn) {
		fn(&e, &f);
		fprintf(stderr, "via embryo=%llu fallback=%llu\n", e, f);
	}
}

/* Spawns @file with @fn, its stdout a pipe; prints the result and output. */
static void run(const char *what, int (*fn)(pid_t *, const char *,
					   const posix_spawn_file_actions_t *,
					   const posix_spawnattr_t *,
					   char *const[], char *const[]),
		const char *file)
{
	char *argv[] = { "script", "arg1", NULL };
	posix_spawn_file_actions_t fa;
	char buf[128];
	int p[2], ret, status;
	ssize_t n, len = 0;
	pid_t pid;

	if (pipe(p))
		exit(2);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	/* The old posix_spawnp's shell complains on stderr: keep the test's clean. */
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	ret = fn(&pid, file, &fa, NULL, argv, environ);
	close(p[1]);
	while ((n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	buf[len] = 0;
	close(p[0]);
	printf("%s: ret %s", what, ret ? strerror(ret) : "0");
	if (!ret && waitpid(pid, &status, 0) == pid)
		printf(", exit %d, output \"%.*s\"", WEXITSTATUS(status),
		       (int)strcspn(buf, "\n"), buf);
	printf("\n");
	posix_spawn_file_actions_destroy(&fa);
}

int main(void)
{
	char dir[] = "/tmp/pidfdspawn-compat-XXXXXX", file[64];
	FILE *f;

	if (!mkdtemp(dir))
		return 2;
	snprintf(file, sizeof(file), "%s/noshebang", dir);
	f = fopen(file, "w");
	if (!f)
		return 2;
	fputs("echo \"ran by a shell with $1\"\n", f);
	fclose(f);
	chmod(file, 0755);

	run("posix_spawn@GLIBC_2.2.5", spawn_old, file);
	run("posix_spawn@@GLIBC_2.15", posix_spawn, file);
	if (setenv("PATH", dir, 1))
		return 2;
	run("posix_spawnp@GLIBC_2.2.5", spawnp_old, "noshebang");
	run("posix_spawnp@@GLIBC_2.15", posix_spawnp, "noshebang");
	unlink(file);
	rmdir(dir);
	fflush(stdout);
	counts();
	return 0;
}
