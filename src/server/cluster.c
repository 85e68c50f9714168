/* server/cluster.c - peers, control requests and the notify script
 * (contract in server/cluster.h).
 *
 * Control requests are one JSON object each: {"op": "status"},
 * {"op": "bootstrap"}, {"op": "join", "id": N, "address": "ip:port"},
 * {"op": "remove", "id": N}, {"op": "transfer", "id": N (0: best)},
 * {"op": "stats"} (client request latencies: server/op_stats.h).
 * Every reply has "ok"; a failure has "error", and a request only the
 * leader can carry out, sent to another node, also "leader" and
 * "leader_address" so mdsctl can ask there.
 */
#include "server/cluster.h"

#include "base/err.h"
#include "base/log.h"
#include "consensus/group.h"
#include "server/peer.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLL_MS 20
#define CHANGE_TIMEOUT_MS 120000
#define TRANSFER_TIMEOUT_MS 10000
#define MAX_MEMBERS 16

enum join_kind { WAIT_JOIN, WAIT_REMOVE, WAIT_TRANSFER, WAIT_BOOTSTRAP };

/* A control request waiting for its membership change or transfer. */
struct cluster_join {
	struct cluster_join *next;
	struct peer_ctl *ctl;
	enum join_kind kind;
	uint64_t id;
	uint64_t deadline;
};

/* ---- replies ------------------------------------------------------------------------ */

static void reply_json(struct peer_ctl *ctl, json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL) {
		static const char oom[] = "{\"ok\":false,\"error\":\"out of memory\"}";
		peer_ctl_reply(ctl, oom, sizeof(oom) - 1);
		return;
	}
	peer_ctl_reply(ctl, text, strlen(text));
	free(text);
}

static void reply_error(struct cluster *c, struct peer_ctl *ctl, const char *error)
{
	json_t *o = json_pack("{s:b, s:s}", "ok", 0, "error", error);
	char addr[128];
	uint64_t leader = c ? state_leader(c->st, addr, sizeof(addr)) : 0;
	if (o && leader) {
		json_object_set_new(o, "leader", json_integer((json_int_t)leader));
		json_object_set_new(o, "leader_address", json_string(addr));
	}
	reply_json(ctl, o ? o : json_object());
}

static void reply_ok(struct peer_ctl *ctl)
{
	reply_json(ctl, json_pack("{s:b}", "ok", 1));
}

/* ---- status ------------------------------------------------------------------------- */

static const char *role_name(enum cons_role r)
{
	switch (r) {
	case CONS_ROLE_LEADER: return "leader";
	case CONS_ROLE_FOLLOWER: return "follower";
	case CONS_ROLE_CANDIDATE: return "candidate";
	default: return "none";
	}
}

static const char *member_role(int role)
{
	switch (role) {
	case RAFT_VOTER: return "voter";
	case RAFT_STANDBY: return "standby";
	default: return "spare";
	}
}

static json_t *status_json(struct cluster *c)
{
	struct cons_group *g = state_group(c->st);
	struct cons_status s;
	cons_group_status(g, &s);
	char laddr[128];
	uint64_t leader = state_leader(c->st, laddr, sizeof(laddr));
	json_t *o = json_object();
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "id", json_integer((json_int_t)state_node_id(c->st)));
	json_object_set_new(o, "address", json_string(state_self_address(c->st)));
	json_object_set_new(o, "role", json_string(role_name(s.role)));
	json_object_set_new(o, "serving", json_boolean(state_is_leader(c->st)));
	json_object_set_new(o, "term", json_integer((json_int_t)s.term));
	json_object_set_new(o, "commit", json_integer((json_int_t)s.commit_index));
	json_object_set_new(o, "applied", json_integer((json_int_t)s.applied_index));
	json_object_set_new(o, "last", json_integer((json_int_t)s.last_index));
	json_object_set_new(o, "snapshot", json_integer((json_int_t)s.snapshot_index));
	json_object_set_new(o, "leader", json_integer((json_int_t)leader));
	json_object_set_new(o, "leader_address", json_string(laddr));
	json_object_set_new(o, "metaid", json_integer((json_int_t)state_metaid(c->st)));
	if (s.failed)
		json_object_set_new(o, "failed", json_string(mds_strerror(s.failed)));
	json_t *members = json_array();
	struct cons_member m[MAX_MEMBERS];
	size_t n = cons_group_members(g, m, MAX_MEMBERS);
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "id", json_integer((json_int_t)m[i].id));
		json_object_set_new(e, "address", json_string(m[i].address));
		json_object_set_new(e, "role", json_string(member_role(m[i].role)));
		if (s.role == CONS_ROLE_LEADER) {
			uint64_t match = m[i].id == state_node_id(c->st) ? s.last_index
									 : m[i].match_index;
			json_object_set_new(e, "match", json_integer((json_int_t)match));
			json_object_set_new(e, "lag", json_integer(
				(json_int_t)(s.last_index > match ? s.last_index - match : 0)));
			if (m[i].id != state_node_id(c->st) && m[i].last_contact_ms != UINT64_MAX)
				json_object_set_new(e, "last_contact_ms",
						    json_integer((json_int_t)m[i].last_contact_ms));
			if (m[i].catching_up)
				json_object_set_new(e, "catching_up", json_true());
		}
		json_array_append_new(members, e);
	}
	json_object_set_new(o, "members", members);
	if (c->soft.status)
		c->soft.status(c->soft.arg, o);
	return o;
}

/* ---- membership ----------------------------------------------------------------------- */

static int member_role_of(struct cluster *c, uint64_t id)
{
	struct cons_member m[MAX_MEMBERS];
	size_t n = cons_group_members(state_group(c->st), m, MAX_MEMBERS);
	for (size_t i = 0; i < n; i++)
		if (m[i].id == id)
			return m[i].role;
	return -1;
}

/* Is the request's change done? 1 done, 0 not yet, <0 failed. */
static int join_done(struct cluster *c, struct cluster_join *j)
{
	struct cons_status s;
	cons_group_status(state_group(c->st), &s);
	struct cons_change ch;
	switch (j->kind) {
	case WAIT_JOIN:
	case WAIT_REMOVE:
		cons_group_change_status(state_group(c->st), &ch);
		if (ch.id != j->id)
			return -MDS_EAGAIN;  /* another change replaced it */
		if (ch.busy)
			return 0;
		if (ch.result < 0)
			return ch.result;
		/* Committed; an add that was a no-op left an older status. */
		return j->kind == WAIT_JOIN ? (member_role_of(c, j->id) == RAFT_VOTER ? 1 : -MDS_EAGAIN)
					    : (member_role_of(c, j->id) < 0 ? 1 : -MDS_EAGAIN);
	case WAIT_TRANSFER:
		return s.leader_id != 0 && s.leader_id != state_node_id(c->st);
	case WAIT_BOOTSTRAP:
		/* Serving, with its file system created. */
		return state_is_leader(c->st) && state_metaid(c->st) != 0;
	}
	return -MDS_EINVAL;
}

static void on_poll(uv_timer_t *t)
{
	struct cluster *c = t->data;
	uint64_t now = uv_now(c->loop);
	struct cluster_join **pp = &c->joins;
	while (*pp) {
		struct cluster_join *j = *pp;
		int rc = join_done(c, j);
		if (rc == 0 && now < j->deadline) {
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		if (rc > 0)
			reply_ok(j->ctl);
		else
			reply_error(c, j->ctl, rc < 0 ? mds_strerror(rc) : "timed out");
		free(j);
	}
	if (c->joins == NULL)
		uv_timer_stop(&c->poll);
}

static void wait_for(struct cluster *c, struct peer_ctl *ctl, enum join_kind kind, uint64_t id,
		     uint64_t timeout_ms)
{
	struct cluster_join *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		reply_error(c, ctl, "out of memory");
		return;
	}
	*j = (struct cluster_join){.next = c->joins, .ctl = ctl, .kind = kind, .id = id,
				   .deadline = uv_now(c->loop) + timeout_ms};
	c->joins = j;
	if (!uv_is_active((uv_handle_t *)&c->poll))
		uv_timer_start(&c->poll, on_poll, POLL_MS, POLL_MS);
}

static void handle_ctl(void *arg, struct peer_ctl *ctl, const uint8_t *req, size_t len)
{
	struct cluster *c = arg;
	json_error_t jerr;
	json_t *o = json_loadb((const char *)req, len, 0, &jerr);
	const char *op = o ? json_string_value(json_object_get(o, "op")) : NULL;
	if (op == NULL) {
		LOG_WARN("control request is not a JSON object with \"op\": %s",
			 o ? "no op" : jerr.text);
		reply_error(NULL, ctl, "malformed request");
		json_decref(o);
		return;
	}
	json_t *jid = json_object_get(o, "id");
	uint64_t id = json_is_integer(jid) && json_integer_value(jid) > 0
		? (uint64_t)json_integer_value(jid) : 0;
	const char *address = json_string_value(json_object_get(o, "address"));
	struct cons_group *g = state_group(c->st);
	int rc;

	if (strcmp(op, "status") == 0) {
		reply_json(ctl, status_json(c));
	} else if (strcmp(op, "stats") == 0) {
		json_t *ops = json_object();
		if (c->stats)
			c->stats(c->stats_arg, ops);
		reply_json(ctl, json_pack("{s:b,s:I,s:o}", "ok", 1, "node",
					  (json_int_t)state_node_id(c->st), "ops", ops));
	} else if (strcmp(op, "bootstrap") == 0) {
		rc = state_bootstrap(c->st);
		if (rc == 0) {
			LOG_INFO("bootstrapped by mdsctl: a one-node cluster of node %llu",
				 (unsigned long long)state_node_id(c->st));
			wait_for(c, ctl, WAIT_BOOTSTRAP, 0, TRANSFER_TIMEOUT_MS);
		} else {
			reply_error(NULL, ctl, rc == -MDS_EEXIST
				    ? "this node already has metadata (it is part of a cluster)"
				    : mds_strerror(rc));
		}
	} else if (strcmp(op, "join") == 0) {
		if (id == 0 || address == NULL || address[0] == '\0') {
			reply_error(NULL, ctl, "join needs an id and an address");
		} else if ((rc = cons_group_add(g, id, address)) < 0) {
			reply_error(c, ctl, rc == -MDS_ENOTLEADER ? "not leader" : mds_strerror(rc));
		} else {
			LOG_INFO("adding node %llu at %s to the cluster", (unsigned long long)id,
				 address);
			wait_for(c, ctl, WAIT_JOIN, id, CHANGE_TIMEOUT_MS);
		}
	} else if (strcmp(op, "remove") == 0) {
		if (id == 0) {
			reply_error(NULL, ctl, "remove needs an id");
		} else if ((rc = cons_group_remove(g, id)) < 0) {
			reply_error(c, ctl, rc == -MDS_ENOTLEADER ? "not leader" : mds_strerror(rc));
		} else {
			LOG_INFO("removing node %llu from the cluster", (unsigned long long)id);
			wait_for(c, ctl, WAIT_REMOVE, id, CHANGE_TIMEOUT_MS);
		}
	} else if (strcmp(op, "transfer") == 0) {
		if ((rc = cons_group_transfer(g, id)) < 0) {
			reply_error(c, ctl, rc == -MDS_ENOTLEADER ? "not leader" : mds_strerror(rc));
		} else {
			LOG_INFO("transferring leadership to %s",
				 id ? "the named node" : "the most up-to-date node");
			wait_for(c, ctl, WAIT_TRANSFER, id, TRANSFER_TIMEOUT_MS);
		}
	} else {
		reply_error(NULL, ctl, "unknown op");
	}
	json_decref(o);
}

/* ---- the peer transport ------------------------------------------------------------- */

static void on_raft(void *arg, uint32_t group, uint64_t from, struct raft_message *m)
{
	struct cluster *c = arg;
	state_receive(c->st, group, from, m);
}

static void on_snap(void *arg, uint64_t from, const uint8_t *p, size_t len)
{
	struct cluster *c = arg;
	snapshot_xfer_frame(&c->snaps, from, p, len);
}

static void on_soft(void *arg, uint64_t from, const uint8_t *data, size_t len)
{
	struct cluster *c = arg;
	if (c->soft.on_soft)
		c->soft.on_soft(c->soft.arg, from, data, len);
}

static void on_link(void *arg, uint64_t peer, bool up)
{
	struct cluster *c = arg;
	if (c->soft.on_link)
		c->soft.on_link(c->soft.arg, peer, up);
}

static void send_raft(void *arg, uint32_t group, uint64_t to, const char *to_address,
		      const struct raft_message *m)
{
	struct cluster *c = arg;
	peer_send_raft(c->peers, group, to, to_address, m);
}

/* ---- the notify script -------------------------------------------------------------- */

static void run_script(struct cluster *c);

/* The handle is reusable only once closed: the next run starts here. */
static void on_script_closed(uv_handle_t *h)
{
	struct cluster *c = h->data;
	c->script_running = false;
	if (c->started) {
		if (c->script_wanted != c->script_role)
			run_script(c);
	} else {
		free(c->notify_script);
		c->notify_script = NULL;
	}
}

static void on_script_exit(uv_process_t *p, int64_t status, int sig)
{
	struct cluster *c = p->data;
	if (status != 0 || sig != 0)
		LOG_WARN("notify script %s %s exited with status %lld signal %d", c->notify_script,
			 c->script_role ? "leader" : "follower", (long long)status, sig);
	uv_close((uv_handle_t *)p, on_script_closed);
}

static void run_script(struct cluster *c)
{
	if (c->script_running || c->notify_script == NULL)
		return;
	int role = c->script_wanted;
	char node[32], term[32], leader[32];
	struct cons_status s;
	cons_group_status(state_group(c->st), &s);
	snprintf(node, sizeof(node), "MDS_NODE_ID=%llu", (unsigned long long)state_node_id(c->st));
	snprintf(term, sizeof(term), "MDS_TERM=%llu", (unsigned long long)s.term);
	snprintf(leader, sizeof(leader), "MDS_LEADER_ID=%llu", (unsigned long long)s.leader_id);
	char *argv[] = {c->notify_script, role ? "leader" : "follower", NULL};
	extern char **environ;
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 4, sizeof(*env));
	if (env == NULL)
		return;
	memcpy(env, environ, n * sizeof(*env));
	env[n] = node;
	env[n + 1] = term;
	env[n + 2] = leader;
	uv_process_options_t o = {
		.file = c->notify_script,
		.args = argv,
		.env = env,
		.exit_cb = on_script_exit,
		.flags = UV_PROCESS_WINDOWS_HIDE,
	};
	uv_stdio_container_t stdio[3] = {
		{.flags = UV_IGNORE}, {.flags = UV_INHERIT_FD, .data.fd = 2},
		{.flags = UV_INHERIT_FD, .data.fd = 2},
	};
	o.stdio = stdio;
	o.stdio_count = 3;
	c->script.data = c;
	int rc = uv_spawn(c->loop, &c->script, &o);
	free(env);
	c->script_running = true;
	c->script_role = role;
	if (rc < 0) {
		/* Not retried until the role changes again (no loop). */
		LOG_ERR("cannot run notify script %s: %s", c->notify_script, uv_strerror(rc));
		uv_close((uv_handle_t *)&c->script, on_script_closed);
		return;
	}
	LOG_INFO("notify script: %s %s", c->notify_script, role ? "leader" : "follower");
}

void cluster_role_changed(struct cluster *c, bool leader)
{
	if (!c->started)
		return;
	c->script_wanted = leader ? 1 : 0;
	if (c->script_wanted != c->script_role)
		run_script(c);
}

/* ---- start / stop ------------------------------------------------------------------- */

int cluster_start(struct cluster *c, uv_loop_t *loop, struct mds_state *st,
		  const struct cluster_options *opt)
{
	memset(c, 0, sizeof(*c));
	c->loop = loop;
	c->st = st;
	c->script_role = -1;
	c->script_wanted = 0;
	if (opt->soft)
		c->soft = *opt->soft;
	c->stats = opt->stats;
	c->stats_arg = opt->stats_arg;
	if (opt->notify_script && opt->notify_script[0] &&
	    (c->notify_script = strdup(opt->notify_script)) == NULL)
		return -MDS_ENOMEM;
	uv_timer_init(loop, &c->poll);
	c->poll.data = c;
	c->started = true;
	if (opt->self_address && opt->self_address[0]) {
		struct peer_handlers h = {.arg = c, .on_raft = on_raft, .on_ctl = handle_ctl,
					  .on_snap = on_snap, .on_soft = on_soft, .on_link = on_link};
		int rc = peer_service_start(&c->peers, loop, state_node_id(st), opt->self_address,
					    opt->listen_host, opt->listen_port, &h);
		if (rc < 0) {
			LOG_ERR("cannot start the peer service on %s:%u: %s", opt->listen_host,
				opt->listen_port, mds_strerror(rc));
			c->started = false;
			uv_close((uv_handle_t *)&c->poll, NULL);
			free(c->notify_script);
			c->notify_script = NULL;
			return rc;
		}
		state_set_sender(st, send_raft, c);
		snapshot_xfer_start(&c->snaps, loop, st, c->peers);
		LOG_INFO("peer service on %s:%u (node %llu, %s)", opt->listen_host,
			 opt->listen_port, (unsigned long long)state_node_id(st), opt->self_address);
	}
	c->script_wanted = state_is_leader(st) ? 1 : 0;
	run_script(c);
	return 0;
}

void cluster_stop(struct cluster *c)
{
	if (!c->started)
		return;
	c->started = false;
	while (c->joins) {
		struct cluster_join *j = c->joins;
		c->joins = j->next;
		reply_error(NULL, j->ctl, "node stopping");
		free(j);
	}
	uv_timer_stop(&c->poll);
	uv_close((uv_handle_t *)&c->poll, NULL);
	if (c->peers) {
		snapshot_xfer_stop(&c->snaps);
		state_set_sender(c->st, NULL, NULL);
		peer_service_stop(c->peers);
		c->peers = NULL;
	}
	/* A running script finishes on its own; its handle's close frees
	 * the name. */
	if (!c->script_running) {
		free(c->notify_script);
		c->notify_script = NULL;
	}
}

uint32_t cluster_leader_ip(struct cluster *c)
{
	char addr[128];
	if (state_leader(c->st, addr, sizeof(addr)) == 0)
		return 0;
	char *colon = strrchr(addr, ':');
	if (colon)
		*colon = '\0';
	struct in_addr in;
	if (inet_pton(AF_INET, addr, &in) != 1)
		return 0;
	return ntohl(in.s_addr);
}
