// Umbrella header of the protoc-c output for proto/coop/v1 (generated, committed) and its registry.
#ifndef CCOOPPROTO_H
#define CCOOPPROTO_H

#include <protobuf-c/protobuf-c.h>

#include "coop/v1/catalog.pb-c.h"
#include "coop/v1/health.pb-c.h"
#include "coop/v1/ledger.pb-c.h"
#include "coop/v1/log.pb-c.h"
#include "coop/v1/reflection.pb-c.h"
#include "coop/v1/rpc.pb-c.h"
#include "coop/v1/sync.pb-c.h"
#include "coop_registry.h"

#endif
