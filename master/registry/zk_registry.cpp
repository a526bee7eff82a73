#include "master/registry/zk_registry.hpp"

#include <glog/logging.h>

#include <algorithm>
#include <ctime>

#include "master/registry/znode_layout.hpp"

namespace agora::master {

using Op = zk::ZkSession::Op;

// One takeover read in progress.
struct ZkRegistry::Loaded {
  struct Node {
    std::string kind;
    std::string dir;
    std::string name;
    std::string path;
    std::string data;
  };
  std::string fence;
  bool fresh = false;
  std::function<void(Result<RegistryContents>)> done;
  std::optional<Error> error;  // the first I/O error
  size_t outstanding = 0;
  std::vector<Node> nodes;
  std::vector<size_t> corrupt;  // indices into nodes, with --registry-fresh
  std::string badRoot;
  RegistryContents contents;

  void failed(const Error& e) {
    if (!error) error = e;
  }
};

ZkRegistry::ZkRegistry(EventLoop& loop, zk::ZkSession& session, std::string servers,
                       const std::string& electionPath)
    : loop_(loop),
      session_(session),
      electionPath_(electionPath),
      root_(electionPath + "/registry"),
      location_("zk://" + servers + root_) {}

ZkRegistry::~ZkRegistry() { lifetime_.invalidate(); }

void ZkRegistry::takeover(std::string fenceNode, bool fresh,
                          std::function<void(Result<RegistryContents>)> done) {
  auto load = std::make_shared<Loaded>();
  load->fence = std::move(fenceNode);
  load->fresh = fresh;
  load->done = std::move(done);
  load->badRoot = electionPath_ + "/registry-bad-" + std::to_string(time(nullptr));
  readMeta(load, /*created=*/false);
}

// Reads first and creates only what is missing: after the first leader every
// path exists, and a create of an existing znode is a (logged) write, several
// times slower than a read.
void ZkRegistry::readMeta(std::shared_ptr<Loaded> load, bool created) {
  session_.get(
      root_, guarded([this, load, created](Result<std::string> data) {
        if (!data && data.error().code == ErrorCode::kNotFound && !created) {
          return session_.ensurePath(
              root_, guarded([this, load](Status made) {
                if (!made)
                  return load->done(makeError(made.error().withContext("registry " + location_)));
                readMeta(load, /*created=*/true);
              }));
        }
        if (!data) return load->done(makeError(data.error().withContext("registry " + location_)));
        if (!data->empty()) {
          if (Status ok = znodes::checkMeta(*data); !ok) {
            return load->done(makeError(ErrorCode::kProtocol,
                                        "registry znode " + root_ + " " + ok.error().message));
          }
          return listKinds(load);
        }
        // A new registry: its format version, written only while this master leads.
        std::vector<Op> ops{Op{Op::Kind::kCheck, load->fence, "", -1},
                            Op{Op::Kind::kSet, root_, znodes::encodeMeta(), -1}};
        session_.multi(
            std::move(ops), guarded([this, load](Status set) {
              if (!set)
                return load->done(makeError(set.error().withContext("registry " + location_)));
              listKinds(load);
            }));
      }));
}

void ZkRegistry::listKinds(std::shared_ptr<Loaded> load) {
  load->outstanding = znodes::kindDirs().size();
  auto settle = [this, load] {
    if (--load->outstanding == 0) finishLoad(load);
  };
  for (const znodes::KindDir& kind : znodes::kindDirs()) {
    readKind(load, kind, /*created=*/false, settle);
  }
}

void ZkRegistry::readKind(std::shared_ptr<Loaded> load, const znodes::KindDir& kind, bool created,
                          std::function<void()> settle) {
  std::string dir = root_ + "/" + std::string(kind.dir);
  session_.getChildren(
      dir, {},
      guarded([this, load, kind, dir, created, settle](Result<std::vector<std::string>> children) {
        if (!children && children.error().code == ErrorCode::kNotFound && !created) {
          return session_.ensurePath(dir, guarded([this, load, kind, settle](Status made) {
                                       if (!made) {
                                         load->failed(made.error());
                                         return settle();
                                       }
                                       readKind(load, kind, /*created=*/true, settle);
                                     }));
        }
        if (!children) load->failed(children.error());
        for (const std::string& name : children ? *children : std::vector<std::string>{}) {
          size_t index = load->nodes.size();
          load->nodes.push_back(
              {std::string(kind.kind), std::string(kind.dir), name, dir + "/" + name, ""});
          load->outstanding++;
          session_.get(load->nodes[index].path,
                       guarded([load, index, settle](Result<std::string> data) {
                         if (data) {
                           load->nodes[index].data = std::move(*data);
                         } else {
                           load->failed(data.error());
                         }
                         settle();
                       }));
        }
        settle();
      }));
}

void ZkRegistry::finishLoad(std::shared_ptr<Loaded> load) {
  if (load->error) {
    return load->done(makeError(load->error->withContext("reading registry " + location_)));
  }
  for (size_t i = 0; i < load->nodes.size(); ++i) {
    const Loaded::Node& node = load->nodes[i];
    auto key = znodes::unescapeKey(node.name);
    Status decoded = key ? znodes::decodeZnode(node.kind, *key, node.data, load->contents)
                         : Status(makeError(key.error()));
    if (decoded) {
      existing_.insert(node.path);
      continue;
    }
    std::string what = "registry znode " + node.path + " is corrupt: " + decoded.error().message;
    if (!load->fresh) return load->done(makeError(ErrorCode::kProtocol, what));
    LOG(WARNING) << what << "; moving it aside (--registry-fresh)";
    load->corrupt.push_back(i);
  }
  moveAside(load, 0);
}

void ZkRegistry::moveAside(std::shared_ptr<Loaded> load, size_t index) {
  if (index == load->corrupt.size()) {
    fence_ = load->fence;
    LOG(INFO) << "registry " << location_ << ": read " << load->nodes.size() << " records"
              << (load->corrupt.empty() ? std::string()
                                        : ", moved " + std::to_string(load->corrupt.size()) +
                                              " corrupt ones to " + load->badRoot);
    return load->done(std::move(load->contents));
  }
  const Loaded::Node& node = load->nodes[load->corrupt[index]];
  std::string dir = load->badRoot + "/" + node.dir;
  session_.ensurePath(
      dir, guarded([this, load, index, dir](Status made) {
        if (!made) return load->done(makeError(made.error().withContext("moving aside")));
        const Loaded::Node& node = load->nodes[load->corrupt[index]];
        std::vector<Op> ops{Op{Op::Kind::kCheck, load->fence, "", -1},
                            Op{Op::Kind::kCreate, dir + "/" + node.name, node.data, -1},
                            Op{Op::Kind::kDelete, node.path, "", -1}};
        session_.multi(std::move(ops), guarded([this, load, index](Status moved) {
                         if (!moved)
                           return load->done(makeError(moved.error().withContext("moving aside")));
                         moveAside(load, index + 1);
                       }));
      }));
}

void ZkRegistry::submit(std::vector<Mutation> mutations, Done done) {
  auto reject = [&](Error error) {
    loop_.post(
        guarded([done = std::move(done), error = std::move(error)] { done(makeError(error)); }));
  };
  if (failed_) return reject(*failed_);
  if (fence_.empty()) {
    return reject(Error{ErrorCode::kUnavailable,
                        "registry " + location_ + " is not read yet (not the leader)"});
  }
  auto ops = znodes::planWrite(root_, fence_, mutations, existing_);
  if (!ops) return reject(ops.error().withContext("registry " + location_));
  session_.multi(
      std::move(*ops), guarded([this, done = std::move(done)](Status written) {
        if (!written) {
          std::string why = written.error().message;
          if (why.rfind("multi: check " + fence_, 0) == 0) {
            why += " (this master's election znode is gone: it no longer leads)";
          }
          Error error{written.error().code, "registry write to " + location_ + " failed: " + why};
          fail(error);
          return done(makeError(error));
        }
        done({});
      }));
}

void ZkRegistry::fail(const Error& error) {
  if (failed_) return;
  failed_ = error;
  LOG(ERROR) << error.message << "; no further registry writes from this master";
  if (onFailure_) onFailure_(error);
}

}  // namespace agora::master
