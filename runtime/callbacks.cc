// callbacks.cc: see callbacks.h. Dynamic objects have no callbacks.
#include "callbacks.h"

namespace uklp::rt {

int klp_pre_patch_callback(Object* obj) {
  if (!obj->ko) return 0;
  klp_callbacks& cb = obj->ko->callbacks;
  int ret = cb.pre_patch ? cb.pre_patch(obj->ko) : 0;
  cb.post_unpatch_enabled = ret == 0;
  return ret;
}

void klp_post_patch_callback(Object* obj) {
  if (obj->ko && obj->ko->callbacks.post_patch) obj->ko->callbacks.post_patch(obj->ko);
}

void klp_pre_unpatch_callback(Object* obj) {
  if (obj->ko && obj->ko->callbacks.pre_unpatch) obj->ko->callbacks.pre_unpatch(obj->ko);
}

void klp_post_unpatch_callback(Object* obj) {
  if (!obj->ko) return;
  klp_callbacks& cb = obj->ko->callbacks;
  if (cb.post_unpatch_enabled && cb.post_unpatch) cb.post_unpatch(obj->ko);
  cb.post_unpatch_enabled = false;
}

}  // namespace uklp::rt
