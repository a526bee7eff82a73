#include "common/zk/leader_lookup.hpp"

#include <optional>

#include "common/event_loop.hpp"
#include "common/zk/leader_detector.hpp"
#include "common/zk/zk_session.hpp"
#include "common/zk/zk_url.hpp"

namespace agora::zk {

Result<MasterInfo> lookupLeader(const std::string& zkUrl, Duration timeout) {
  auto url = parseZkUrl(zkUrl);
  if (!url) return makeError(url.error());
  EventLoop loop;
  auto session = ZkSession::create(loop, ZkSession::Options{url->servers, seconds(10)});
  if (!session) return makeError(session.error());
  LeaderDetector detector(**session, url->path);
  std::optional<MasterInfo> found;
  detector.start([&](const std::optional<MasterInfo>& leader) {
    if (!leader) return;
    found = leader;
    loop.stop();
  });
  loop.addTimer(timeout, [&] { loop.stop(); });
  loop.run();
  if (found) return *found;
  return makeError(ErrorCode::kUnavailable,
                   (*session)->connected() ? "no master leads at " + zkUrl + " yet"
                                           : "cannot reach ZooKeeper at " + url->servers);
}

}  // namespace agora::zk
