# Scheduler <-> master protocol, Mesos v1 semantics. Schedulers connect a
# DEALER socket to the master's ROUTER and send frames tagged
# "agora.scheduler.v1". Scheduler -> master frames are packed Calls, master ->
# scheduler frames packed Events.
@0xb3f1c2d4e5a60703;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("agora::schema");

using Common = import "common.capnp";

struct Filters {
  refuseSeconds @0 :Float64 = 5.0;
}

struct Operation {
  union {
    launch @0 :List(Common.TaskInfo);
    launchGroup @1 :List(Common.TaskInfo);
    reserve @2 :List(Common.Resource);
    unreserve @3 :List(Common.Resource);
    create @4 :List(Common.Resource);
    destroy @5 :List(Common.Resource);
  }
}

struct TaskRef {
  taskId @0 :Text;
  agentId @1 :Text;
}

# scheduler -> master.
struct Call {
  version @0 :UInt32;
  frameworkId @1 :Text;           # empty only in the first SUBSCRIBE
  union {
    # Register (empty framework.id) or fail over (framework.id set).
    subscribe @2 :Common.FrameworkInfo;
    # Use offers: the operations must fit in the sum of the offers, which must
    # all be for one agent. Unused resources are filtered for refuseSeconds.
    accept :group {
      offerIds @3 :List(Text);
      operations @4 :List(Operation);
      filters @5 :Filters;
    }
    # Refuse offers; their resources are not offered again to this framework
    # for filters.refuseSeconds.
    decline :group {
      offerIds @6 :List(Text);
      filters @7 :Filters;
    }
    revive @8 :List(Text);        # roles; empty: all roles. Clears filters, unsuppresses.
    suppress @9 :List(Text);      # roles; empty: all roles. Stop sending offers.
    kill @10 :TaskRef;
    acknowledge :group {
      agentId @11 :Text;
      taskId @12 :Text;
      uuid @13 :Data;
    }
    reconcile @14 :List(TaskRef); # empty list: implicit reconciliation of all tasks
    message :group {
      agentId @15 :Text;
      data @16 :Data;
    }
    teardown @17 :Void;           # kill every task and remove the framework
    heartbeat @18 :Void;          # liveness; the master drops silent schedulers
  }
}

# master -> scheduler.
struct Event {
  version @0 :UInt32;
  union {
    subscribed :group {
      frameworkId @1 :Text;
      heartbeatIntervalSec @2 :Float64;
      masterId @3 :Text;
    }
    offers @4 :List(Common.Offer);
    rescind @5 :Text;             # offer ID
    update @6 :Common.TaskStatus;
    failure :group {
      agentId @7 :Text;
      executorId @8 :Text;
      hasStatus @9 :Bool;
      status @10 :Int32;
    }
    error @11 :Text;              # fatal for the framework (e.g. torn down)
    heartbeat @12 :Void;
    inverseOffers @13 :List(Common.Offer);
    message :group {
      agentId @14 :Text;
      data @15 :Data;
    }
    notLeader @16 :Common.NotLeader;  # from a standby master: see Common.NotLeader
  }
}
