#include "frameworks/kit/election.hpp"

#include <unistd.h>

#include "common/zk/election.hpp"
#include "common/zk/zk_url.hpp"

namespace agora::kit {

Result<std::unique_ptr<Election>> Election::create(EventLoop& loop, Options options) {
  auto url = zk::parseZkUrl(options.zkUrl);
  if (!url) return makeError(url.error());
  if (options.httpAddress.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "an instance needs its HTTP address");
  }
  auto session = zk::ZkSession::create(loop, {url->servers, options.sessionTimeout});
  if (!session) return makeError(session.error());
  std::unique_ptr<Election> election(new Election());
  election->session_ = std::move(*session);
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  // The election record: the instance's API is where it is reached.
  zk::MasterInfo self{options.instanceId, options.httpAddress, options.httpAddress, host, ""};
  election->contender_ = std::make_unique<zk::LeaderContender>(*election->session_, url->path,
                                                               zk::encodeMasterInfo(self));
  election->detector_ = std::make_unique<zk::LeaderDetector>(*election->session_, url->path);
  election->path_ = url->path;
  return election;
}

void Election::start(std::function<void()> onElected,
                     std::function<void(const std::string&)> onLost,
                     std::function<void(const std::optional<std::string>&)> onLeader) {
  detector_->start([onLeader = std::move(onLeader)](const std::optional<zk::MasterInfo>& leader) {
    if (!onLeader) return;
    onLeader(leader ? std::optional<std::string>(leader->httpAddress) : std::nullopt);
  });
  contender_->start(std::move(onElected), std::move(onLost));
}

std::optional<std::string> Election::leaderHttp() const {
  const auto& leader = detector_->leader();
  if (!leader) return std::nullopt;
  return leader->httpAddress;
}

std::optional<std::string> Election::leaderId() const {
  const auto& leader = detector_->leader();
  if (!leader) return std::nullopt;
  return leader->id;
}

std::string Election::nodePath() const {
  const std::string& node = contender_->node();
  return node.empty() ? std::string() : path_ + "/" + node;
}

}  // namespace agora::kit
