// process.user: the CRI run_as_user / run_as_username / run_as_group, else the image's User
// ("uid", "uid:gid", "name", "name:group"), names resolved against the rootfs' /etc/passwd
// and /etc/group (read without leaving the rootfs).

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "oci/in_root.h"
#include "oci/spec_parts.h"

namespace berth::oci {
namespace {

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0, gid = 0;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

std::optional<uint32_t> ParseId(absl::string_view text) {
  uint32_t id;
  if (text.empty() || !std::all_of(text.begin(), text.end(), ::isdigit)) return std::nullopt;
  if (!absl::SimpleAtoi(text, &id)) return std::nullopt;
  return id;
}

// The lines of a colon-separated database with at least `fields` fields.
std::vector<std::vector<std::string>> ParseDb(const std::string& data, size_t fields) {
  std::vector<std::vector<std::string>> rows;
  for (absl::string_view line : absl::StrSplit(data, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> row = absl::StrSplit(line, ':');
    if (row.size() >= fields) rows.push_back(std::move(row));
  }
  return rows;
}

// The user and group databases of the rootfs; missing files are empty databases.
class UserDb {
 public:
  static absl::StatusOr<UserDb> Load(const std::string& rootfs) {
    UserDb db;
    ASSIGN_OR_RETURN(std::string passwd, ReadOptional(rootfs, "/etc/passwd"));
    ASSIGN_OR_RETURN(std::string group, ReadOptional(rootfs, "/etc/group"));
    for (auto& row : ParseDb(passwd, 4)) {
      std::optional<uint32_t> uid = ParseId(row[2]), gid = ParseId(row[3]);
      if (uid && gid) db.users_.push_back({row[0], *uid, *gid});
    }
    for (auto& row : ParseDb(group, 3)) {
      std::optional<uint32_t> gid = ParseId(row[2]);
      if (!gid) continue;
      GroupEntry entry{row[0], *gid, {}};
      if (row.size() > 3 && !row[3].empty()) entry.members = absl::StrSplit(row[3], ',');
      db.groups_.push_back(std::move(entry));
    }
    return db;
  }

  const PasswdEntry* UserByName(absl::string_view name) const {
    for (const auto& u : users_)
      if (u.name == name) return &u;
    return nullptr;
  }
  const PasswdEntry* UserById(uint32_t uid) const {
    for (const auto& u : users_)
      if (u.uid == uid) return &u;
    return nullptr;
  }
  const GroupEntry* GroupByName(absl::string_view name) const {
    for (const auto& g : groups_)
      if (g.name == name) return &g;
    return nullptr;
  }
  std::vector<uint32_t> GroupsWithMember(absl::string_view user) const {
    std::vector<uint32_t> gids;
    for (const auto& g : groups_) {
      if (std::find(g.members.begin(), g.members.end(), user) != g.members.end()) {
        gids.push_back(g.gid);
      }
    }
    return gids;
  }

 private:
  static absl::StatusOr<std::string> ReadOptional(const std::string& rootfs, const char* path) {
    absl::StatusOr<std::string> data = ReadFileInRoot(rootfs, path);
    if (absl::IsNotFound(data.status())) return std::string();
    if (!data.ok()) return Annotate(data.status(), "reading the image's user database");
    return data;
  }

  std::vector<PasswdEntry> users_;
  std::vector<GroupEntry> groups_;
};

struct User {
  uint32_t uid = 0, gid = 0;
  std::string name;  // empty when the uid has no passwd entry
};

// "uid", "name", "uid:gid", "name:group", ... against the databases.
absl::StatusOr<User> ResolveUserSpec(const UserDb& db, absl::string_view spec) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(spec, absl::MaxSplits(':', 1));
  User user;
  const PasswdEntry* entry = nullptr;
  if (std::optional<uint32_t> uid = ParseId(parts.first)) {
    user.uid = *uid;
    entry = db.UserById(*uid);
  } else {
    entry = db.UserByName(parts.first);
    if (entry == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("user \"", parts.first, "\" is not in the image's /etc/passwd"));
    }
    user.uid = entry->uid;
  }
  if (entry != nullptr) {
    user.gid = entry->gid;
    user.name = entry->name;
  }
  if (parts.second.empty()) return user;
  if (std::optional<uint32_t> gid = ParseId(parts.second)) {
    user.gid = *gid;
  } else if (const GroupEntry* group = db.GroupByName(parts.second)) {
    user.gid = group->gid;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("group \"", parts.second, "\" is not in the image's /etc/group"));
  }
  return user;
}

}  // namespace

absl::Status AddProcessUser(const SpecInput& input, nlohmann::json& spec) {
  const auto& sc = SecurityContext(input);
  ASSIGN_OR_RETURN(UserDb db, UserDb::Load(input.rootfs));
  std::string user_spec;
  if (sc.has_run_as_user()) {
    if (sc.run_as_user().value() < 0 || sc.run_as_user().value() > UINT32_MAX) {
      return absl::InvalidArgumentError(
          absl::StrCat("run_as_user ", sc.run_as_user().value(), " is out of range"));
    }
    user_spec = absl::StrCat(sc.run_as_user().value());
  } else if (!sc.run_as_username().empty()) {
    user_spec = sc.run_as_username();
  } else {
    user_spec = input.image.user.empty() ? "0" : input.image.user;
  }
  ASSIGN_OR_RETURN(User user, ResolveUserSpec(db, user_spec));
  if (sc.has_run_as_group()) {
    if (sc.run_as_group().value() < 0 || sc.run_as_group().value() > UINT32_MAX) {
      return absl::InvalidArgumentError(
          absl::StrCat("run_as_group ", sc.run_as_group().value(), " is out of range"));
    }
    user.gid = static_cast<uint32_t>(sc.run_as_group().value());
  }
  std::vector<uint32_t> gids = {user.gid};
  if (!user.name.empty()) {
    for (uint32_t gid : db.GroupsWithMember(user.name)) gids.push_back(gid);
  }
  for (int64_t gid : sc.supplemental_groups()) {
    if (gid < 0 || gid > UINT32_MAX) {
      return absl::InvalidArgumentError(
          absl::StrCat("supplemental group ", gid, " is out of range"));
    }
    gids.push_back(static_cast<uint32_t>(gid));
  }
  std::vector<uint32_t> unique;
  for (uint32_t gid : gids) {
    if (std::find(unique.begin(), unique.end(), gid) == unique.end()) unique.push_back(gid);
  }
  spec["process"]["user"] = {{"uid", user.uid}, {"gid", user.gid}, {"additionalGids", unique}};
  return absl::OkStatus();
}

}  // namespace berth::oci
