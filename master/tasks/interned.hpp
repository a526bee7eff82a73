#pragma once
// Values many task records share (framework, agent and role IDs, status
// messages, sandbox roots, resource vectors), stored once per distinct value.
// A Ref is one pointer; copies share the entry, which is freed with its last
// Ref. Not thread-safe: the master's loop thread only. A pool must outlive
// every Ref it handed out.

#include <glog/logging.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "common/resources.hpp"

namespace agora::master {

// Hash of a value as the pool keys it. Equal values hash equal.
inline size_t internHash(const std::string& value) {
  return std::hash<std::string_view>{}(value);
}
inline size_t internHash(const Resources& value) {
  return std::hash<std::string>{}(value.toString());
}

// T: default-constructible, equality-comparable, with empty() and an
// internHash() overload. The empty value is not stored: its Ref is null.
template <typename T>
class InternPool {
  struct Entry {
    T value;
    size_t hash;
    uint32_t refs;
    InternPool* pool;
  };

 public:
  class Ref {
   public:
    Ref() = default;
    Ref(const Ref& other) : entry_(other.entry_) {
      if (entry_ != nullptr) ++entry_->refs;
    }
    Ref(Ref&& other) noexcept : entry_(std::exchange(other.entry_, nullptr)) {}
    Ref& operator=(Ref other) noexcept {
      std::swap(entry_, other.entry_);
      return *this;
    }
    ~Ref() { reset(); }

    const T& get() const { return entry_ != nullptr ? entry_->value : emptyValue(); }
    const T& operator*() const { return get(); }
    const T* operator->() const { return &get(); }
    bool empty() const { return entry_ == nullptr; }
    void reset() {
      if (entry_ != nullptr && --entry_->refs == 0) {
        if (entry_->pool != nullptr) {
          entry_->pool->erase(entry_);
        } else {
          delete entry_;  // its pool went first
        }
      }
      entry_ = nullptr;
    }

   private:
    friend class InternPool;
    explicit Ref(Entry* entry) : entry_(entry) { ++entry_->refs; }
    static const T& emptyValue() {
      static const T value{};
      return value;
    }
    Entry* entry_ = nullptr;
  };

  InternPool() = default;
  InternPool(const InternPool&) = delete;
  InternPool& operator=(const InternPool&) = delete;
  ~InternPool() {
    DCHECK(entries_.empty()) << entries_.size() << " interned values outlive their pool";
    for (Entry* entry : entries_) entry->pool = nullptr;
  }

  Ref intern(const T& value) {
    if (value.empty()) return Ref();
    Probe probe{&value, internHash(value)};
    if (auto it = entries_.find(probe); it != entries_.end()) return Ref(*it);
    Entry* entry = new Entry{value, probe.hash, 0, this};
    entries_.insert(entry);
    return Ref(entry);
  }

  // Distinct values held.
  size_t size() const { return entries_.size(); }

 private:
  struct Probe {
    const T* value;
    size_t hash;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(const Entry* entry) const noexcept { return entry->hash; }
    size_t operator()(const Probe& probe) const noexcept { return probe.hash; }
  };
  struct Equal {
    using is_transparent = void;
    bool operator()(const Entry* a, const Entry* b) const { return a == b; }
    bool operator()(const Probe& a, const Entry* b) const {
      return a.hash == b->hash && *a.value == b->value;
    }
    bool operator()(const Entry* a, const Probe& b) const { return (*this)(b, a); }
  };

  void erase(Entry* entry) {
    entries_.erase(entry);
    delete entry;
  }

  std::unordered_set<Entry*, Hash, Equal> entries_;
};

using SharedString = InternPool<std::string>::Ref;
using SharedResources = InternPool<Resources>::Ref;

}  // namespace agora::master
