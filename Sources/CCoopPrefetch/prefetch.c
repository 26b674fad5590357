// CCoopPrefetch is header-only (`coop_prefetch` is inlined into its Swift callers); SwiftPM wants one source file.
#include "CCoopPrefetch.h"
