/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The clone path tracer: probes on kernel_clone, copy_process and its
 * landmarks, the clone path's tracepoints and the child's first run,
 * assembled into one CLONESCOPE_RECORD_CLONE per clone (and aggregated,
 * when the session asks).
 */
#ifndef CLONESCOPE_CLONE_H
#define CLONESCOPE_CLONE_H

#include "session.h"

extern struct cs_tracer cs_clone_tracer;

#endif
