/* SPDX-License-Identifier: GPL-2.0 */
/* Build-time checks of the uapi layout; nothing runs. */
#ifndef CLONESCOPE_ABI_H
#define CLONESCOPE_ABI_H

#include <linux/init.h>

void __init cs_abi_assert_layout(void);

#endif
