#ifndef BERTH_CTL_IMAGE_COMMANDS_H_
#define BERTH_CTL_IMAGE_COMMANDS_H_

#include <string>

#include "absl/status/status.h"
#include "ctl/client.h"

namespace berth::ctl {

struct PullFlags {
  std::string image;
  std::string creds;  // "user:password", as crictl pull --creds
  std::string auth;   // base64 "user:password", as crictl pull --auth
};

// `berthctl pull IMAGE`: prints "Image is up to date for <id>" like crictl.
absl::Status PullImage(CriClient& client, const PullFlags& flags, std::string& out);
// `berthctl images [IMAGE]`: a table of IMAGE, TAG, IMAGE ID (first 13 hex), SIZE.
absl::Status ListImages(CriClient& client, const std::string& filter, bool quiet, std::string& out);
// `berthctl inspecti IMAGE`: the status and verbose info as JSON.
absl::Status InspectImage(CriClient& client, const std::string& image, std::string& out);
// `berthctl rmi IMAGE...`
absl::Status RemoveImages(CriClient& client, const std::vector<std::string>& images,
                          std::string& out);
// `berthctl imagefsinfo`: ImageFsInfo as JSON.
absl::Status ImageFsInfo(CriClient& client, std::string& out);

// "5.2MB", like crictl's human sizes (decimal units).
std::string HumanSize(uint64_t bytes);

}  // namespace berth::ctl

#endif  // BERTH_CTL_IMAGE_COMMANDS_H_
