/* meta/acl.c - ACL records, their table, evaluation and mode coupling. */
#include "meta/acl.h"

#include "base/err.h"

#include <stdlib.h>
#include <string.h>

#define ACL_REC_V1 1
#define ACL_REC_HEAD 9
#define ACL_ENTRY_LEN 5
#define WIRE_ENTRY_LEN 6
#define WIRE_NONE 0xFFFF

static size_t acl_key(uint8_t key[5], uint32_t ino, uint8_t kind)
{
	be32_put(key, ino);
	key[4] = kind;
	return 5;
}

void meta_acl_entry(const struct meta_acl *a, uint32_t i, uint32_t *id, uint8_t *perm)
{
	const uint8_t *p = a->entries + (size_t)i * ACL_ENTRY_LEN;
	*id = be32_get(p);
	*perm = p[4];
}

uint16_t meta_acl_mode_bits(const struct meta_acl *a)
{
	uint8_t g = a->mask == META_ACL_NO_MASK ? a->group : a->mask;
	return (uint16_t)(a->user << 6 | g << 3 | a->other);
}

/* Ids strictly increasing within [from, from + n). */
static bool ids_ordered(const struct meta_acl *a, uint32_t from, uint32_t n)
{
	uint32_t prev = 0, id;
	uint8_t perm;
	for (uint32_t i = 0; i < n; i++) {
		meta_acl_entry(a, from + i, &id, &perm);
		if (perm > 7 || (i > 0 && id <= prev))
			return false;
		prev = id;
	}
	return true;
}

int meta_acl_decode(const uint8_t *p, size_t len, struct meta_acl *out)
{
	struct byte_reader r;
	br_init(&r, p, len);
	if (br_u8(&r) != ACL_REC_V1)
		return -MDS_ECORRUPT;
	out->user = br_u8(&r);
	out->group = br_u8(&r);
	out->other = br_u8(&r);
	out->mask = br_u8(&r);
	out->nusers = br_u16(&r);
	out->ngroups = br_u16(&r);
	size_t n = (size_t)out->nusers + out->ngroups;
	out->entries = br_span(&r, n * ACL_ENTRY_LEN);
	if (!br_done(&r) || n > META_ACL_MAX_ENTRIES)
		return -MDS_ECORRUPT;
	if (out->user > 7 || out->group > 7 || out->other > 7 ||
	    (out->mask > 7 && out->mask != META_ACL_NO_MASK) ||
	    (n > 0 && out->mask == META_ACL_NO_MASK))
		return -MDS_ECORRUPT;
	if (!ids_ordered(out, 0, out->nusers) || !ids_ordered(out, out->nusers, out->ngroups))
		return -MDS_ECORRUPT;
	return 0;
}

void meta_acl_encode(const struct meta_acl *a, struct byte_writer *w)
{
	bw_u8(w, ACL_REC_V1);
	bw_u8(w, a->user);
	bw_u8(w, a->group);
	bw_u8(w, a->other);
	bw_u8(w, a->mask);
	bw_u16(w, a->nusers);
	bw_u16(w, a->ngroups);
	bw_bytes(w, a->entries, ((size_t)a->nusers + a->ngroups) * ACL_ENTRY_LEN);
}

struct wire_entry {
	uint32_t id;
	uint8_t perm;
};

static int by_id(const void *x, const void *y)
{
	const struct wire_entry *a = x, *b = y;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* Sorts n entries and writes them; -MDS_EINVAL on a duplicate id. */
static int put_sorted(struct wire_entry *e, uint32_t n, struct byte_writer *w)
{
	qsort(e, n, sizeof(*e), by_id);
	for (uint32_t i = 0; i < n; i++) {
		if (i > 0 && e[i].id == e[i - 1].id)
			return -MDS_EINVAL;
		bw_u32(w, e[i].id);
		bw_u8(w, e[i].perm);
	}
	return 0;
}

int meta_acl_from_wire(const uint8_t *p, size_t len, struct byte_writer *rec, bool *remove)
{
	struct byte_reader r;
	br_init(&r, p, len);
	uint16_t user = br_u16(&r), group = br_u16(&r), other = br_u16(&r), mask = br_u16(&r);
	uint16_t nusers = br_u16(&r), ngroups = br_u16(&r);
	uint32_t n = (uint32_t)nusers + ngroups;
	const uint8_t *raw = br_span(&r, (size_t)n * WIRE_ENTRY_LEN);
	*remove = meta_acl_wire_removes(p, len);
	if (*remove)
		return 0;
	if (!br_done(&r))
		return -MDS_EINVAL;
	if (user > 7 || group > 7 || other > 7 || (mask > 7 && mask != WIRE_NONE) ||
	    (n > 0 && mask == WIRE_NONE) || n > META_ACL_MAX_ENTRIES)
		return -MDS_EINVAL;
	struct wire_entry *e = malloc((n ? n : 1) * sizeof(*e));
	if (e == NULL)
		return -MDS_ENOMEM;
	int rc = 0;
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		const uint8_t *q = raw + (size_t)i * WIRE_ENTRY_LEN;
		uint16_t perm = be16_get(q + 4);
		if (perm > 7)
			rc = -MDS_EINVAL;
		e[i] = (struct wire_entry){be32_get(q), (uint8_t)perm};
	}
	if (rc == 0) {
		bw_u8(rec, ACL_REC_V1);
		bw_u8(rec, (uint8_t)user);
		bw_u8(rec, (uint8_t)group);
		bw_u8(rec, (uint8_t)other);
		bw_u8(rec, mask == WIRE_NONE ? META_ACL_NO_MASK : (uint8_t)mask);
		bw_u16(rec, nusers);
		bw_u16(rec, ngroups);
		rc = put_sorted(e, nusers, rec);
		if (rc == 0)
			rc = put_sorted(e + nusers, ngroups, rec);
	}
	free(e);
	if (rc == 0 && !bw_ok(rec))
		rc = -MDS_ENOMEM;
	return rc;
}

/* ---- evaluation ------------------------------------------------------------ */

/* Index of id among entries [from, from + n) (sorted), or -1. */
static int32_t find_id(const struct meta_acl *a, uint32_t from, uint32_t n, uint32_t id)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint32_t at = be32_get(a->entries + (size_t)(from + mid) * ACL_ENTRY_LEN);
		if (at == id)
			return (int32_t)(from + mid);
		if (at < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static uint8_t perm_at(const struct meta_acl *a, int32_t i)
{
	return a->entries[(size_t)i * ACL_ENTRY_LEN + 4];
}

uint8_t meta_acl_modes(const struct meta_acl *a, const struct meta_inode *n,
		       const struct meta_creds *c)
{
	if (c->uid == n->uid || (n->eattr & EATTR_NOOWNER))
		return meta_perm_modes_of(a->user);
	uint8_t mask = a->mask == META_ACL_NO_MASK ? 7 : a->mask;
	int32_t u = find_id(a, 0, a->nusers, c->uid);
	if (u >= 0)
		return meta_perm_modes_of(perm_at(a, u) & mask);
	if (c->sesflags & SESFLAG_IGNOREGID) {
		uint8_t any = a->group;
		for (uint32_t i = 0; i < a->ngroups; i++)
			any |= perm_at(a, (int32_t)(a->nusers + i));
		return meta_perm_modes_of((uint8_t)((any & mask) | a->other));
	}
	bool found = false;
	uint8_t modes = 0;
	if (meta_creds_in_group(c, n->gid)) {
		found = true;
		modes |= meta_perm_modes_of(a->group & mask);
	}
	for (uint32_t i = 0; i < c->gcnt && a->ngroups > 0; i++) {
		int32_t g = find_id(a, a->nusers, a->ngroups, meta_creds_gid(c, i));
		if (g >= 0) {
			found = true;
			modes |= meta_perm_modes_of(perm_at(a, g) & mask);
		}
	}
	return found ? modes : meta_perm_modes_of(a->other);
}

/* ---- the acl table ----------------------------------------------------------- */

int meta_acl_get(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint8_t kind,
		 struct meta_acl *out)
{
	uint8_t key[5];
	MDB_val v;
	int rc = meta_get(s, txn, T_ACL, key, acl_key(key, ino, kind), &v);
	if (rc < 0)
		return rc;
	return meta_acl_decode(v.mv_data, v.mv_size, out);
}

static int put_record(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint8_t kind,
		      const struct byte_writer *w)
{
	if (!bw_ok(w))
		return -MDS_ENOMEM;
	uint8_t key[5];
	return meta_put(s, txn, T_ACL, key, acl_key(key, ino, kind), w->data, w->len);
}

int meta_acl_put(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint8_t kind,
		 const struct meta_acl *a)
{
	struct byte_writer w;
	bw_init(&w);
	meta_acl_encode(a, &w);
	int rc = put_record(s, txn, ino, kind, &w);
	bw_free(&w);
	return rc;
}

static int del_kind(struct meta_store *s, MDB_txn *txn, uint32_t ino, uint8_t kind)
{
	uint8_t key[5];
	int rc = meta_del(s, txn, T_ACL, key, acl_key(key, ino, kind));
	return rc == -MDS_ENOENT ? 0 : rc;
}

int meta_acl_remove_all(struct meta_store *s, MDB_txn *txn, uint32_t ino)
{
	int rc = del_kind(s, txn, ino, META_ACL_ACCESS);
	return rc < 0 ? rc : del_kind(s, txn, ino, META_ACL_DEFAULT);
}

/* ---- ACLs and the node ---------------------------------------------------------- */

static uint8_t kind_flag(uint8_t kind)
{
	return kind == META_ACL_ACCESS ? MI_ACL_ACCESS : MI_ACL_DEFAULT;
}

int meta_acl_set(struct meta_store *s, MDB_txn *txn, struct meta_inode *n, uint8_t kind,
		 const uint8_t *wire, size_t len)
{
	if (kind != META_ACL_ACCESS && kind != META_ACL_DEFAULT)
		return -MDS_EINVAL;
	if (n->type == MT_SYMLINK)
		return -MDS_ENOTSUP;
	struct byte_writer w;
	bw_init(&w);
	bool remove;
	int rc = meta_acl_from_wire(wire, len, &w, &remove);
	if (rc == 0 && remove) {
		rc = del_kind(s, txn, n->ino, kind);
		n->flags &= (uint8_t)~kind_flag(kind);
	} else if (rc == 0 && kind == META_ACL_DEFAULT && n->type != MT_DIR) {
		rc = -MDS_EACCES;
	} else if (rc == 0) {
		struct meta_acl a;
		rc = meta_acl_decode(w.data, w.len, &a);
		if (rc == 0)
			rc = put_record(s, txn, n->ino, kind, &w);
		if (rc == 0) {
			n->flags |= kind_flag(kind);
			if (kind == META_ACL_ACCESS)
				n->mode = (uint16_t)((n->mode & ~0777) | meta_acl_mode_bits(&a));
		}
	}
	bw_free(&w);
	return rc;
}

int meta_acl_chmod(struct meta_store *s, MDB_txn *txn, struct meta_inode *n)
{
	if (!(n->flags & MI_ACL_ACCESS))
		return 0;
	struct meta_acl a;
	int rc = meta_acl_get(s, txn, n->ino, META_ACL_ACCESS, &a);
	if (rc < 0)
		return rc == -MDS_ENOENT ? -MDS_ECORRUPT : rc;
	if (meta_acl_is_minimal(&a)) {
		n->flags &= (uint8_t)~MI_ACL_ACCESS;
		return del_kind(s, txn, n->ino, META_ACL_ACCESS);
	}
	a.user = (n->mode >> 6) & 7;
	a.other = n->mode & 7;
	if (a.mask == META_ACL_NO_MASK)
		a.group = (n->mode >> 3) & 7;
	else
		a.mask = (n->mode >> 3) & 7;
	return meta_acl_put(s, txn, n->ino, META_ACL_ACCESS, &a);
}

int meta_acl_inherit(struct meta_store *s, MDB_txn *txn, uint32_t parent,
		     struct meta_inode *n, uint16_t mode)
{
	struct meta_acl def;
	int rc = meta_acl_get(s, txn, parent, META_ACL_DEFAULT, &def);
	if (rc < 0)
		return rc == -MDS_ENOENT ? -MDS_ECORRUPT : rc;
	/* Both records are built before the first write moves the map. */
	struct meta_acl acc = def;
	acc.user &= (mode >> 6) & 7;
	acc.other &= mode & 7;
	if (acc.mask == META_ACL_NO_MASK)
		acc.group &= (mode >> 3) & 7;
	else
		acc.mask &= (mode >> 3) & 7;
	n->mode = (uint16_t)((mode & 07000) | meta_acl_mode_bits(&acc));
	struct byte_writer wa, wd;
	bw_init(&wa);
	bw_init(&wd);
	bool keep_access = !meta_acl_is_minimal(&acc);
	bool keep_default = n->type == MT_DIR;
	if (keep_access)
		meta_acl_encode(&acc, &wa);
	if (keep_default)
		meta_acl_encode(&def, &wd);
	if (keep_access && (rc = put_record(s, txn, n->ino, META_ACL_ACCESS, &wa)) == 0)
		n->flags |= MI_ACL_ACCESS;
	if (rc == 0 && keep_default && (rc = put_record(s, txn, n->ino, META_ACL_DEFAULT, &wd)) == 0)
		n->flags |= MI_ACL_DEFAULT;
	bw_free(&wa);
	bw_free(&wd);
	return rc;
}
