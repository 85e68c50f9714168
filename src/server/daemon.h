/* server/daemon.h - running mdsd as a daemon, the way mfsmaster runs.
 *
 * One data directory belongs to one daemon: daemon_lock() takes an
 * exclusive fcntl lock on DATA_PATH/.mdsd.lock and writes the pid there;
 * a second daemon on the same directory is refused with the first one's
 * pid. `stop`, `reload` and `kill` find the running daemon through the
 * same lock (F_GETLK names the holder even if the pid in the file is
 * stale). daemon_detach() forks into the background and keeps the parent
 * waiting until the child reports that it started (or why it did not),
 * so `mdsd start` fails visibly instead of dying quietly in the background.
 */
#ifndef MDS_SERVER_DAEMON_H
#define MDS_SERVER_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

#define DAEMON_LOCK_NAME ".mdsd.lock"

/* Takes the lock in dir; *fd keeps it (close to release). -MDS_EAGAIN with
 * *holder set when another process has it. */
int daemon_lock(const char *dir, int *fd, pid_t *holder);

/* The pid holding the lock in dir, or 0 when nobody does. */
int daemon_lock_holder(const char *dir, pid_t *holder);

/* Sends sig to the holder and, when wait_s > 0, waits up to wait_s seconds
 * for the lock to be released. -MDS_ENOENT when nothing runs there,
 * -MDS_ETIMEDOUT when it did not stop in time. */
int daemon_signal(const char *dir, int sig, int wait_s);

/* Forks into the background. Returns in the child (with *notify_fd set) and
 * never returns in the parent, which exits 0 when the child calls
 * daemon_ready(notify_fd, 0) and 1 when it reports failure or dies. */
int daemon_detach(int *notify_fd);

/* Tells the waiting parent the outcome (0 = started) and closes the fd;
 * also points stdin/stdout/stderr at /dev/null on success. */
void daemon_ready(int notify_fd, int status);

/* Drops root privileges to user/group (names or numbers); a no-op when not
 * running as root. */
int daemon_drop_privileges(const char *user, const char *group);

#endif
