// fuzz_signing.cc: what a signed module and the patch policy bring in from
// outside: the signature block at the end of a module (lib/signature.h,
// read by the runtime before anything else of the module), the key files
// and the policy file (runtime/policy.h), on arbitrary bytes.
//
// Besides "no crash": a block that decodes covers exactly the bytes before
// it and encodes back to the same bytes; a key line that parses formats
// back to one that parses to the same key; a policy that parses names
// only absolute key files.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "policy.h"
#include "signature.h"
#include "fuzz_check.h"

namespace {

namespace sig = uklp::sig;

void block(const uint8_t* data, size_t size) {
  size_t tail = size < sig::kBlockBytes ? size : sig::kBlockBytes;
  auto b = sig::decode_block({data + size - tail, tail}, size);
  if (!b || !*b) return;
  FUZZ_CHECK((*b)->signed_len == size - sig::kBlockBytes);
  std::string again = sig::encode_block(**b);
  FUZZ_CHECK(again.size() == sig::kBlockBytes && memcmp(again.data(), data + size - tail, tail) == 0);
  // A random signature never verifies; checking one must not crash.
  (void)sig::verify_bytes({data, size - sig::kBlockBytes}, **b);
}

void keys(std::string_view text) {
  if (auto p = sig::parse_public_key(text)) {
    auto again = sig::parse_public_key(sig::format_public_key(*p, "comment"));
    FUZZ_CHECK(again && *again == *p);
  }
  if (auto s = sig::parse_secret_key(text)) {
    auto again = sig::parse_secret_key(sig::format_secret_key(*s));
    FUZZ_CHECK(again && *again == *s);
  }
}

void policy(std::string_view text) {
  for (std::string_view exe : {"/usr/sbin/serviced", "serviced", ""}) {
    auto p = uklp::rt::parse_policy(text, "/etc/uklp/policy.conf", exe);
    if (!p) {
      FUZZ_CHECK(p.status().message().starts_with("/etc/uklp/policy.conf:"));
      continue;
    }
    for (const std::string& key : p->trusted_keys) FUZZ_CHECK(!key.empty() && key[0] == '/');
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  block(data, size);
  keys(text);
  policy(text);
  return 0;
}
