// callbacks.h: the per-object callbacks and their gating (kernel core.h).
// post_unpatch runs only if pre_patch ran and succeeded.
#pragma once

#include "core.h"

namespace uklp::rt {

int klp_pre_patch_callback(Object* obj);
void klp_post_patch_callback(Object* obj);
void klp_pre_unpatch_callback(Object* obj);
void klp_post_unpatch_callback(Object* obj);

}  // namespace uklp::rt
