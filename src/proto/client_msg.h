/* proto/client_msg.h - MooseFS 3.0.117 client <-> master protocol constants.
 *
 * Message type codes (every code of section 6 of the protocol reference,
 * /work/shared/spec/moosefs-client-protocol.md) and the constants their
 * payloads use: versions, the REGISTER blob and rcodes, session flags,
 * SETATTR/LOOKUP/OPEN/TRUNCATE/READDIR flag bits, ATTR flags, node types and
 * the size limits. Message names keep the MooseFS spelling (CLTOMA_* client
 * to master, MATOCL_* master to client, ANTOAN_* either way); everything
 * else is prefixed MFS_. A reply code is always the request code + 1.
 * Pure constants: no code, no state.
 */
#ifndef MDS_PROTO_CLIENT_MSG_H
#define MDS_PROTO_CLIENT_MSG_H

#include <stdint.h>

/* ---- Housekeeping (7) ---------------------------------------------------- */
#define ANTOAN_NOP                          0
#define ANTOAN_UNKNOWN_COMMAND              1
#define ANTOAN_BAD_COMMAND_SIZE             2
#define ANTOAN_GET_VERSION                  10
#define ANTOAN_VERSION                      11
#define ANTOAN_GET_CONFIG                   80
#define ANTOAN_CONFIG_VALUE                 81

/* ---- Storage-class administration (mfsscadmin, via the tools proxy) ----- */
#define CLTOMA_SCLASS_CREATE                350
#define MATOCL_SCLASS_CREATE                351
#define CLTOMA_SCLASS_CHANGE                352
#define MATOCL_SCLASS_CHANGE                353
#define CLTOMA_SCLASS_DELETE                354
#define MATOCL_SCLASS_DELETE                355
#define CLTOMA_SCLASS_DUPLICATE             356
#define MATOCL_SCLASS_DUPLICATE             357
#define CLTOMA_SCLASS_RENAME                358
#define MATOCL_SCLASS_RENAME                359
#define CLTOMA_SCLASS_LIST                  360
#define MATOCL_SCLASS_LIST                  361

/* ---- FUSE messages (8-10) ------------------------------------------------ */
#define CLTOMA_FUSE_REGISTER                400
#define MATOCL_FUSE_REGISTER                401
#define CLTOMA_FUSE_STATFS                  402
#define MATOCL_FUSE_STATFS                  403
#define CLTOMA_FUSE_ACCESS                  404
#define MATOCL_FUSE_ACCESS                  405
#define CLTOMA_FUSE_LOOKUP                  406
#define MATOCL_FUSE_LOOKUP                  407
#define CLTOMA_FUSE_GETATTR                 408
#define MATOCL_FUSE_GETATTR                 409
#define CLTOMA_FUSE_SETATTR                 410
#define MATOCL_FUSE_SETATTR                 411
#define CLTOMA_FUSE_READLINK                412
#define MATOCL_FUSE_READLINK                413
#define CLTOMA_FUSE_SYMLINK                 414
#define MATOCL_FUSE_SYMLINK                 415
#define CLTOMA_FUSE_MKNOD                   416
#define MATOCL_FUSE_MKNOD                   417
#define CLTOMA_FUSE_MKDIR                   418
#define MATOCL_FUSE_MKDIR                   419
#define CLTOMA_FUSE_UNLINK                  420
#define MATOCL_FUSE_UNLINK                  421
#define CLTOMA_FUSE_RMDIR                   422
#define MATOCL_FUSE_RMDIR                   423
#define CLTOMA_FUSE_RENAME                  424
#define MATOCL_FUSE_RENAME                  425
#define CLTOMA_FUSE_LINK                    426
#define MATOCL_FUSE_LINK                    427
#define CLTOMA_FUSE_READDIR                 428
#define MATOCL_FUSE_READDIR                 429
#define CLTOMA_FUSE_OPEN                    430
#define MATOCL_FUSE_OPEN                    431
#define CLTOMA_FUSE_READ_CHUNK              432
#define MATOCL_FUSE_READ_CHUNK              433
#define CLTOMA_FUSE_WRITE_CHUNK             434
#define MATOCL_FUSE_WRITE_CHUNK             435
#define CLTOMA_FUSE_WRITE_CHUNK_END         436
#define MATOCL_FUSE_WRITE_CHUNK_END         437
#define CLTOMA_FUSE_APPEND_SLICE            438
#define MATOCL_FUSE_APPEND_SLICE            439
#define CLTOMA_FUSE_CHECK                   440
#define MATOCL_FUSE_CHECK                   441
#define CLTOMA_FUSE_GETTRASHTIME            442
#define MATOCL_FUSE_GETTRASHTIME            443
#define CLTOMA_FUSE_SETTRASHTIME            444
#define MATOCL_FUSE_SETTRASHTIME            445
#define CLTOMA_FUSE_GETSCLASS               446
#define MATOCL_FUSE_GETSCLASS               447
#define CLTOMA_FUSE_SETSCLASS               448
#define MATOCL_FUSE_SETSCLASS               449
#define CLTOMA_FUSE_GETTRASH                450
#define MATOCL_FUSE_GETTRASH                451
#define CLTOMA_FUSE_GETDETACHEDATTR         452
#define MATOCL_FUSE_GETDETACHEDATTR         453
#define CLTOMA_FUSE_GETTRASHPATH            454
#define MATOCL_FUSE_GETTRASHPATH            455
#define CLTOMA_FUSE_SETTRASHPATH            456
#define MATOCL_FUSE_SETTRASHPATH            457
#define CLTOMA_FUSE_UNDEL                   458
#define MATOCL_FUSE_UNDEL                   459
#define CLTOMA_FUSE_PURGE                   460
#define MATOCL_FUSE_PURGE                   461
#define CLTOMA_FUSE_GETDIRSTATS             462
#define MATOCL_FUSE_GETDIRSTATS             463
#define CLTOMA_FUSE_TRUNCATE                464
#define MATOCL_FUSE_TRUNCATE                465
#define CLTOMA_FUSE_REPAIR                  466
#define MATOCL_FUSE_REPAIR                  467
#define CLTOMA_FUSE_SNAPSHOT                468
#define MATOCL_FUSE_SNAPSHOT                469
#define CLTOMA_FUSE_GETSUSTAINED            470
#define MATOCL_FUSE_GETSUSTAINED            471
#define CLTOMA_FUSE_GETEATTR                472
#define MATOCL_FUSE_GETEATTR                473
#define CLTOMA_FUSE_SETEATTR                474
#define MATOCL_FUSE_SETEATTR                475
#define CLTOMA_FUSE_QUOTACONTROL            476
#define MATOCL_FUSE_QUOTACONTROL            477
#define CLTOMA_FUSE_GETXATTR                478
#define MATOCL_FUSE_GETXATTR                479
#define CLTOMA_FUSE_SETXATTR                480
#define MATOCL_FUSE_SETXATTR                481
#define CLTOMA_FUSE_CREATE                  482
#define MATOCL_FUSE_CREATE                  483
#define CLTOMA_FUSE_PARENTS                 484
#define MATOCL_FUSE_PARENTS                 485
#define CLTOMA_FUSE_PATHS                   486
#define MATOCL_FUSE_PATHS                   487
#define CLTOMA_FUSE_GETFACL                 488
#define MATOCL_FUSE_GETFACL                 489
#define CLTOMA_FUSE_SETFACL                 490
#define MATOCL_FUSE_SETFACL                 491
#define CLTOMA_FUSE_FLOCK                   492
#define MATOCL_FUSE_FLOCK                   493
#define CLTOMA_FUSE_POSIX_LOCK              494
#define MATOCL_FUSE_POSIX_LOCK              495
#define CLTOMA_FUSE_ARCHCTL                 496
#define MATOCL_FUSE_ARCHCTL                 497
#define CLTOMA_FUSE_FSYNC                   498  /* never sent by 3.0.117 */
#define MATOCL_FUSE_FSYNC                   499
/* Same code as MATOCL_FUSE_FSYNC, client to master: only sent to masters
 * older than 3.0.74, i.e. never to us. */
#define CLTOMA_FUSE_SUSTAINED_INODES_DEPRECATED 499

/* ---- Administrative queries (7.6, not used by mfsmount) ---------------- */
#define CLTOMA_CSERV_LIST                   500
#define CLTOAN_MONOTONIC_DATA               502
#define CLTOAN_CHART                        504
#define CLTOAN_CHART_DATA                   506
#define CLTOMA_SESSION_LIST                 508
#define CLTOMA_INFO                         510
#define CLTOMA_FSTEST_INFO                  512
#define CLTOMA_CHUNKSTEST_INFO              514
#define CLTOMA_CHUNKS_MATRIX                516
#define CLTOMA_QUOTA_INFO                   518
#define CLTOMA_EXPORTS_INFO                 520
#define CLTOMA_MLOG_LIST                    522
#define CLTOMA_CSSERV_COMMAND               524
#define CLTOMA_SESSION_COMMAND              526
#define CLTOMA_MEMORY_INFO                  528
#define CLTOAN_MODULE_INFO                  530
#define CLTOMA_LIST_OPEN_FILES              532
#define CLTOMA_LIST_ACQUIRED_LOCKS          534
#define CLTOMA_MASS_RESOLVE_PATHS           536
#define CLTOMA_SCLASS_INFO                  542
#define CLTOMA_MISSING_CHUNKS               544
#define CLTOMA_NODE_INFO                    546
#define MATOCL_NODE_INFO                    547

/* ---- Background and unsolicited messages (2.5, 7.2-7.4) ----------------- */
#define CLTOMA_FUSE_SUSTAINED_INODES        700  /* no msgid, no reply */
#define CLTOMA_FUSE_AMTIME_INODES           701  /* no msgid, no reply */
#define MATOCL_FUSE_CHUNK_HAS_CHANGED       702  /* unsolicited, msgid 0 */
#define MATOCL_FUSE_FLENG_HAS_CHANGED       703  /* unsolicited, msgid 0 */
#define CLTOMA_FUSE_TIME_SYNC               704
#define MATOCL_FUSE_TIME_SYNC               705
#define MATOCL_FUSE_INVALIDATE_CHUNK_CACHE  706  /* unsolicited, msgid 0 */

/* ---- Versions (3) -------------------------------------------------------- */
/* major:16 mid:8 minor2:8 with minor2 = 2 * minor (major > 1). */
#define MFS_VERSION_ENCODE(maj, mid, min) \
	((uint32_t)(maj) << 16 | (uint32_t)(mid) << 8 | (uint32_t)(min) * 2u)
#define MFS_VERSION              0x000300EAu   /* 3.0.117: we announce this */
#define MFS_VERSION_STRING       "3.0.117-1"   /* ANTOAN_VERSION text */
#define MFS_VERSION_3_0_11       0x00030016u   /* metaid in RECONNECT, 27-byte meta reply */
#define MFS_VERSION_3_0_74       0x00030094u   /* CHUNK/FLENG_HAS_CHANGED */
#define MFS_VERSION_3_0_93       0x000300BAu   /* 36-byte ATTR, winattr */
#define MFS_VERSION_3_0_95       0x000300BEu   /* 5-byte RECONNECT reply */
#define MFS_VERSION_3_0_100      0x000300C8u   /* INVALIDATE_CHUNK_CACHE */
#define MFS_VERSION_3_0_102      0x000300CCu   /* 48-byte STATFS reply */
#define MFS_VERSION_3_0_107      0x000300D6u   /* 8-byte UNLINK/RMDIR reply */
#define MFS_VERSION_3_0_112      0x000300E0u   /* 49-byte NEWSESSION reply */
#define MFS_VERSION_3_0_113      0x000300E2u   /* oflags, TRUNCATE prevlength */

/* ---- Framing and size limits (2.2, 2.6) --------------------------------- */
#define MFS_FRAME_HEADER_SIZE    8
#define MFS_FRAME_MAX            50000000u     /* longest accepted payload */
#define MFS_NAME_MAX             255           /* directory entry name */
#define MFS_SYMLINK_MAX          4096          /* target, without NUL */
#define MFS_XATTR_NAME_MAX       255
#define MFS_XATTR_VALUE_MAX      65536
#define MFS_XATTR_LIST_MAX       65536
#define MFS_CS_LIST_MAX          100           /* chunkservers per location reply */
#define MFS_READDIR_REPLY_MAX    0xFFFF0000u   /* stock answers ERANGE at this size */
#define MFS_TRASH_NAME_MAX       240           /* GETTRASH/GETSUSTAINED names (10.5) */

/* ---- Inodes --------------------------------------------------------------- */
#define MFS_ROOT_INODE           1u
#define MFS_INODE_RESERVED_MIN   0x7FFFFFF0u   /* mfsmount's virtual files; never allocate */
#define MFS_NOGROUP              0xFFFFFFFFu   /* the gid a client without groups sends */

/* ---- REGISTER (4) --------------------------------------------------------- */
#define MFS_REGISTER_BLOB \
	"DjI1GAQDULI5d2YjA26ypc3ovkhjvhciTQVx3CS4nYgtBoUcsljiVpsErJENHaw0"
#define MFS_REGISTER_BLOB_LEN    64
#define MFS_REGISTER_GETRANDOM        1
#define MFS_REGISTER_NEWSESSION       2
#define MFS_REGISTER_RECONNECT        3
#define MFS_REGISTER_TOOLS            4
#define MFS_REGISTER_NEWMETASESSION   5
#define MFS_REGISTER_CLOSESESSION     6
#define MFS_REGISTER_RANDOM_LEN       32
#define MFS_REGISTER_PASSCODE_LEN     16
/* Reply payload lengths; the client tells the variants apart by length. */
#define MFS_REGISTER_REPLY_STATUS     1
#define MFS_REGISTER_REPLY_REDIRECT   4
#define MFS_REGISTER_REPLY_RECONNECT  5
#define MFS_REGISTER_REPLY_META       27
#define MFS_REGISTER_REPLY_RANDOM     32
#define MFS_REGISTER_REPLY_SESSION    49

/* sesflags (4.7.1) */
#define MFS_SESFLAG_READONLY     0x01
#define MFS_SESFLAG_DYNAMICIP    0x02
#define MFS_SESFLAG_IGNOREGID    0x04
#define MFS_SESFLAG_ADMIN        0x08
#define MFS_SESFLAG_MAPALL       0x10
#define MFS_SESFLAG_ATTRBIT      0x40          /* internal, never sent */
#define MFS_SESFLAG_METARESTORE  0x80          /* internal, never sent */

/* disables bits (4.7.2): bit number -> operation refused with EPERM */
#define MFS_DISABLE_CHOWN        (1u << 0)
#define MFS_DISABLE_CHMOD        (1u << 1)
#define MFS_DISABLE_SYMLINK      (1u << 2)
#define MFS_DISABLE_MKFIFO       (1u << 3)
#define MFS_DISABLE_MKDEV        (1u << 4)
#define MFS_DISABLE_MKSOCK       (1u << 5)
#define MFS_DISABLE_MKDIR        (1u << 6)
#define MFS_DISABLE_UNLINK       (1u << 7)
#define MFS_DISABLE_RMDIR        (1u << 8)
#define MFS_DISABLE_RENAME       (1u << 9)
#define MFS_DISABLE_MOVE         (1u << 10)
#define MFS_DISABLE_LINK         (1u << 11)
#define MFS_DISABLE_CREATE       (1u << 12)
#define MFS_DISABLE_READDIR      (1u << 13)
#define MFS_DISABLE_READ         (1u << 14)
#define MFS_DISABLE_WRITE        (1u << 15)
#define MFS_DISABLE_TRUNCATE     (1u << 16)
#define MFS_DISABLE_SETLENGTH    (1u << 17)
#define MFS_DISABLE_APPENDCHUNKS (1u << 18)
#define MFS_DISABLE_SNAPSHOT     (1u << 19)
#define MFS_DISABLE_SETTRASH     (1u << 20)
#define MFS_DISABLE_SETSCLASS    (1u << 21)
#define MFS_DISABLE_SETEATTR     (1u << 22)
#define MFS_DISABLE_SETXATTR     (1u << 23)
#define MFS_DISABLE_SETFACL      (1u << 24)

/* ---- ACCESS modemask (8.2) and access bitmap (11.4) ---------------------- */
#define MFS_MODE_MASK_R          4
#define MFS_MODE_MASK_W          2
#define MFS_MODE_MASK_X          1

/* ---- LOOKUP lflags (8.3) ------------------------------------------------- */
#define MFS_LOOKUP_ACCESS_MASK       0x00FF
#define MFS_LOOKUP_CHUNK_ZERO_DATA   0x0100
#define MFS_LOOKUP_RO_FILESYSTEM     0x0200
#define MFS_LOOKUP_KEEPCACHE         0x0400
#define MFS_LOOKUP_IMMUTABLE         0x0800
#define MFS_LOOKUP_DIRECTMODE        0x1000
#define MFS_LOOKUP_APPENDONLY        0x2000
#define MFS_LOOKUP_IMMUTABLE_MASK    0xFF33   /* AND-ed into lflags of immutable nodes */

/* ---- SETATTR (8.5) --------------------------------------------------------- */
#define MFS_SET_WINATTR_FLAG     0x01
#define MFS_SET_MODE_FLAG        0x02
#define MFS_SET_UID_FLAG         0x04
#define MFS_SET_GID_FLAG         0x08
#define MFS_SET_MTIME_NOW_FLAG   0x10
#define MFS_SET_MTIME_FLAG       0x20
#define MFS_SET_ATIME_FLAG       0x40
#define MFS_SET_ATIME_NOW_FLAG   0x80

#define MFS_SUGID_CLEAR_MODE_NEVER   0
#define MFS_SUGID_CLEAR_MODE_ALWAYS  1
#define MFS_SUGID_CLEAR_MODE_OSX     2
#define MFS_SUGID_CLEAR_MODE_BSD     3
#define MFS_SUGID_CLEAR_MODE_EXT     4
#define MFS_SUGID_CLEAR_MODE_XFS     5

/* ---- READDIR (8.13) -------------------------------------------------------- */
#define MFS_GETDIR_FLAG_WITHATTR     0x01
#define MFS_GETDIR_FLAG_ADDTOCACHE   0x02

/* ---- OPEN request flags and OPEN/CREATE reply oflags (9.1, 9.2) ---------- */
#define MFS_OPEN_READ            0x01
#define MFS_OPEN_WRITE           0x02
#define MFS_OPEN_AFTER_CREATE    0x04   /* skip permission and truncate handling */
#define MFS_OPEN_TRUNCATE        0x08
#define MFS_OPEN_CACHE_CLEARED   0x10

#define MFS_OFLAG_KEEPCACHE      0x01
#define MFS_OFLAG_DIRECTMODE     0x02
#define MFS_OFLAG_APPENDONLY     0x04

/* ---- Chunks (9.3-9.6, 13) ------------------------------------------------- */
#define MFS_CHUNK_BITS           26
#define MFS_CHUNK_SIZE           (1u << MFS_CHUNK_BITS)   /* 64 MiB */
#define MFS_CHUNK_INDEX_MAX      0x7FFFFFFFu
#define MFS_CHUNK_PROTOCOL_ID    2                         /* 14-byte cs entries */
#define MFS_CS_ENTRY_SIZE        14

#define MFS_CHUNKOP_CANMODTIME          0x01
#define MFS_CHUNKOP_CONTINUEOP          0x02
#define MFS_CHUNKOP_CANUSERESERVESPACE  0x04

/* ---- TRUNCATE flags (9.7) ------------------------------------------------- */
#define MFS_TRUNCATE_FLAG_OPENED   0x01
#define MFS_TRUNCATE_FLAG_UPDATE   0x02
#define MFS_TRUNCATE_FLAG_TIMEFIX  0x04
#define MFS_TRUNCATE_FLAG_RESERVE  0x08

/* ---- Locks (9.8, 9.9) ------------------------------------------------------ */
#define MFS_FLOCK_UNLOCK           0
#define MFS_FLOCK_TRY_SHARED       1
#define MFS_FLOCK_LOCK_SHARED      2
#define MFS_FLOCK_TRY_EXCLUSIVE    3
#define MFS_FLOCK_LOCK_EXCLUSIVE   4
#define MFS_FLOCK_INTERRUPT        5
#define MFS_FLOCK_RELEASE          6

#define MFS_POSIX_LOCK_CMD_GET     0
#define MFS_POSIX_LOCK_CMD_SET     1
#define MFS_POSIX_LOCK_CMD_TRY     2
#define MFS_POSIX_LOCK_CMD_INT     3
#define MFS_POSIX_LOCK_UNLCK       0
#define MFS_POSIX_LOCK_RDLCK       1
#define MFS_POSIX_LOCK_WRLCK       2
#define MFS_POSIX_LOCK_EOF         0xFFFFFFFFFFFFFFFFull

/* ---- xattr and ACL (10.1-10.3) -------------------------------------------- */
#define MFS_XATTR_GMODE_GET_DATA      0
#define MFS_XATTR_GMODE_LENGTH_ONLY   1
#define MFS_XATTR_SMODE_CREATE_OR_REPLACE 0
#define MFS_XATTR_SMODE_CREATE_ONLY   1
#define MFS_XATTR_SMODE_REPLACE_ONLY  2
#define MFS_XATTR_SMODE_REMOVE        3

#define MFS_ACL_ACCESS           1
#define MFS_ACL_DEFAULT          2
#define MFS_ACL_NO_MASK          0xFFFF   /* maskperm when there is no mask entry */

/* ---- Tool messages (10.4) ------------------------------------------------- */
#define MFS_GMODE_NORMAL         0
#define MFS_GMODE_RECURSIVE      1
#define MFS_SMODE_SET            0
#define MFS_SMODE_INCREASE       1
#define MFS_SMODE_DECREASE       2
#define MFS_SMODE_EXCHANGE       3
#define MFS_SMODE_TMASK          3
#define MFS_SMODE_RMASK          0x04     /* recursive */
#define MFS_SCLASS_NAMED_GOAL    0xFF     /* goal byte announcing a named class */

#define MFS_EATTR_NOOWNER        0x01
#define MFS_EATTR_NOACACHE       0x02
#define MFS_EATTR_NOECACHE       0x04
#define MFS_EATTR_NODATACACHE    0x08
#define MFS_EATTR_SNAPSHOT       0x10
#define MFS_EATTR_UNDELETABLE    0x20
#define MFS_EATTR_APPENDONLY     0x40
#define MFS_EATTR_IMMUTABLE      0x80

#define MFS_ARCHCTL_CLEAR        0
#define MFS_ARCHCTL_SET          1
#define MFS_ARCHCTL_GET          2

/* ---- Meta mount (10.5) ---------------------------------------------------- */
#define MFS_TRASH_BUCKETS        4096
#define MFS_SUSTAINED_BUCKETS    256
#define MFS_GETTRASH_ALL         0xFFFFFFFFu   /* trashid when absent (>= 4096 = all) */
#define MFS_DTYPE_ANY            0
#define MFS_DTYPE_TRASH          1
#define MFS_DTYPE_SUSTAINED      2

/* ---- ATTR record (11.1) ---------------------------------------------------- */
#define MFS_ATTR_SIZE            36
#define MFS_ATTR_FLAG_NOACACHE       0x01
#define MFS_ATTR_FLAG_NOECACHE       0x02
#define MFS_ATTR_FLAG_ALLOWDATACACHE 0x04
#define MFS_ATTR_FLAG_NOXATTR        0x08
#define MFS_ATTR_FLAG_DIRECTMODE     0x10
#define MFS_ATTR_FLAG_UNDELETABLE    0x20

/* ---- Node types (11.3) ---------------------------------------------------- */
#define MFS_TYPE_FILE            1
#define MFS_TYPE_DIRECTORY       2
#define MFS_TYPE_SYMLINK         3
#define MFS_TYPE_FIFO            4
#define MFS_TYPE_BLOCKDEV        5
#define MFS_TYPE_CHARDEV         6
#define MFS_TYPE_SOCKET          7
#define MFS_TYPE_TRASH           8   /* internal; reported as a file */
#define MFS_TYPE_SUSTAINED       9   /* internal; reported as a file */

#endif
