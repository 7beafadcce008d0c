//===- Tokenizer.h - RWKV World and byte-level tokenizers -------*- C++ -*-===//
//
// The RWKV World tokenizer (vocab "rwkv_vocab_v20230424", see
// ../shared/docs/rwkv-math.md section 10) maps text to token ids by greedy
// longest match over the text's UTF-8 bytes: at each position it takes the
// longest vocab entry that is a prefix of the remaining bytes. Ids 1..256 are
// the single bytes 0x00..0xFF, so every byte string encodes, including
// invalid UTF-8. Id 0 is reserved for end of text and has no bytes.
//
// The byte-level tokenizer has one token per byte: id = byte (the vocabulary
// of rwkv.cpp's tiny test models), or id = byte + 1 with id 0 as end of text
// (the ids of World's single bytes).
//
// A token can end in the middle of a UTF-8 character, so text generated token
// by token goes through a Utf8Stream, which holds incomplete sequences until
// they are completed.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_RUNTIME_TOKENIZER_H
#define RWKV_RUNTIME_TOKENIZER_H

#include "Error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rwkvrt {

/// A vocabulary of byte strings with greedy longest-match encoding. Immutable
/// after construction, so one instance can be shared between threads.
class Tokenizer {
public:
  /// Loads a World vocab file: one token per line, `<id> <literal> <byte
  /// length>`, where the literal is a Python str (UTF-8 encoded) or bytes
  /// literal with Python escapes and is the text between the first and the
  /// last space. A trailing '\r' is ignored. Throws Error with
  /// RWKV_ERROR_IO if the file cannot be read, and RWKV_ERROR_FORMAT, naming
  /// the file and line, for an unparsable line or literal, a byte length that
  /// does not match, an empty token, an id outside 1..kMaxId, a duplicate id
  /// or duplicate token bytes, and (naming the file) when some single byte
  /// has no token.
  static std::unique_ptr<Tokenizer> loadWorld(const std::string &path);

  /// The byte-level tokenizer: id = byte + `offset`. Offset 0 (vocabSize()
  /// 256) is the vocabulary of byte-level models such as rwkv.cpp's tiny
  /// ones; offset 1 (vocabSize() 257) uses World's ids for single bytes and
  /// keeps id 0 for end of text.
  static std::unique_ptr<Tokenizer> bytes(int32_t offset = 0);

  /// Largest id a vocab file may use.
  static constexpr int32_t kMaxId = (1 << 24) - 1;

  /// Greedy longest match over the bytes of `text` (taken as UTF-8, but any
  /// byte string encodes since every single byte is a token).
  std::vector<int32_t> encode(std::string_view text) const;

  /// The bytes of one token; empty for an end-of-text id (World's 0). Throws
  /// Error with RWKV_ERROR_ARGUMENT for an id that is not in the vocab.
  std::string_view tokenBytes(int32_t id) const;

  /// The concatenated bytes of `n` tokens (not necessarily valid UTF-8; see
  /// Utf8Stream). Throws like tokenBytes for an unknown id.
  std::string decode(const int32_t *ids, size_t n) const;
  /// decode() of a whole vector.
  std::string decode(const std::vector<int32_t> &ids) const {
    return decode(ids.data(), ids.size());
  }

  /// Largest id + 1 (65530 for World, 256 or 257 for bytes()).
  int64_t vocabSize() const { return static_cast<int64_t>(offsets_.size()); }

private:
  Tokenizer() = default;
  /// The ids of the non-empty tokens, sorted by their bytes.
  std::vector<int32_t> sortedIds() const;
  /// Builds the trie from sortedIds() (whose tokens must be distinct).
  void buildTrie(const std::vector<int32_t> &sorted);

  /// Token bytes, all concatenated; token `id` is
  /// blob_[offsets_[id], offsets_[id] + lengths_[id]). lengths_[id] < 0 marks
  /// an id that is not in the vocab.
  std::string blob_;
  std::vector<uint32_t> offsets_;
  std::vector<int32_t> lengths_;

  /// A trie node. The children of a node are the contiguous nodes
  /// [first, first + count), sorted by edgeByte_.
  struct Node {
    uint32_t first = 0;
    uint32_t count = 0;
    int32_t token = -1; ///< id of the token ending here, or -1
  };
  std::vector<Node> nodes_;         ///< nodes_[0] is the root
  std::vector<uint8_t> edgeByte_;   ///< the byte leading into each node
  std::vector<uint32_t> rootChild_; ///< root's child per byte, 0 if none
};

/// Turns a stream of bytes (token bytes as they are generated) into printable
/// UTF-8: push() returns only complete, valid UTF-8 and holds back an
/// incomplete trailing sequence until a later push completes it. Ill-formed
/// input becomes U+FFFD, one per maximal ill-formed subpart (the practice the
/// Unicode Standard recommends in section 3.9, and what Python's
/// bytes.decode('utf-8', errors='replace') does), so the concatenated output
/// does not depend on how the bytes are split.
class Utf8Stream {
public:
  /// Appends bytes; returns the text that is complete now.
  std::string push(std::string_view bytes);
  /// Ends the stream: returns U+FFFD if an incomplete sequence is held (else
  /// nothing) and resets the stream for reuse.
  std::string finish();

private:
  char pending_[4] = {};
  uint8_t held_ = 0; ///< bytes in pending_, a valid incomplete prefix
  uint8_t need_ = 0; ///< length of the sequence pending_ starts
};

} // namespace rwkvrt

#endif // RWKV_RUNTIME_TOKENIZER_H
