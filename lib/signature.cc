// signature.cc: see signature.h.
#include "signature.h"

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "elf_file.h"

namespace uklp::sig {
namespace {

constexpr std::string_view kPublicTag = "uklp-ed25519-public";
constexpr std::string_view kSecretTag = "uklp-ed25519-secret";

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}

uint64_t get_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void ensure_sodium() {
  // Idempotent and thread-safe; failing means no usable random source,
  // which only key generation needs.
  if (sodium_init() < 0) return;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "TAG HEX [rest]": the bytes of HEX, exactly out.size() of them.
Status parse_key_line(std::string_view text, std::string_view tag, std::span<uint8_t> out) {
  std::string_view what = tag == kPublicTag ? "public" : "secret";
  auto bad = [&](const std::string& why) {
    return error(EINVAL, "not a uklp " + std::string(what) + " key (" + why + "; expected '" + std::string(tag) +
                             " <" + std::to_string(out.size() * 2) + " hex digits>')");
  };
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.find('\n') != std::string_view::npos) return bad("more than one line");
  if (text.substr(0, tag.size()) != tag || text.size() <= tag.size() || text[tag.size()] != ' ')
    return bad("it does not start with '" + std::string(tag) + " '");
  std::string_view hex = text.substr(tag.size() + 1);
  size_t end = hex.find(' ');
  if (end != std::string_view::npos) hex = hex.substr(0, end);
  if (hex.size() != out.size() * 2) return bad(std::to_string(hex.size()) + " hex digits");
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return bad("a character that is not a hex digit");
    out[i] = uint8_t(hi << 4 | lo);
  }
  return Status::ok();
}

void start(crypto_sign_state* st) {
  ensure_sodium();
  crypto_sign_init(st);
  crypto_sign_update(st, reinterpret_cast<const unsigned char*>(kDomain.data()), kDomain.size());
}

}  // namespace

std::string encode_block(const Block& b) {
  std::string out(reinterpret_cast<const char*>(b.signature.data()), b.signature.size());
  out.append(reinterpret_cast<const char*>(b.key.data()), b.key.size());
  put_le(out, b.signed_len, 8);
  put_le(out, kAlgorithmEd25519ph, 4);
  put_le(out, kBlockBytes, 4);
  out.append(kMagic);
  return out;
}

Result<std::optional<Block>> decode_block(std::span<const uint8_t> tail, uint64_t file_size) {
  if (tail.size() < kMagic.size() ||
      memcmp(tail.data() + tail.size() - kMagic.size(), kMagic.data(), kMagic.size()) != 0)
    return std::optional<Block>();
  if (tail.size() < kBlockBytes || file_size < kBlockBytes)
    return error(EBADMSG, "the signature block is cut short");
  const uint8_t* p = tail.data() + tail.size() - kBlockBytes;
  Block b;
  memcpy(b.signature.data(), p, 64);
  memcpy(b.key.data(), p + 64, 32);
  b.signed_len = get_le(p + 96, 8);
  uint64_t algorithm = get_le(p + 104, 4), length = get_le(p + 108, 4);
  if (algorithm != kAlgorithmEd25519ph)
    return error(EBADMSG, "the signature block names an unknown algorithm (" + std::to_string(algorithm) + ")");
  if (length != kBlockBytes)
    return error(EBADMSG, "the signature block has a wrong length (" + std::to_string(length) + ")");
  if (b.signed_len != file_size - kBlockBytes)
    return error(EBADMSG, "the signature covers " + std::to_string(b.signed_len) + " bytes, but " +
                              std::to_string(file_size - kBlockBytes) + " precede it");
  return std::optional<Block>(b);
}

Result<std::optional<Block>> read_block(int fd, const std::string& path) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return error(errno, "cannot read '" + path + "'");
  uint64_t size = uint64_t(st.st_size);
  uint8_t tail[kBlockBytes];
  size_t want = size < kBlockBytes ? size_t(size) : kBlockBytes;
  ssize_t n = pread(fd, tail, want, off_t(size - want));
  if (n != ssize_t(want)) return error(n < 0 ? errno : EIO, "cannot read the end of '" + path + "'");
  auto b = decode_block({tail, want}, size);
  if (!b) return error(b.status().code(), "'" + path + "': " + b.status().message());
  return b;
}

Status verify_file(int fd, const std::string& path, const Block& b) {
  crypto_sign_state st;
  start(&st);
  std::vector<uint8_t> buf(64 * 1024);
  uint64_t done = 0;
  while (done < b.signed_len) {
    size_t want = size_t(std::min<uint64_t>(buf.size(), b.signed_len - done));
    ssize_t n = pread(fd, buf.data(), want, off_t(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return error(n < 0 ? errno : EIO, "cannot read '" + path + "' to check its signature");
    crypto_sign_update(&st, buf.data(), size_t(n));
    done += uint64_t(n);
  }
  Signature s = b.signature;
  if (crypto_sign_final_verify(&st, s.data(), b.key.data()) != 0)
    return error(EKEYREJECTED, "the signature of '" + path + "' does not match its contents (key " + key_id(b.key) +
                                   "): the file was changed or damaged after it was signed");
  return Status::ok();
}

bool verify_bytes(std::span<const uint8_t> module, const Block& b) {
  if (b.signed_len != module.size()) return false;
  crypto_sign_state st;
  start(&st);
  crypto_sign_update(&st, module.data(), module.size());
  Signature s = b.signature;
  return crypto_sign_final_verify(&st, s.data(), b.key.data()) == 0;
}

Block sign_bytes(std::span<const uint8_t> module, const SecretKey& secret) {
  crypto_sign_state st;
  start(&st);
  crypto_sign_update(&st, module.data(), module.size());
  Block b;
  crypto_sign_final_create(&st, b.signature.data(), nullptr, secret.data());
  b.key = public_of(secret);
  b.signed_len = module.size();
  return b;
}

SecretKey generate_key() {
  ensure_sodium();
  SecretKey secret;
  PublicKey pub;
  crypto_sign_keypair(pub.data(), secret.data());
  return secret;
}

PublicKey public_of(const SecretKey& secret) {
  PublicKey pub;
  crypto_sign_ed25519_sk_to_pk(pub.data(), secret.data());
  return pub;
}

std::string key_id(const PublicKey& key) {
  uint8_t digest[crypto_hash_sha512_BYTES];
  crypto_hash_sha512(digest, key.data(), key.size());
  return elf::to_hex({digest, 8});
}

std::string format_public_key(const PublicKey& key, std::string_view comment) {
  std::string line = std::string(kPublicTag) + " " + elf::to_hex(key);
  if (!comment.empty()) line += " " + std::string(comment);
  return line + "\n";
}

std::string format_secret_key(const SecretKey& key) { return std::string(kSecretTag) + " " + elf::to_hex(key) + "\n"; }

Result<PublicKey> parse_public_key(std::string_view text) {
  PublicKey key;
  UKLP_TRY(parse_key_line(text, kPublicTag, key));
  return key;
}

Result<SecretKey> parse_secret_key(std::string_view text) {
  SecretKey key;
  UKLP_TRY(parse_key_line(text, kSecretTag, key));
  // The second half is the public key; a damaged file must not sign with
  // a key that does not match what it claims.
  PublicKey derived;
  uint8_t seed[32];
  memcpy(seed, key.data(), 32);
  uint8_t sk[64];
  crypto_sign_seed_keypair(derived.data(), sk, seed);
  sodium_memzero(seed, sizeof seed);
  sodium_memzero(sk, sizeof sk);
  if (memcmp(derived.data(), key.data() + 32, 32) != 0)
    return error(EINVAL, "not a uklp secret key (its public half does not belong to its seed)");
  return key;
}

}  // namespace uklp::sig
