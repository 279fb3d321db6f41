// System-library shim for protobuf-c (Debian: libprotobuf-c-dev, pkg-config: libprotobuf-c).
#ifndef DQC_CPROTOBUFC_SHIM_H
#define DQC_CPROTOBUFC_SHIM_H

#include <protobuf-c/protobuf-c.h>

#endif
