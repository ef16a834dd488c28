// linux.resources: CRI LinuxContainerResources, then the default device cgroup rules.

#include "oci/spec_resources.h"

#include "oci/spec_parts.h"

namespace berth::oci {
namespace {

nlohmann::json DeviceRule(bool allow, const char* type, int64_t major, int64_t minor,
                          const char* access) {
  nlohmann::json rule = {{"allow", allow}, {"access", access}};
  if (type != nullptr) rule["type"] = type;
  if (major >= 0) rule["major"] = major;
  if (minor >= 0) rule["minor"] = minor;
  return rule;
}

}  // namespace

nlohmann::json ResourcesToOci(const runtime::v1::LinuxContainerResources& resources) {
  nlohmann::json out = nlohmann::json::object();
  nlohmann::json cpu = nlohmann::json::object();
  if (resources.cpu_shares() > 0) cpu["shares"] = static_cast<uint64_t>(resources.cpu_shares());
  if (resources.cpu_quota() != 0) cpu["quota"] = resources.cpu_quota();
  if (resources.cpu_period() > 0) cpu["period"] = static_cast<uint64_t>(resources.cpu_period());
  if (!resources.cpuset_cpus().empty()) cpu["cpus"] = resources.cpuset_cpus();
  if (!resources.cpuset_mems().empty()) cpu["mems"] = resources.cpuset_mems();
  if (!cpu.empty()) out["cpu"] = cpu;
  nlohmann::json memory = nlohmann::json::object();
  if (resources.memory_limit_in_bytes() > 0) memory["limit"] = resources.memory_limit_in_bytes();
  if (resources.memory_swap_limit_in_bytes() > 0) {
    memory["swap"] = resources.memory_swap_limit_in_bytes();
  }
  if (!memory.empty()) out["memory"] = memory;
  if (!resources.hugepage_limits().empty()) {
    nlohmann::json limits = nlohmann::json::array();
    for (const auto& limit : resources.hugepage_limits()) {
      limits.push_back({{"pageSize", limit.page_size()}, {"limit", limit.limit()}});
    }
    out["hugepageLimits"] = limits;
  }
  if (!resources.unified().empty()) {
    out["unified"] = nlohmann::json::object();
    for (const auto& [key, value] : resources.unified()) out["unified"][key] = value;
  }
  return out;
}

nlohmann::json DefaultDeviceRules() {
  return nlohmann::json::array({
      DeviceRule(false, nullptr, -1, -1, "rwm"), DeviceRule(true, "c", -1, -1, "m"),
      DeviceRule(true, "b", -1, -1, "m"), DeviceRule(true, "c", 1, 3, "rwm"),  // /dev/null
      DeviceRule(true, "c", 1, 5, "rwm"),                                      // /dev/zero
      DeviceRule(true, "c", 1, 7, "rwm"),                                      // /dev/full
      DeviceRule(true, "c", 1, 8, "rwm"),                                      // /dev/random
      DeviceRule(true, "c", 1, 9, "rwm"),                                      // /dev/urandom
      DeviceRule(true, "c", 5, 0, "rwm"),                                      // /dev/tty
      DeviceRule(true, "c", 5, 2, "rwm"),                                      // /dev/ptmx
      DeviceRule(true, "c", 136, -1, "rwm"),                                   // /dev/pts/*
  });
}

absl::Status AddResources(const SpecInput& input, nlohmann::json& spec) {
  nlohmann::json resources = ResourcesToOci(input.config->linux().resources());
  resources["devices"] = DefaultDeviceRules();
  spec["linux"]["resources"] = resources;
  return absl::OkStatus();
}

}  // namespace berth::oci
