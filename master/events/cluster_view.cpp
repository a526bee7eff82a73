#include "master/events/cluster_view.hpp"

namespace agora::master::events {

void ClusterView::apply(const Event& event) {
  if (const auto* a = std::get_if<AgentChanged>(&event.body)) {
    if (a->kind == AgentChanged::Kind::kRemoved) {
      agents.erase(a->agentId);
    } else {
      agents[a->agentId] = AgentView{a->hostname, a->kind != AgentChanged::Kind::kUnreachable};
    }
  } else if (const auto* f = std::get_if<FrameworkChanged>(&event.body)) {
    if (f->kind == FrameworkChanged::Kind::kRemoved) {
      frameworks.erase(f->frameworkId);
    } else {
      frameworks[f->frameworkId] =
          FrameworkView{f->name, f->kind != FrameworkChanged::Kind::kDisconnected};
    }
  } else if (const auto* t = std::get_if<TaskStateChanged>(&event.body)) {
    tasks[{t->frameworkId, t->taskId}] = TaskView{t->agentId, t->state};
  } else if (const auto* o = std::get_if<OfferSent>(&event.body)) {
    offers[o->offerId] = OfferView{o->frameworkId, o->agentId};
  } else if (const auto* r = std::get_if<OfferRemoved>(&event.body)) {
    offers.erase(r->offerId);
  }
}

}  // namespace agora::master::events
