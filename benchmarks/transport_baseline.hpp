#pragma once
// The transport's own cost per agent connection, measured apart from any
// master: a child process serves the master<->agent protocol's bare minimum
// over the same ZeroMQ transport (it answers RegisterAgent and pings every
// peer at the master's interval) and nothing else, so the growth of its
// resident set while N simulated agents register is what N connections cost
// on the server side. Set against the real master's growth for the same
// agents, the difference is the master's own state.
//
// Construct it before this process starts any thread or ZeroMQ socket: the
// child is forked in the constructor and waits for start().

#include <sys/types.h>

#include <string>

namespace agora::bench {

class TransportBaseline {
 public:
  TransportBaseline();
  ~TransportBaseline();  // stops and reaps the child
  TransportBaseline(const TransportBaseline&) = delete;
  TransportBaseline& operator=(const TransportBaseline&) = delete;

  // Binds a free loopback port in the child and serves until stop(); pings
  // every `pingIntervalSec`. Returns the endpoint once it is listening.
  std::string start(double pingIntervalSec);
  void stop();
  pid_t pid() const { return child_; }
  int registered() const;

 private:
  struct Shared;
  void runChild();

  Shared* shared_;
  pid_t child_ = -1;
};

}  // namespace agora::bench
