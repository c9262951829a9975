#pragma once

// The file store module, a header per step of a run: the referenced-file
// list, the quick check and the rsync that mirror the live store, the check
// of the referenced files, and the prune.
#include "odbox/core/filestore/check.hpp"
#include "odbox/core/filestore/mirror_listing.hpp"
#include "odbox/core/filestore/prune.hpp"
#include "odbox/core/filestore/quick_check.hpp"
#include "odbox/core/filestore/references.hpp"
#include "odbox/core/filestore/rsync_mirror.hpp"
