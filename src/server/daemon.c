/* server/daemon.c - lock file, detaching, signalling a running daemon. */
#include "server/daemon.h"

#include "base/err.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int lock_path(const char *dir, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s", dir, DAEMON_LOCK_NAME);
	return n < 0 || (size_t)n >= cap ? -MDS_ENAMETOOLONG : 0;
}

int daemon_lock(const char *dir, int *fd, pid_t *holder)
{
	char path[4096];
	int rc = lock_path(dir, path, sizeof(path));
	if (rc < 0)
		return rc;
	*holder = 0;
	int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (f < 0)
		return mds_err_from_errno(errno);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	if (fcntl(f, F_SETLK, &fl) < 0) {
		int e = errno;
		if (e == EAGAIN || e == EACCES) {
			struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
			if (fcntl(f, F_GETLK, &q) == 0 && q.l_type != F_UNLCK)
				*holder = q.l_pid;
			close(f);
			return -MDS_EAGAIN;
		}
		close(f);
		return mds_err_from_errno(e);
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(f, 0) < 0 || pwrite(f, pid, (size_t)n, 0) != n) {
		int e = errno;
		close(f);
		return mds_err_from_errno(e);
	}
	*fd = f;
	return 0;
}

int daemon_lock_holder(const char *dir, pid_t *holder)
{
	char path[4096];
	int rc = lock_path(dir, path, sizeof(path));
	if (rc < 0)
		return rc;
	*holder = 0;
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return errno == ENOENT ? 0 : mds_err_from_errno(errno);
	struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	rc = fcntl(f, F_GETLK, &q) < 0 ? mds_err_from_errno(errno) : 0;
	if (rc == 0 && q.l_type != F_UNLCK)
		*holder = q.l_pid;
	close(f);
	return rc;
}

int daemon_signal(const char *dir, int sig, int wait_s)
{
	pid_t pid;
	int rc = daemon_lock_holder(dir, &pid);
	if (rc < 0)
		return rc;
	if (pid == 0)
		return -MDS_ENOENT;
	if (kill(pid, sig) < 0)
		return mds_err_from_errno(errno);
	for (int i = 0; i < wait_s * 10; i++) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
		if ((rc = daemon_lock_holder(dir, &pid)) < 0)
			return rc;
		if (pid == 0)
			return 0;
	}
	return wait_s > 0 ? -MDS_ETIMEDOUT : 0;
}

int daemon_detach(int *notify_fd)
{
	int p[2];
	if (pipe(p) < 0)
		return mds_err_from_errno(errno);
	pid_t child = fork();
	if (child < 0)
		return mds_err_from_errno(errno);
	if (child > 0) {
		close(p[1]);
		int status = 1;
		ssize_t got;
		do {
			got = read(p[0], &status, sizeof(status));
		} while (got < 0 && errno == EINTR);
		if (got != sizeof(status)) {
			fprintf(stderr, "mdsd: the daemon exited during start-up (see the log)\n");
			status = 1;
		}
		_exit(status == 0 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0)
		return mds_err_from_errno(errno);
	/* A second fork: the daemon is not a session leader, so it can never
	 * acquire a controlling terminal. */
	child = fork();
	if (child < 0)
		return mds_err_from_errno(errno);
	if (child > 0)
		_exit(0);
	if (chdir("/") < 0)
		return mds_err_from_errno(errno);
	*notify_fd = p[1];
	return 0;
}

void daemon_ready(int notify_fd, int status)
{
	if (notify_fd < 0)
		return;
	if (status == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
	}
	ssize_t w = write(notify_fd, &status, sizeof(status));
	(void)w;
	close(notify_fd);
}

int daemon_drop_privileges(const char *user, const char *group)
{
	if (geteuid() != 0)
		return 0;
	uid_t uid;
	gid_t gid;
	char *end;
	struct passwd *pw = getpwnam(user);
	if (pw) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	} else {
		unsigned long v = strtoul(user, &end, 10);
		if (*user == '\0' || *end) {
			LOG_ERR("WORKING_USER: no user '%s'", user);
			return -MDS_EINVAL;
		}
		uid = (uid_t)v;
		gid = (gid_t)v;
	}
	if (group && *group) {
		struct group *gr = getgrnam(group);
		if (gr) {
			gid = gr->gr_gid;
		} else {
			unsigned long v = strtoul(group, &end, 10);
			if (*end) {
				LOG_ERR("WORKING_GROUP: no group '%s'", group);
				return -MDS_EINVAL;
			}
			gid = (gid_t)v;
		}
	}
	if (uid == 0)
		return 0;
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		int e = errno;
		LOG_ERR("cannot switch to %s:%s: %s", user, group ? group : "", strerror(e));
		return mds_err_from_errno(e);
	}
	return 0;
}
