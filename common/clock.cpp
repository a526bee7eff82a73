#include "common/clock.hpp"

namespace agora {

double RealClock::wallSeconds() const {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

RealClock& RealClock::instance() {
  static RealClock clock;
  return clock;
}

}  // namespace agora
