// signature.h: signed patch modules (Ed25519, libsodium).
//
// A signed module is the module's bytes followed by a signature block, as
// the kernel appends one to a signed .ko; the dynamic loader ignores bytes
// after the ELF contents, so a signed module loads as it is:
//
//   module bytes                      N bytes, what was signed
//   signature                         64 bytes: Ed25519ph (RFC 8032) over
//                                     kDomain followed by the N bytes
//   public key                        32 bytes: the signer's key
//   signed length                     8 bytes, little-endian: N
//   algorithm                         4 bytes, little-endian: 1
//   block length                      4 bytes, little-endian: kBlockBytes
//   kMagic                            "~uklp signature appended~\n"
//
// The block names the key, so every signed module carries its own
// integrity check: a damaged copy fails verification whichever keys are
// trusted. Whether the key is trusted is the policy's question (runtime
// policy.h). docs/security.md describes the format and the tools.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "result.h"

namespace uklp::sig {

using PublicKey = std::array<uint8_t, 32>;
using SecretKey = std::array<uint8_t, 64>;  // libsodium's: seed, then public key
using Signature = std::array<uint8_t, 64>;

inline constexpr std::string_view kMagic = "~uklp signature appended~\n";
inline constexpr std::string_view kDomain = "uklp patch module signature v1\n";
inline constexpr uint32_t kAlgorithmEd25519ph = 1;
inline constexpr size_t kBlockBytes = 64 + 32 + 8 + 4 + 4 + kMagic.size();

struct Block {
  Signature signature{};
  PublicKey key{};
  uint64_t signed_len = 0;
};

// The block's bytes, to append to the signed module.
std::string encode_block(const Block& b);
// The block ending a file of `file_size` bytes, given its last
// min(kBlockBytes, file_size) bytes: nullopt when the file is not signed
// (no magic), an error when the magic is there but the rest is wrong.
Result<std::optional<Block>> decode_block(std::span<const uint8_t> tail, uint64_t file_size);

// Reads the block at the end of an open file (nullopt: not signed).
Result<std::optional<Block>> read_block(int fd, const std::string& path);
// Checks b.signature over the first b.signed_len bytes of `fd`, read
// again from the file: EKEYREJECTED if they do not match.
Status verify_file(int fd, const std::string& path, const Block& b);
// The same over bytes in memory.
bool verify_bytes(std::span<const uint8_t> module, const Block& b);
// Signs module bytes (tools only: the runtime never holds a secret key).
Block sign_bytes(std::span<const uint8_t> module, const SecretKey& secret);
// A new key pair.
SecretKey generate_key();
PublicKey public_of(const SecretKey& secret);

// "0123456789abcdef": the first 8 bytes of the key's SHA-512, in hex: how
// logs and tools name a key.
std::string key_id(const PublicKey& key);

// Key files are one line of text:
//   uklp-ed25519-public <64 hex digits> [comment]
//   uklp-ed25519-secret <128 hex digits>
std::string format_public_key(const PublicKey& key, std::string_view comment);
std::string format_secret_key(const SecretKey& key);
Result<PublicKey> parse_public_key(std::string_view text);
Result<SecretKey> parse_secret_key(std::string_view text);

}  // namespace uklp::sig
