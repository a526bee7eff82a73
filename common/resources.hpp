#pragma once
// Resource vectors: named scalars (cpus, mem in MB, disk in MB, gpus) and
// named range sets (ports), each either unreserved or reserved for a role.
// Scalars are fixed-point with three decimals, so repeated add/subtract never
// drifts (Mesos learned this the hard way).
//
// Text form: "cpus:4;mem:8192;ports:[31000-32000,33000-33010]"; a reserved
// resource names its role in parentheses: "cpus(eng):2" (static),
// "cpus(eng,dynamic):1" or "cpus(eng,dynamic:ops):1" (dynamic, reserved by
// principal "ops"); "cpus(*):1" is unreserved.
//
// A persistent volume is reserved disk with persistence (DiskPersistence):
// "disk(eng,dynamic)[logs:data:rw]:64" in messages (no text form parses to
// one). Each volume is its own pool, distinct by its whole DiskPersistence,
// and is only ever contained whole (never split). byReservation(),
// flatten() and reservedAs() see a volume as the disk of its reservation.
//
// Reserved and unreserved resources are kept apart: `contains`, `+=` and
// `-=` work per reservation (one role's cpus never satisfy, absorb or cancel
// another's). The name-based readers (scalar, ranges, scalarNames, ...) see
// the flattened sum over every reservation — what shares and quota count.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "schemas/common.capnp.h"

namespace agora {

struct Range {
  uint64_t begin = 0;
  uint64_t end = 0;  // inclusive
  bool operator==(const Range&) const = default;
};

enum class ReservationType { kStatic, kDynamic };

// A reservation for a role other than "*".
struct Reservation {
  std::string role;
  ReservationType type = ReservationType::kStatic;
  std::string principal;  // dynamic only; may be empty
  auto operator<=>(const Reservation&) const = default;
  bool operator==(const Reservation&) const = default;
  // "eng", "eng,dynamic", "eng,dynamic:ops" (the text form's parentheses).
  std::string toString() const;
};

// What makes reserved disk a persistent volume (schema::DiskInfo).
struct DiskPersistence {
  std::string id;         // unique on its agent (validatePersistenceId)
  std::string principal;  // who created it; may be empty
  std::string containerPath;
  bool readOnly = false;
  auto operator<=>(const DiskPersistence&) const = default;
  bool operator==(const DiskPersistence&) const = default;
};

struct PersistentVolume;

// [A-Za-z0-9_.-], 1-128 characters, not "." or "..": usable as a file name.
Status validatePersistenceId(const std::string& id);

class Resources {
 public:
  // Largest scalar accepted (in units, e.g. MB): 2^40.
  static constexpr double kMaxScalar = 1099511627776.0;

  Resources() = default;
  // Role names are validated (common/role_name.hpp).
  static Result<Resources> parse(std::string_view text);
  static Result<Resources> fromCapnp(capnp::List<schema::Resource>::Reader list);

  std::string toString() const;
  // REQUIRES: builder has size() == count().
  void toCapnp(capnp::List<schema::Resource>::Builder builder) const;
  unsigned count() const;

  // Flattened: the amount over every reservation (0 when absent).
  double scalar(const std::string& name) const;
  std::vector<Range> ranges(const std::string& name) const;
  // The unreserved amount only.
  double unreservedScalar(const std::string& name) const;
  // Change the unreserved part.
  Status setScalar(const std::string& name, double value);
  Status addRange(const std::string& name, Range range);

  bool empty() const { return unreserved_.empty() && reserved_.empty(); }
  // True when every resource in `other` is available here under the same reservation.
  bool contains(const Resources& other) const;
  Resources& operator+=(const Resources& other);
  // REQUIRES: contains(other) — otherwise clamps at zero / drops missing ranges.
  Resources& operator-=(const Resources& other);
  Resources operator+(const Resources& other) const;
  Resources operator-(const Resources& other) const;
  bool operator==(const Resources& other) const = default;

  // Names with a non-zero amount in any reservation, canonical order (cpus,
  // gpus, mem, disk, others).
  std::vector<std::string> scalarNames() const;
  std::vector<std::string> rangeNames() const;
  uint64_t rangeCount(const std::string& name) const;

  // Reservations.
  bool hasReservations() const { return !reserved_.empty(); }
  Resources unreserved() const;
  Resources reservedPart() const;
  // Reserved for exactly `role` (any type).
  Resources reservedFor(const std::string& role) const;
  // What a framework in `role` may use: unreserved, plus what is reserved for
  // `role` or one of its ancestors.
  Resources allocatableTo(const std::string& role) const;
  // Everything as unreserved (quota and share accounting).
  Resources flatten() const;
  // Everything reserved as `reservation` (what was reserved before included).
  Resources reservedAs(const Reservation& reservation) const;
  // Roles with a reservation here.
  std::set<std::string> reservationRoles() const;
  // Each reservation with its resources (unreserved excluded; its volumes
  // included).
  std::vector<std::pair<Reservation, Resources>> byReservation() const;

  // Persistent volumes.
  // These resources (only disk, of one reservation) as the volume `disk`.
  Result<Resources> toVolume(const DiskPersistence& disk) const;
  // Only the persistent volumes.
  Resources volumes() const;
  // Every volume as plain disk of its reservation (what DESTROY leaves).
  Resources withoutPersistence() const;
  std::vector<PersistentVolume> volumeList() const;

 private:
  struct Pool {
    std::map<std::string, int64_t> scalars;             // thousandths; zero entries removed
    std::map<std::string, std::vector<Range>> ranges;   // sorted, merged, non-empty
    bool empty() const { return scalars.empty() && ranges.empty(); }
    bool operator==(const Pool&) const = default;
    bool contains(const Pool& other) const;
    void add(const Pool& other);
    void subtract(const Pool& other);
  };
  // A reserved pool: plain (no volume) or one persistent volume.
  struct PoolKey {
    Reservation reservation;
    std::optional<DiskPersistence> volume;
    auto operator<=>(const PoolKey&) const = default;
    bool operator==(const PoolKey&) const = default;
  };
  Pool& pool(const PoolKey* key);
  void dropEmptyPools();
  static Status addEntry(Pool& pool, const std::string& name, schema::Resource::Reader in);

  Pool unreserved_;
  std::map<PoolKey, Pool> reserved_;  // non-empty pools only
};

// One persistent volume of a Resources (volumeList()).
struct PersistentVolume {
  Reservation reservation;
  DiskPersistence disk;
  Resources resources;  // the volume alone
  std::string describe() const { return "volume '" + disk.id + "' of role '" + reservation.role + "'"; }
};

// Normalises ranges: sorted, overlapping or adjacent ones merged.
std::vector<Range> coalesce(std::vector<Range> ranges);
bool isValidResourceName(std::string_view name);

}  // namespace agora
