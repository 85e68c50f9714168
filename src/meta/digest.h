/* meta/digest.h - a digest of the whole metadata state.
 *
 * BLAKE3 over every table, in table order and key order, with each key and
 * value length-prefixed. Two replicas that applied the same commands have
 * the same digest; the digest leaves out nothing that apply writes except
 * the applied index (which differs harmlessly when one replica has applied
 * no-op log entries the other has not).
 */
#ifndef MDS_META_DIGEST_H
#define MDS_META_DIGEST_H

#include "meta/store.h"

#include <stdint.h>

int meta_digest(struct meta_store *s, MDB_txn *txn, uint8_t out[32]);

#endif
