/* consensus/msg.c - owning copies of libraft messages (contract in
 * consensus/group.h).
 *
 * libraft's messages borrow memory: an outgoing AppendEntries points into
 * the WAL, the server address into libraft's configuration. A copy that
 * must outlive the call that produced it (a message queued until a vote is
 * durable, a simulated network, a transport's send queue) owns everything,
 * laid out the way cons_group_receive() takes it: all entry payloads in one
 * raft_malloc() batch, which the receiving group hands to libraft.
 */
#include "consensus/group.h"

#include "base/err.h"
#include "consensus/group_int.h"

#include <stdlib.h>
#include <string.h>

static int copy_entries(struct raft_append_entries *dst, const struct raft_append_entries *src)
{
	size_t total = 0;
	uint8_t *batch;

	dst->entries = NULL;
	if (src->n_entries == 0)
		return 0;
	for (unsigned i = 0; i < src->n_entries; i++)
		total += src->entries[i].buf.len;
	dst->entries = malloc(src->n_entries * sizeof(*dst->entries));
	/* libraft requires a non-NULL batch even when every payload is empty. */
	batch = raft_malloc(total ? total : 1);
	if (!dst->entries || !batch) {
		free(dst->entries);
		raft_free(batch);
		dst->entries = NULL;
		return -MDS_ENOMEM;
	}
	size_t off = 0;
	for (unsigned i = 0; i < src->n_entries; i++) {
		const struct raft_entry *e = &src->entries[i];
		dst->entries[i] = (struct raft_entry){
			.term = e->term,
			.type = e->type,
			.buf = {.base = batch + off, .len = e->buf.len},
			.batch = batch,
		};
		if (e->buf.len)
			memcpy(batch + off, e->buf.base, e->buf.len);
		off += e->buf.len;
	}
	return 0;
}

int cons_conf_copy(struct raft_configuration *dst, const struct raft_configuration *src)
{
	raft_configuration_init(dst);
	for (unsigned i = 0; i < src->n; i++) {
		const struct raft_server *s = &src->servers[i];
		if (raft_configuration_add(dst, s->id, s->address, s->role) != 0) {
			raft_configuration_close(dst);
			return -MDS_ENOMEM;
		}
	}
	return 0;
}

int cons_msg_copy(struct raft_message *dst, const struct raft_message *src)
{
	int rc = 0;

	*dst = *src;
	dst->server_address = NULL;
	if (src->server_address && !(dst->server_address = strdup(src->server_address)))
		return -MDS_ENOMEM;
	switch (src->type) {
	case RAFT_APPEND_ENTRIES:
		rc = copy_entries(&dst->append_entries, &src->append_entries);
		break;
	case RAFT_INSTALL_SNAPSHOT: {
		struct raft_install_snapshot *d = &dst->install_snapshot;
		const struct raft_install_snapshot *s = &src->install_snapshot;
		d->data = (struct raft_buffer){0};
		if ((rc = cons_conf_copy(&d->conf, &s->conf)) != 0)
			break;
		if (s->data.len) {
			if (!(d->data.base = raft_malloc(s->data.len))) {
				raft_configuration_close(&d->conf);
				rc = -MDS_ENOMEM;
				break;
			}
			memcpy(d->data.base, s->data.base, s->data.len);
			d->data.len = s->data.len;
		}
		break;
	}
	default:
		break;
	}
	if (rc) {
		free((void *)dst->server_address);
		dst->server_address = NULL;
	}
	return rc;
}

void cons_msg_release(struct raft_message *m)
{
	free((void *)m->server_address);
	m->server_address = NULL;
	switch (m->type) {
	case RAFT_APPEND_ENTRIES:
		free(m->append_entries.entries);
		m->append_entries.entries = NULL;
		m->append_entries.n_entries = 0;
		break;
	case RAFT_INSTALL_SNAPSHOT:
		raft_configuration_close(&m->install_snapshot.conf);
		m->install_snapshot.data = (struct raft_buffer){0};
		break;
	default:
		break;
	}
}

void cons_msg_free(struct raft_message *m)
{
	switch (m->type) {
	case RAFT_APPEND_ENTRIES:
		if (m->append_entries.n_entries > 0)
			raft_free(m->append_entries.entries[0].batch);
		break;
	case RAFT_INSTALL_SNAPSHOT:
		raft_free(m->install_snapshot.data.base);
		break;
	default:
		break;
	}
	cons_msg_release(m);
}
