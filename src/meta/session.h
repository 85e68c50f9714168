/* meta/session.h - client sessions and their open files as replicated state.
 *
 * A session record is opaque here (the server layer encodes it); what meta
 * owns is the set of inodes each session holds open, in both directions
 * (open: session|ino, opened: ino|session), because that set decides
 * whether an unlinked file is sustained or deleted. Closing a session, or
 * a new file list without an inode, releases it: a sustained inode that no
 * session holds any more is deleted.
 */
#ifndef MDS_META_SESSION_H
#define MDS_META_SESSION_H

#include "meta/store.h"

#include <stdbool.h>
#include <stdint.h>

int meta_session_put(struct meta_store *s, MDB_txn *txn, uint32_t id,
		     const uint8_t *rec, size_t len);
int meta_session_get(struct meta_store *s, MDB_txn *txn, uint32_t id, MDB_val *rec);
/* Deletes the session: its record, its open set (releasing the files) and
 * its recorded request results (meta/reqlog.h). */
int meta_session_close(struct meta_store *s, MDB_txn *txn, uint32_t id);
/* Releases at most max of the session's open files (the lowest inode
 * numbers first), as a close would: a piece of a close, so that closing
 * a session that holds many files never costs one long command. *released
 * counts them; *more tells whether the session still holds any. */
int meta_session_release(struct meta_store *s, MDB_txn *txn, uint32_t id, uint32_t max,
			 uint32_t *released, bool *more);

int meta_session_add_open(struct meta_store *s, MDB_txn *txn, uint32_t id, uint32_t ino);
int meta_session_has_open(struct meta_store *s, MDB_txn *txn, uint32_t id, uint32_t ino,
			  bool *open);
/* Replaces the session's open set with list (count x ino:32, any order);
 * inodes that do not exist are ignored. */
int meta_session_set_files(struct meta_store *s, MDB_txn *txn, uint32_t id,
			   const uint8_t *list, size_t len);

/* True when any session holds the inode open. */
int meta_inode_is_open(struct meta_store *s, MDB_txn *txn, uint32_t ino, bool *open);

/* Calls fn for each session record; stops at a non-zero return. */
typedef int (*meta_session_fn)(uint32_t id, const uint8_t *rec, size_t len, void *arg);
int meta_session_each(struct meta_store *s, MDB_txn *txn, meta_session_fn fn, void *arg);

#endif
