// Master: what it publishes on its event bus (events/events.hpp). Events are
// built only while someone listens.

#include "master/master.hpp"

namespace agora::master {

void Master::setTaskStatus(Task& task, const TaskStatus& status) {
  state_.tasks.setStatus(task, status);
  if (!bus_.active()) return;
  events::TaskStateChanged e;
  e.frameworkId = task.frameworkId.get();
  e.taskId = task.id;
  e.name = task.name;
  e.agentId = task.agentId.get();
  e.state = task.state;
  e.reason = task.reason;
  e.source = task.source;
  e.message = task.message.get();
  e.healthy = task.healthy;
  e.containerId = task.containerId;
  e.exitCode = task.exitCode;
  e.timestamp = task.timestamp;
  e.resources = task.resources.get();
  bus_.publish(std::move(e));
}

void Master::publishAgent(const Agent& agent, events::AgentChanged::Kind kind,
                          const std::string& reason) {
  if (!bus_.active()) return;
  bus_.publish(events::AgentChanged{kind, agent.id, agent.hostname, agent.url, agent.total,
                                    agent.attributes, reason});
}

void Master::publishFramework(const Framework& framework, events::FrameworkChanged::Kind kind,
                              const std::string& reason) {
  if (!bus_.active()) return;
  bus_.publish(events::FrameworkChanged{kind, framework.info.id, framework.info.name,
                                        framework.info.roles, framework.info.user, reason});
}

void Master::publishReservations(const Agent& agent) {
  if (!bus_.active()) return;
  bus_.publish(events::ReservationChanged{agent.id, agent.dynamic, agent.volumes});
}

}  // namespace agora::master
