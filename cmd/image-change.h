/* --change INSTRUCTION (import, commit). */
#ifndef HUTCH_CMD_IMAGE_CHANGE_H
#define HUTCH_CMD_IMAGE_CHANGE_H

#include "lib/error.h"
#include "storage/manifest.h"

/* Applies one "INSTR VALUE" or "INSTR=VALUE" (CMD, ENTRYPOINT, ENV, EXPOSE,
 * LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR) to c. */
int cmd_image_change_apply(struct storage_image_config *c, const char *change, struct hutch_error **err);

#endif
