/* Unit tests for server/daemon: one daemon per data directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "server/daemon.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mds-test-daemon-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* A child that takes the lock, says so on a pipe, and waits for a signal. */
static pid_t spawn_holder(void)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd;
		pid_t other;
		char ok = daemon_lock(dir, &fd, &other) == 0 ? 'y' : 'n';
		if (write(p[1], &ok, 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	char ok = 0;
	assert_int_equal(read(p[0], &ok, 1), 1);
	assert_int_equal(ok, 'y');
	close(p[0]);
	close(p[1]);
	return pid;
}

static void test_second_daemon_on_same_directory_is_refused(void **state)
{
	(void)state;
	pid_t child = spawn_holder();
	int fd;
	pid_t holder;
	assert_int_equal(daemon_lock(dir, &fd, &holder), -MDS_EAGAIN);
	assert_int_equal(holder, child);
	assert_int_equal(daemon_lock_holder(dir, &holder), 0);
	assert_int_equal(holder, child);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

static void test_lock_is_free_after_holder_dies(void **state)
{
	(void)state;
	pid_t child = spawn_holder();
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	pid_t holder;
	assert_int_equal(daemon_lock_holder(dir, &holder), 0);
	assert_int_equal(holder, 0);
	int fd;
	assert_int_equal(daemon_lock(dir, &fd, &holder), 0);
	close(fd);
}

static void test_signal_stops_holder_and_waits_for_the_lock(void **state)
{
	(void)state;
	pid_t child = spawn_holder();
	/* Reap in the background so the lock is released when it exits. */
	pid_t reaper = fork();
	if (reaper == 0) {
		int rc = daemon_signal(dir, SIGTERM, 5);
		_exit(rc == 0 ? 0 : 1);
	}
	int status;
	waitpid(child, &status, 0);
	assert_true(WIFSIGNALED(status));
	waitpid(reaper, &status, 0);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(daemon_signal(dir, SIGTERM, 1), -MDS_ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_second_daemon_on_same_directory_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_is_free_after_holder_dies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signal_stops_holder_and_waits_for_the_lock, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
