/* ctl/bench.c - the load generator behind mdsctl bench.
 *
 * One thread, one epoll set, one TCP connection per session. Requests are
 * small, so they are written with blocking send(); replies are read with
 * MSG_DONTWAIT when epoll says so. Latency is taken from just before the
 * send to the moment the whole reply has been read. Each session sends
 * every request with msgid 1, as the one thread of a stock mount does
 * (client protocol spec 2.3: ids are per client thread and reused), so a
 * master's work per request is what a mount's costs it (mds records each
 * mutation under its session and msgid, docs/consistency.md).
 */
#include "ctl/bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/err.h"
#include "ctl/bench_profile.h"
#include "ctl/server_stats.h"
#include "proto/client_call.h"
#include "proto/client_msg.h"
#include "proto/mfs_status.h"

#define DEFAULT_CLIENT_PORT 9421
#define MAX_SESSIONS        1024
#define NOP_IDLE_NS         (2ull * 1000000000ull)   /* as mfsmount: NOP after 2 s */
#define SYNC_TIMEOUT_NS     (30ull * 1000000000ull)
#define MAX_CPU_PIDS        8                         /* -c */
#define MOUNT_MSGID         1u    /* of every request: a mount thread's one id */

struct bench_opts {
	const char *master;
	unsigned sessions[16];
	unsigned nsessions;
	double seconds;
	uint64_t ops;                /* a run ends after this many operations (0: -d only) */
	int profiles[16];
	unsigned nprofiles;
	uint32_t files, entries, unlink_files, mixed_sources;
	bool json, keep;
	const char *path;
	int cpu_pids[MAX_CPU_PIDS];  /* -c: the master's processes on this machine */
	unsigned ncpu_pids;
	const char *server;          /* -S: the serving mdsd's peer address */
};

struct conn {
	int fd;
	unsigned idx;
	uint32_t sessionid;
	bool busy;                   /* a request is in flight */
	bool active;                 /* has work in the current phase */
	struct bench_req req;
	uint64_t sent_ns, last_send_ns;
	uint8_t *in;
	size_t in_len, in_cap;
	struct call_reply rep;
	struct bench_sess sess;
};

struct op_stats {
	uint64_t *ns;
	size_t n, cap;
	uint64_t errors;
};

struct run_stats {
	struct op_stats op[BOP_COUNT_];
	uint64_t errors;
	char first_error[200];
	double seconds;
	double cpu_s[MAX_CPU_PIDS];  /* -c: each process's CPU seconds in the run */
	struct server_stats server;  /* -S: at the start, then what the run added */
	bool server_ok;
	bool cpu_lost[MAX_CPU_PIDS];            /* -c: the process was gone before the run ended */
	double own_cpu_s;            /* the bench's own CPU seconds in the run */
};

struct bench {
	struct bench_opts o;
	uint32_t ip;
	uint16_t port;
	int ep;
	struct conn *conns;
	unsigned nconns;
	struct call_creds cr;
	uint32_t work_dir;
	char work_name[96];
	json_t *json_runs;
};

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "mdsctl bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/* ---- connections ---------------------------------------------------------- */

static int dial(uint32_t ip, uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(ip) };
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_all(struct conn *c, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t k = send(c->fd, b, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die("session %u: send: %s (did the master close the connection?)", c->idx,
			    strerror(errno));
		b += k;
		n -= (size_t)k;
	}
	c->last_send_ns = now_ns();
}

/* Reads one whole frame, blocking (registration only). */
static void read_frame(int fd, uint32_t *type, uint8_t **payload, uint32_t *len)
{
	uint8_t hdr[8];
	for (;;) {
		size_t got = 0;
		while (got < 8) {
			ssize_t k = recv(fd, hdr + got, 8 - got, 0);
			if (k <= 0)
				die("registration: the master closed the connection");
			got += (size_t)k;
		}
		*type = be32_get(hdr);
		*len = be32_get(hdr + 4);
		if (*len > MFS_FRAME_MAX)
			die("registration: a frame of %u bytes", *len);
		*payload = malloc(*len ? *len : 1);
		got = 0;
		while (got < *len) {
			ssize_t k = recv(fd, *payload + got, *len - got, 0);
			if (k <= 0)
				die("registration: the master closed the connection");
			got += (size_t)k;
		}
		if (*type != ANTOAN_NOP)
			return;
		free(*payload);
	}
}

/* Registers a new session on c; follows a redirect to the leader. */
static void register_session(struct bench *b, struct conn *c)
{
	for (int hops = 0; hops < 4; hops++) {
		c->fd = dial(b->ip, b->port);
		if (c->fd < 0)
			die("cannot connect to %s: %s", b->o.master, strerror(errno));
		struct byte_writer w;
		bw_init(&w);
		if (proto_call_put_register(&w, "mdsctl-bench", b->o.path) < 0)
			die("bad path %s", b->o.path);
		send_all(c, w.data, w.len);
		bw_free(&w);
		uint32_t type, len;
		uint8_t *p;
		read_frame(c->fd, &type, &p, &len);
		struct call_session s;
		if (type != MATOCL_FUSE_REGISTER || proto_call_decode_register(p, len, &s) < 0)
			die("registration: unexpected reply (type %u, %u bytes)", type, len);
		free(p);
		if (s.redirect) {
			close(c->fd);
			if (s.leader_ip == 0)
				die("%s is not the leader and knows none yet", b->o.master);
			if (s.leader_ip == b->ip)
				die("%s is not the leader; the leader is on the same host "
				    "(another port: give its address with -m)", b->o.master);
			b->ip = s.leader_ip;
			continue;
		}
		if (s.status != MFS_STATUS_OK)
			die("registration refused: %s", proto_status_name(s.status));
		c->sessionid = s.sessionid;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(b->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			die("epoll: %s", strerror(errno));
		return;
	}
	die("too many redirects");
}

static void close_session(struct conn *c)
{
	struct byte_writer w;
	bw_init(&w);
	proto_call_put_close(&w, c->sessionid);
	send_all(c, w.data, w.len);
	bw_free(&w);
	close(c->fd);
	free(c->in);
	bench_sess_free(&c->sess);
}

/* ---- requests and replies ------------------------------------------------- */

static int encode(struct bench *b, struct byte_writer *w, uint32_t msgid,
		  const struct bench_req *r)
{
	switch (r->op) {
	case BOP_LOOKUP:
		return proto_call_put_lookup(w, msgid, r->parent, r->name, &b->cr);
	case BOP_GETATTR:
		return proto_call_put_getattr(w, msgid, r->inode, &b->cr);
	case BOP_SETATTR:
		return proto_call_put_setattr(w, msgid, r->inode, &b->cr, r->setmask, r->mode,
					      0, 0);
	case BOP_CREATE:
		return proto_call_put_create(w, msgid, r->parent, r->name, r->mode, 0, &b->cr);
	case BOP_MKDIR:
		return proto_call_put_mkdir(w, msgid, r->parent, r->name, r->mode, 0, &b->cr);
	case BOP_UNLINK:
	case BOP_RMDIR:
		return proto_call_put_unlink(w, msgid, r->parent, r->name, r->op == BOP_RMDIR,
					     &b->cr);
	case BOP_RENAME:
		return proto_call_put_rename(w, msgid, r->parent, r->name, r->parent_dst,
					     r->name_dst, &b->cr);
	case BOP_READDIR:
		return proto_call_put_readdir(w, msgid, r->inode, &b->cr, r->readdir_flags);
	case BOP_SETTRASHTIME:
		return proto_call_put_settrashtime(w, msgid, r->inode, &b->cr, 0);
	default:
		return -MDS_EINVAL;
	}
}

static const uint32_t reply_type[BOP_COUNT_] = {
	[BOP_LOOKUP] = MATOCL_FUSE_LOOKUP, [BOP_GETATTR] = MATOCL_FUSE_GETATTR,
	[BOP_SETATTR] = MATOCL_FUSE_SETATTR, [BOP_CREATE] = MATOCL_FUSE_CREATE,
	[BOP_MKDIR] = MATOCL_FUSE_MKDIR, [BOP_UNLINK] = MATOCL_FUSE_UNLINK,
	[BOP_RMDIR] = MATOCL_FUSE_RMDIR, [BOP_RENAME] = MATOCL_FUSE_RENAME,
	[BOP_READDIR] = MATOCL_FUSE_READDIR, [BOP_SETTRASHTIME] = MATOCL_FUSE_SETTRASHTIME,
};

static void issue(struct bench *b, struct conn *c, const struct bench_req *r)
{
	uint8_t buf[1024];
	struct byte_writer w;
	bw_init_fixed(&w, buf, sizeof(buf));
	if (encode(b, &w, MOUNT_MSGID, r) < 0)
		die("cannot encode %s %s", bench_op_name(r->op), r->name);
	c->req = *r;
	c->busy = true;
	c->sent_ns = now_ns();
	send_all(c, w.data, w.len);
}

static void nop(struct conn *c)
{
	uint8_t buf[16];
	struct byte_writer w;
	bw_init_fixed(&w, buf, sizeof(buf));
	proto_cl_put_nop(&w);
	send_all(c, w.data, w.len);
}

/* Keeps connections that have nothing to do alive (the master closes one
 * that is silent for 10 s). */
static void keep_alive(struct bench *b, uint64_t now)
{
	for (unsigned i = 0; i < b->nconns; i++) {
		struct conn *c = &b->conns[i];
		if (!c->busy && now - c->last_send_ns > NOP_IDLE_NS)
			nop(c);
	}
}

static bool reply_ok(const struct bench_req *r, const struct call_reply *rep)
{
	if (rep->status != r->expect)
		return false;
	return r->op != BOP_READDIR || r->expect_entries == 0 || rep->status != MFS_STATUS_OK ||
	       rep->entries == r->expect_entries;
}

static void describe_error(const struct bench_req *r, const struct call_reply *rep,
			   char *out, size_t size)
{
	if (rep->status != r->expect)
		snprintf(out, size, "%s %s%s (parent %u, inode %u): %s, expected %s",
			 bench_op_name(r->op), r->name, r->op == BOP_RENAME ? " ->" : "",
			 r->parent, r->inode, proto_status_name(rep->status),
			 proto_status_name(r->expect));
	else
		snprintf(out, size, "readdir of inode %u listed %u entries, expected %u",
			 r->inode, rep->entries, r->expect_entries);
}

/* Takes every complete frame out of c's input; returns true when the reply
 * to c's request was among them (then c->rep holds it). */
static bool take_frames(struct conn *c)
{
	bool got = false;
	size_t off = 0;
	while (c->in_len - off >= 8) {
		uint32_t type = be32_get(c->in + off), len = be32_get(c->in + off + 4);
		if (len > MFS_FRAME_MAX)
			die("session %u: a frame of %u bytes", c->idx, len);
		if (c->in_len - off - 8 < len)
			break;
		const uint8_t *p = c->in + off + 8;
		off += 8 + (size_t)len;
		if (type == ANTOAN_NOP || len < 4 || be32_get(p) == 0)
			continue;             /* keep-alives and notices to all sessions */
		if (!c->busy || type != reply_type[c->req.op])
			die("session %u: unexpected frame type %u (%u bytes)", c->idx, type, len);
		if (proto_call_decode_reply(type, p, len, c->req.readdir_flags, &c->rep) < 0 ||
		    c->rep.msgid != MOUNT_MSGID)
			die("session %u: malformed %s reply (%u bytes)", c->idx,
			    bench_op_name(c->req.op), len);
		got = true;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	return got;
}

/* Reads what c has; true when its reply is complete. */
static bool pump(struct conn *c)
{
	for (;;) {
		if (c->in_cap - c->in_len < 65536) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 131072;
			uint8_t *n = realloc(c->in, cap);
			if (n == NULL)
				die("out of memory");
			c->in = n;
			c->in_cap = cap;
		}
		ssize_t k = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
		if (k > 0) {
			c->in_len += (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return take_frames(c);
		die("session %u: the master closed the connection%s", c->idx,
		    c->busy ? " while a request was in flight" : "");
	}
}

/* ---- phases --------------------------------------------------------------- */

static void record(struct run_stats *st, const struct bench_req *r, uint64_t ns)
{
	struct op_stats *o = &st->op[r->op];
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 4096;
		uint64_t *n = realloc(o->ns, cap * sizeof(*n));
		if (n == NULL)
			die("out of memory");
		o->ns = n;
		o->cap = cap;
	}
	o->ns[o->n++] = ns;
}

/* ---- CPU time (-c) -------------------------------------------------------- */

/* User + system CPU seconds of process pid so far, all its threads
 * (/proc/PID/stat fields 14 and 15); -1 when it cannot be read. */
static double proc_cpu_s(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: fields start after the last ')' */
	char *p = strrchr(buf, ')');
	unsigned long long ut, st;
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double own_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Called before (sign -1) and after (sign +1) a measured run. */
static void take_cpu(const struct bench *b, struct run_stats *st, double sign)
{
	for (unsigned i = 0; i < b->o.ncpu_pids; i++) {
		double v = proc_cpu_s(b->o.cpu_pids[i]);
		if (v < 0)
			st->cpu_lost[i] = true;   /* reported as unknown */
		else
			st->cpu_s[i] += sign * v;
	}
	st->own_cpu_s += sign * own_cpu_s();
}

/* Runs sessions 0..n-1 through `phase`: until every session is done, or
 * (seconds > 0) until the deadline, after which requests in flight are
 * waited for but not counted. Returns the number of unexpected replies. */
static uint64_t run_phase(struct bench *b, const struct bench_plan *plan, unsigned n,
			  enum bench_phase phase, double seconds, struct run_stats *st)
{
	uint64_t start = now_ns();
	uint64_t deadline = seconds > 0 ? start + (uint64_t)(seconds * 1e9) : UINT64_MAX;
	uint64_t errors = 0, last_done = start, last_tick = start, counted = 0;
	/* -n: the run ends with the limit-th counted reply; replies read in
	 * the same turn (same `now`) are past the count and not counted. */
	uint64_t limit = phase == BENCH_MEASURE && b->o.ops ? b->o.ops : UINT64_MAX;
	unsigned busy = 0;
	char first[200] = "";
	for (unsigned i = 0; i < n; i++) {
		struct conn *c = &b->conns[i];
		struct bench_req r;
		c->active = bench_next(plan, &c->sess, phase, NULL, NULL, &r);
		if (c->active) {
			issue(b, c, &r);
			busy++;
		}
	}
	struct epoll_event ev[64];
	while (busy > 0) {
		int k = epoll_wait(b->ep, ev, 64, 500);
		if (k < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		uint64_t now = now_ns();
		for (int e = 0; e < k; e++) {
			struct conn *c = ev[e].data.ptr;
			if (!pump(c))
				continue;
			c->busy = false;
			busy--;
			bool ok = reply_ok(&c->req, &c->rep);
			if (!ok) {
				errors++;
				if (first[0] == '\0')
					describe_error(&c->req, &c->rep, first, sizeof(first));
			}
			if (now <= deadline && counted < limit) {
				last_done = now;
				if (++counted == limit)
					deadline = now;
				if (st && ok)
					record(st, &c->req, now - c->sent_ns);
				else if (st)
					st->op[c->req.op].errors++;
			}
			struct bench_req r;
			if (now < deadline && c->active &&
			    bench_next(plan, &c->sess, phase, &c->req, &c->rep, &r)) {
				issue(b, c, &r);
				busy++;
			} else {
				c->active = false;
			}
		}
		if (now - last_tick > 1000000000ull) {
			keep_alive(b, now);
			last_tick = now;
		}
	}
	if (st) {
		st->errors = errors;
		snprintf(st->first_error, sizeof(st->first_error), "%s", first);
		st->seconds = (double)((last_done < deadline ? last_done : deadline) - start) / 1e9;
	}
	if (errors && phase != BENCH_MEASURE)
		fprintf(stderr, "mdsctl bench: %s: %" PRIu64 " unexpected replies, first: %s\n",
			phase == BENCH_SETUP ? "setup" : "cleanup", errors, first);
	return errors;
}

/* One request on session 0, waited for; returns the status. */
static uint8_t call_sync(struct bench *b, const struct bench_req *r, struct call_reply *rep)
{
	struct conn *c = &b->conns[0];
	issue(b, c, r);
	uint64_t start = now_ns();
	struct epoll_event ev[64];
	while (c->busy) {
		int k = epoll_wait(b->ep, ev, 64, 500);
		for (int e = 0; e < k; e++) {
			struct conn *x = ev[e].data.ptr;
			if (pump(x) && x == c)
				c->busy = false;
		}
		uint64_t now = now_ns();
		keep_alive(b, now);
		if (c->busy && now - start > SYNC_TIMEOUT_NS)
			die("no reply to %s %s within 30 s", bench_op_name(r->op), r->name);
	}
	*rep = c->rep;
	return rep->status;
}

static uint32_t make_dir(struct bench *b, uint32_t parent, const char *name)
{
	struct bench_req r = { .op = BOP_MKDIR, .parent = parent, .mode = 0755 };
	snprintf(r.name, sizeof(r.name), "%s", name);
	struct call_reply rep;
	uint8_t s = call_sync(b, &r, &rep);
	if (s != MFS_STATUS_OK)
		die("mkdir %s: %s", name, proto_status_name(s));
	return rep.inode;
}

static void remove_dir(struct bench *b, uint32_t parent, const char *name)
{
	struct bench_req r = { .op = BOP_RMDIR, .parent = parent };
	snprintf(r.name, sizeof(r.name), "%s", name);
	struct call_reply rep;
	uint8_t s = call_sync(b, &r, &rep);
	if (s != MFS_STATUS_OK)
		fprintf(stderr, "mdsctl bench: rmdir %s: %s\n", name, proto_status_name(s));
}

/* ---- reporting ------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted ns, in microseconds. */
static double pct_us(const uint64_t *ns, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)ns[rank - 1] / 1000.0;
}

/* -c: CPU microseconds per operation of each process given and of the
 * bench itself, as a comment line and in the run's JSON object. */
static void report_cpu(const struct bench *b, const struct run_stats *st, uint64_t total,
		       json_t *run)
{
	if (b->o.ncpu_pids == 0 || total == 0)
		return;
	json_t *by_pid = json_object();
	double sum = 0;
	bool known = true;
	char line[64 + MAX_CPU_PIDS * 48];   /* fits every pid and figure */
	size_t len = (size_t)snprintf(line, sizeof(line), "# CPU per operation:");
	for (unsigned i = 0; i < b->o.ncpu_pids; i++) {
		char pid[16];
		snprintf(pid, sizeof(pid), "%d", b->o.cpu_pids[i]);
		if (st->cpu_lost[i]) {
			known = false;
			json_object_set_new(by_pid, pid, json_null());
			len += (size_t)snprintf(line + len, sizeof(line) - len, " pid %s ?,", pid);
			continue;
		}
		double us = st->cpu_s[i] * 1e6 / (double)total;
		sum += us;
		json_object_set_new(by_pid, pid, json_real(us));
		len += (size_t)snprintf(line + len, sizeof(line) - len, " pid %s %.1f us,", pid, us);
	}
	double own = st->own_cpu_s * 1e6 / (double)total;
	json_object_set_new(run, "cpu_us_per_op_by_pid", by_pid);
	json_object_set_new(run, "cpu_us_per_op", known ? json_real(sum) : json_null());
	json_object_set_new(run, "bench_cpu_us_per_op", json_real(own));
	if (!b->o.json) {
		if (known)
			printf("%s all %.1f us; the bench %.1f us\n", line, sum, own);
		else
			printf("%s the bench %.1f us\n", line, own);
	}
}

/* -S: the node's own latencies of the run's requests (before the
 * deadline and the few in flight at it), as comment lines and in JSON. */
static void report_server(const struct bench *b, struct run_stats *st, json_t *run)
{
	if (b->o.server == NULL)
		return;
	if (!st->server_ok) {
		json_object_set_new(run, "server", json_null());
		if (!b->o.json)
			printf("# server %s: no figures for this run (see above)\n", b->o.server);
		return;
	}
	json_object_set_new(run, "server", json_pack("{s:I,s:o}", "node",
						     (json_int_t)st->server.node, "ops",
						     server_stats_summary(&st->server)));
	if (!b->o.json) {
		printf("# server-side (node %llu, arrival to reply): op count mean_us p50_us "
		       "p90_us p99_us p99.9_us\n", (unsigned long long)st->server.node);
		server_stats_print(&st->server, stdout, "# server ");
	}
	server_stats_free(&st->server);
}

/* -S: called before (first) and after a measured run. */
static void take_server(const struct bench *b, struct run_stats *st, bool first)
{
	if (b->o.server == NULL)
		return;
	if (first) {
		st->server_ok = server_stats_fetch(b->o.server, 5000, &st->server) == 0;
		return;
	}
	struct server_stats now;
	bool ok = st->server_ok && server_stats_fetch(b->o.server, 5000, &now) == 0;
	if (ok && server_stats_sub(&now, &st->server) < 0) {
		fprintf(stderr, "mdsctl bench: -S %s: the node's figures went back (a restart "
			"or another node?)\n", b->o.server);
		server_stats_free(&now);
		ok = false;
	}
	server_stats_free(&st->server);
	if (ok)
		st->server = now;
	st->server_ok = ok;
}

static void report(struct bench *b, const char *profile, unsigned sessions,
		   struct run_stats *st)
{
	static const double ps[] = { 50, 90, 99, 99.9 };
	uint64_t total = 0;
	for (int i = 0; i < BOP_COUNT_; i++)
		total += st->op[i].n;
	double secs = st->seconds > 0 ? st->seconds : 1e-9;
	json_t *jops = json_object();
	for (int i = 0; i < BOP_COUNT_; i++) {
		struct op_stats *o = &st->op[i];
		if (o->n == 0 && o->errors == 0)
			continue;
		qsort(o->ns, o->n, sizeof(*o->ns), cmp_u64);
		double v[4];
		for (int j = 0; j < 4; j++)
			v[j] = pct_us(o->ns, o->n, ps[j]);
		if (!b->o.json)
			printf("%-8s %8u  %-8s %9zu %10.0f %8.1f %8.1f %8.1f %9.1f %7" PRIu64 "\n",
			       profile, sessions, bench_op_name(i), o->n, (double)o->n / secs,
			       v[0], v[1], v[2], v[3], o->errors);
		json_object_set_new(jops, bench_op_name(i),
				    json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:I}", "count",
					      (json_int_t)o->n, "ops_per_s", (double)o->n / secs,
					      "p50_us", v[0], "p90_us", v[1], "p99_us", v[2],
					      "p999_us", v[3], "errors", (json_int_t)o->errors));
	}
	if (!b->o.json) {
		unsigned kinds = 0;
		for (int i = 0; i < BOP_COUNT_; i++)
			kinds += st->op[i].n > 0;
		if (kinds > 1)
			printf("%-8s %8u  %-8s %9" PRIu64 " %10.0f\n", profile, sessions, "all",
			       total, (double)total / secs);
		if (st->errors)
			printf("# %" PRIu64 " unexpected replies, first: %s\n", st->errors,
			       st->first_error);
	}
	json_t *run = json_pack("{s:s,s:I,s:f,s:I,s:f,s:I,s:s,s:o}", "profile", profile,
				"sessions", (json_int_t)sessions, "seconds", st->seconds, "ops",
				(json_int_t)total, "ops_per_s", (double)total / secs, "errors",
				(json_int_t)st->errors, "first_error", st->first_error,
				"ops_by_type", jops);
	report_cpu(b, st, total, run);
	report_server(b, st, run);
	json_array_append_new(b->json_runs, run);
	if (!b->o.json)
		fflush(stdout);
	for (int i = 0; i < BOP_COUNT_; i++)
		free(st->op[i].ns);
}

/* ---- runs ----------------------------------------------------------------- */

static void run_one(struct bench *b, int profile, unsigned n)
{
	const struct bench_profile *pr = &bench_profiles[profile];
	char run_name[64];
	snprintf(run_name, sizeof(run_name), "%s-%u", pr->name, n);
	struct bench_plan plan = {
		.profile = profile,
		.sessions = n,
		.files = b->o.files,
		.entries = b->o.entries,
		.unlink_files = b->o.unlink_files,
		.mixed_sources = b->o.mixed_sources,
	};
	plan.run_dir = make_dir(b, b->work_dir, run_name);
	if (pr->shared_dir)
		plan.shared_dir = make_dir(b, plan.run_dir, "shared");
	for (unsigned i = 0; i < n; i++)
		bench_sess_init(&b->conns[i].sess, i, (uint64_t)profile + 1);
	if (run_phase(b, &plan, n, BENCH_SETUP, 0, NULL) > 0)
		die("setup of %s with %u sessions failed", pr->name, n);
	keep_alive(b, now_ns());
	struct run_stats st = { 0 };
	take_server(b, &st, true);
	take_cpu(b, &st, -1);
	run_phase(b, &plan, n, BENCH_MEASURE, b->o.seconds, &st);
	take_cpu(b, &st, +1);
	take_server(b, &st, false);
	if (profile == bench_profile_find("unlink") && st.seconds < b->o.seconds * 0.99 &&
	    !b->o.json)
		printf("# unlink ran out of files after %.2f s (-u sets how many)\n", st.seconds);
	report(b, pr->name, n, &st);
	if (!b->o.keep) {
		run_phase(b, &plan, n, BENCH_CLEANUP, 0, NULL);
		if (pr->shared_dir)
			remove_dir(b, plan.run_dir, "shared");
		remove_dir(b, b->work_dir, run_name);
	}
	for (unsigned i = 0; i < n; i++)
		bench_sess_free(&b->conns[i].sess);
}

/* ---- options -------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mdsctl bench [-m HOST[:PORT]] [-s N[,N...]] [-d SECONDS] [-f FILES]\n"
		"                    [-n OPS] [-r ENTRIES] [-u FILES] [-p PATH] [-c PID[,PID...]]\n"
		"                    [-S HOST:PORT] [-j] [-k]\n"
		"                    PROFILE[,PROFILE...]\n"
		"  -m  the master's client address (default 127.0.0.1:%d; a follower\n"
		"      redirects to its leader)\n"
		"  -s  concurrent sessions, one connection each; a list runs each (default 1)\n"
		"  -d  measured seconds per run (default 10)\n"
		"  -n  a run ends after this many operations, if before -d\n"
		"  -f  files per session for stat, rename, setattr (default 1000)\n"
		"  -r  entries of the directory readdir lists (default 10000)\n"
		"  -u  files in all that unlink removes (default 50000)\n"
		"  -p  subfolder to register with (default /); the bench works in a new\n"
		"      directory there\n"
		"  -c  the master's processes, when on this machine: report the CPU time\n"
		"      each spent per operation during the measured runs (/proc/PID/stat)\n"
		"  -S  an mdsd's peer address (mdsctl -H), the node that answers (the\n"
		"      leader): also report its own latencies of each run's requests, from\n"
		"      arrival to reply (mdsctl stats)\n"
		"  -j  one JSON document instead of the table\n"
		"  -k  keep what the bench made (no cleanup)\n"
		"profiles (or all):\n", DEFAULT_CLIENT_PORT);
	for (unsigned i = 0; i < bench_profile_count; i++)
		fprintf(out, "  %-8s %s\n", bench_profiles[i].name, bench_profiles[i].about);
}

static bool parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *v)
{
	char *end;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && *v >= lo && *v <= hi;
}

static bool parse_list(const char *s, unsigned *out, unsigned max, unsigned *n)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s);
	*n = 0;
	for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned long v;
		if (*n == max || !parse_uint(t, 1, MAX_SESSIONS, &v))
			return false;
		out[(*n)++] = (unsigned)v;
	}
	return *n > 0;
}

static bool parse_pids(const char *s, struct bench_opts *o)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s);
	o->ncpu_pids = 0;
	for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned long v;
		if (o->ncpu_pids == MAX_CPU_PIDS || !parse_uint(t, 1, INT32_MAX, &v))
			return false;
		o->cpu_pids[o->ncpu_pids++] = (int)v;
	}
	for (unsigned i = 0; i < o->ncpu_pids; i++) {
		if (proc_cpu_s(o->cpu_pids[i]) < 0) {
			fprintf(stderr, "mdsctl bench: -c: no process %d on this machine\n",
				o->cpu_pids[i]);
			return false;
		}
	}
	return o->ncpu_pids > 0;
}

static bool parse_profiles(const char *s, struct bench_opts *o)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "all") == 0) {
			for (unsigned i = 0; i < bench_profile_count && o->nprofiles < 16; i++)
				o->profiles[o->nprofiles++] = (int)i;
			continue;
		}
		int p = bench_profile_find(t);
		if (p < 0 || o->nprofiles == 16) {
			fprintf(stderr, "mdsctl bench: no profile %s\n", t);
			return false;
		}
		o->profiles[o->nprofiles++] = p;
	}
	return o->nprofiles > 0;
}

static bool resolve(const char *master, uint32_t *ip, uint16_t *port)
{
	char host[256];
	snprintf(host, sizeof(host), "%s", master);
	*port = DEFAULT_CLIENT_PORT;
	char *colon = strrchr(host, ':');
	if (colon) {
		unsigned long p;
		if (!parse_uint(colon + 1, 1, 65535, &p))
			return false;
		*port = (uint16_t)p;
		*colon = '\0';
	}
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return false;
	*ip = ntohl(((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr);
	freeaddrinfo(res);
	return true;
}

static int parse_opts(int argc, char **argv, struct bench_opts *o)
{
	*o = (struct bench_opts){ .master = "127.0.0.1", .sessions = { 1 }, .nsessions = 1,
				  .seconds = 10, .files = 1000, .entries = 10000,
				  .unlink_files = 50000, .mixed_sources = 200, .path = "/" };
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *f = argv[i];
		if (strcmp(f, "-j") == 0) {
			o->json = true;
			continue;
		}
		if (strcmp(f, "-k") == 0) {
			o->keep = true;
			continue;
		}
		if (strcmp(f, "-h") == 0 || strcmp(f, "--help") == 0) {
			usage(stdout);
			exit(0);
		}
		if (i + 1 >= argc)
			return -1;
		const char *v = argv[++i];
		unsigned long u;
		if (strcmp(f, "-m") == 0) {
			o->master = v;
		} else if (strcmp(f, "-s") == 0) {
			if (!parse_list(v, o->sessions, 16, &o->nsessions))
				return -1;
		} else if (strcmp(f, "-d") == 0) {
			char *end;
			o->seconds = strtod(v, &end);
			if (*end != '\0' || o->seconds <= 0 || o->seconds > 86400)
				return -1;
		} else if (strcmp(f, "-n") == 0) {
			char *end;
			errno = 0;
			o->ops = strtoull(v, &end, 10);
			if (errno || *end != '\0' || o->ops == 0)
				return -1;
		} else if (strcmp(f, "-f") == 0 && parse_uint(v, 1, 10000000, &u)) {
			o->files = (uint32_t)u;
		} else if (strcmp(f, "-r") == 0 && parse_uint(v, 1, 10000000, &u)) {
			o->entries = (uint32_t)u;
		} else if (strcmp(f, "-u") == 0 && parse_uint(v, 1, 100000000, &u)) {
			o->unlink_files = (uint32_t)u;
		} else if (strcmp(f, "-p") == 0) {
			o->path = v;
		} else if (strcmp(f, "-S") == 0) {
			o->server = v;
		} else if (strcmp(f, "-c") == 0) {
			if (!parse_pids(v, o))
				return -1;
		} else {
			return -1;
		}
	}
	if (i + 1 != argc || !parse_profiles(argv[i], o))
		return -1;
	return 0;
}

int bench_main(int argc, char **argv)
{
	struct bench b = { .cr = { .uid = 0, .gid = 0 } };
	if (parse_opts(argc, argv, &b.o) < 0) {
		usage(stderr);
		return 2;
	}
	if (!resolve(b.o.master, &b.ip, &b.port)) {
		fprintf(stderr, "mdsctl bench: bad address %s\n", b.o.master);
		return 2;
	}
	for (unsigned i = 0; i < b.o.nsessions; i++)
		if (b.o.sessions[i] > b.nconns)
			b.nconns = b.o.sessions[i];
	b.ep = epoll_create1(EPOLL_CLOEXEC);
	b.conns = calloc(b.nconns, sizeof(*b.conns));
	b.json_runs = json_array();
	if (b.ep < 0 || b.conns == NULL || b.json_runs == NULL)
		die("out of memory");
	for (unsigned i = 0; i < b.nconns; i++) {
		b.conns[i].idx = i;
		register_session(&b, &b.conns[i]);
	}
	char host[64] = "";
	gethostname(host, sizeof(host) - 1);
	snprintf(b.work_name, sizeof(b.work_name), "mdsbench.%s.%d", host, (int)getpid());
	b.work_dir = make_dir(&b, MFS_ROOT_INODE, b.work_name);
	/* Removals inside free at once (children inherit the trash time). */
	struct bench_req tt = { .op = BOP_SETTRASHTIME, .inode = b.work_dir };
	struct call_reply rep;
	uint8_t st = call_sync(&b, &tt, &rep);
	if (st != MFS_STATUS_OK)
		fprintf(stderr, "mdsctl bench: trash time 0 refused (%s): removals go to "
			"the trash\n", proto_status_name(st));
	if (!b.o.json)
		printf("# mdsctl bench: master %s, %.1f s per run, work directory %s%s%s\n"
		       "%-8s %8s  %-8s %9s %10s %8s %8s %8s %9s %7s\n",
		       b.o.master, b.o.seconds, b.o.path, strcmp(b.o.path, "/") ? "/" : "",
		       b.work_name, "profile", "sessions", "op", "count", "ops/s", "p50_us",
		       "p90_us", "p99_us", "p99.9_us", "errors");
	for (unsigned pi = 0; pi < b.o.nprofiles; pi++)
		for (unsigned si = 0; si < b.o.nsessions; si++)
			run_one(&b, b.o.profiles[pi], b.o.sessions[si]);
	if (!b.o.keep)
		remove_dir(&b, MFS_ROOT_INODE, b.work_name);
	if (b.o.json) {
		json_t *doc = json_pack("{s:s,s:f,s:s,s:o}", "master", b.o.master, "seconds",
					b.o.seconds, "work_directory", b.work_name, "runs",
					b.json_runs);
		json_dumpf(doc, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(doc);
	} else {
		json_decref(b.json_runs);
	}
	for (unsigned i = 0; i < b.nconns; i++)
		close_session(&b.conns[i]);
	free(b.conns);
	close(b.ep);
	return 0;
}
