/* SPDX-License-Identifier: GPL-2.0 */
/* Human-readable status in debugfs; the ABI is the device, not this. */
#ifndef CLONESCOPE_DEBUGFS_H
#define CLONESCOPE_DEBUGFS_H

void cs_debugfs_init(void);
void cs_debugfs_exit(void);

#endif
