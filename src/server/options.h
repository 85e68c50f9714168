/* server/options.h - the keys mdsd.cfg accepts.
 *
 * mdsd reads mfsmaster.cfg's keys with mfsmaster's names, defaults and
 * meaning where they apply, so an operator can start from the config they
 * already have; keys of mds's own are prefixed MDS_. docs/config.md lists
 * them (generated from this table by `mdsd -h`).
 */
#ifndef MDS_SERVER_OPTIONS_H
#define MDS_SERVER_OPTIONS_H

#include "base/config.h"

extern const struct cfg_key mdsd_options[];

#define MDSD_DEFAULT_CONFIG "/etc/mfs/mdsd.cfg"

#endif
