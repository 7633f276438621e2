#ifndef MODELGATE_CPROTOBUFC_SHIM_H
#define MODELGATE_CPROTOBUFC_SHIM_H
// protobuf-c's runtime API. ModelGateWire is its only user.
#include <protobuf-c/protobuf-c.h>
#endif
