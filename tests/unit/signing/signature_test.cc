// signature_test.cc: lib/signature.h. The block's encoding and every way a
// block can be wrong, signatures that must and must not verify (each bit
// of a small module flipped in turn), and the key files' parsers.
#include "signature.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace uklp::sig {
namespace {

std::vector<uint8_t> module_bytes(size_t n) {
  std::vector<uint8_t> m(n);
  for (size_t i = 0; i < n; ++i) m[i] = uint8_t(i * 131 + 7);
  return m;
}

std::vector<uint8_t> signed_file(const std::vector<uint8_t>& module, const SecretKey& key) {
  std::string block = encode_block(sign_bytes(module, key));
  std::vector<uint8_t> file = module;
  file.insert(file.end(), block.begin(), block.end());
  return file;
}

Result<std::optional<Block>> decode_file(const std::vector<uint8_t>& file) {
  size_t tail = std::min(file.size(), kBlockBytes);
  return decode_block({file.data() + file.size() - tail, tail}, file.size());
}

TEST(Signature, BlockRoundTrip) {
  SecretKey key = generate_key();
  auto module = module_bytes(1000);
  auto file = signed_file(module, key);
  ASSERT_EQ(file.size(), module.size() + kBlockBytes);
  auto b = decode_file(file);
  ASSERT_TRUE(b) << b.status().message();
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->signed_len, module.size());
  EXPECT_EQ((*b)->key, public_of(key));
  EXPECT_TRUE(verify_bytes(module, **b));
}

TEST(Signature, UnsignedFilesHaveNoBlock) {
  for (size_t n : {0, 1, 25, 26, 137, 138, 4096}) {
    auto b = decode_file(module_bytes(n));
    ASSERT_TRUE(b) << n;
    EXPECT_FALSE(b->has_value()) << n;
  }
}

TEST(Signature, MalformedBlocksAreErrors) {
  SecretKey key = generate_key();
  auto good = signed_file(module_bytes(300), key);
  // Only the magic: cut short.
  std::vector<uint8_t> magic_only(kMagic.begin(), kMagic.end());
  auto b = decode_file(magic_only);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.status().code(), EBADMSG);
  // Each field: the signed length, the algorithm, the block's length.
  for (size_t field : {96u, 104u, 108u}) {
    auto bad = good;
    bad[bad.size() - kBlockBytes + field] ^= 1;
    auto r = decode_file(bad);
    ASSERT_FALSE(r) << field;
    EXPECT_EQ(r.status().code(), EBADMSG) << r.status().message();
  }
  // Bytes inserted before the block: it no longer covers what precedes it.
  auto longer = good;
  longer.insert(longer.begin(), 0);
  EXPECT_FALSE(decode_file(longer));
}

TEST(Signature, EveryFlippedBitIsCaught) {
  SecretKey key = generate_key();
  auto module = module_bytes(64);
  Block b = sign_bytes(module, key);
  for (size_t bit = 0; bit < module.size() * 8; ++bit) {
    auto bad = module;
    bad[bit / 8] ^= uint8_t(1 << (bit % 8));
    EXPECT_FALSE(verify_bytes(bad, b)) << "bit " << bit;
  }
  for (size_t bit = 0; bit < b.signature.size() * 8; bit += 7) {
    Block bad = b;
    bad.signature[bit / 8] ^= uint8_t(1 << (bit % 8));
    EXPECT_FALSE(verify_bytes(module, bad)) << "signature bit " << bit;
  }
  Block other = b;
  other.key = public_of(generate_key());
  EXPECT_FALSE(verify_bytes(module, other)) << "another key";
  auto shorter = module;
  shorter.pop_back();
  EXPECT_FALSE(verify_bytes(shorter, b));
}

TEST(Signature, VerifyFileReadsTheFile) {
  SecretKey key = generate_key();
  auto module = module_bytes(200000);  // more than one read
  auto file = signed_file(module, key);
  int fd = memfd_create("signed", 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, file.data(), file.size()), ssize_t(file.size()));
  auto b = read_block(fd, "signed");
  ASSERT_TRUE(b && b->has_value());
  EXPECT_TRUE(verify_file(fd, "signed", **b));
  uint8_t flipped = file[123456] ^ 0x40;
  ASSERT_EQ(pwrite(fd, &flipped, 1, 123456), 1);
  Status s = verify_file(fd, "signed", **b);
  EXPECT_EQ(s.code(), EKEYREJECTED);
  EXPECT_NE(s.message().find("does not match its contents"), std::string::npos) << s.message();
  close(fd);
}

TEST(Signature, KeyFiles) {
  SecretKey key = generate_key();
  PublicKey pub = public_of(key);
  auto p = parse_public_key(format_public_key(pub, "ops team"));
  ASSERT_TRUE(p) << p.status().message();
  EXPECT_EQ(*p, pub);
  auto s = parse_secret_key(format_secret_key(key));
  ASSERT_TRUE(s) << s.status().message();
  EXPECT_EQ(*s, key);
  EXPECT_EQ(key_id(pub).size(), 16u);
  EXPECT_NE(key_id(pub), key_id(public_of(generate_key())));

  std::string line = format_public_key(pub, "");
  for (std::string bad : {std::string(""), std::string("uklp-ed25519-public"), line.substr(0, 40),
                          "uklp-ed25519-secret" + line.substr(19), line + line,
                          "uklp-ed25519-public " + std::string(63, 'a') + "g\n"}) {
    auto r = parse_public_key(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.status().code(), EINVAL);
  }
  // A secret key whose public half is not its seed's.
  std::string secret = format_secret_key(key);
  secret[20 + 64 + 5] = secret[20 + 64 + 5] == '0' ? '1' : '0';
  auto r = parse_secret_key(secret);
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("does not belong to its seed"), std::string::npos);
}

}  // namespace
}  // namespace uklp::sig
