# Leader election payloads stored in ZooKeeper (see common/zk/).
@0xcfe51860c1c9cd62;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("agora::schema");

# The data of each candidate's EPHEMERAL|SEQUENTIAL znode under the election
# path (zk://HOST:PORT/PATH). Written once by the master when it becomes a
# candidate; read by every master (to redirect HTTP to the leader), agent,
# scheduler and CLI to find the leader: the candidate with the lowest sequence
# number. Packed Cap'n Proto, one message per znode.
struct MasterInfo {
  id @0 :Text;            # the master's ID (random per start)
  endpoint @1 :Text;      # ZeroMQ endpoint for agents and schedulers, "tcp://10.0.0.1:5055"
  httpAddress @2 :Text;   # operator HTTP API, "10.0.0.1:5050"
  hostname @3 :Text;
  version @4 :Text;
}
