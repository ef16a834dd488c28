// annotations: the CRI config's, then the ones Berth sets (which win on a clash).

#include "oci/spec_parts.h"

namespace berth::oci {

absl::Status AddAnnotations(const SpecInput& input, nlohmann::json& spec) {
  nlohmann::json annotations = nlohmann::json::object();
  for (const auto& [key, value] : input.config->annotations()) annotations[key] = value;
  const auto& pod = input.sandbox_config->metadata();
  annotations["io.kubernetes.cri.container-type"] = "container";
  annotations["io.kubernetes.cri.sandbox-id"] = input.sandbox.pod_id;
  annotations["io.kubernetes.cri.container-name"] = input.config->metadata().name();
  annotations["io.kubernetes.cri.image-name"] = input.image_name;
  annotations["io.kubernetes.pod.name"] = pod.name();
  annotations["io.kubernetes.pod.namespace"] = pod.namespace_();
  annotations["io.kubernetes.pod.uid"] = pod.uid();
  annotations["io.kubernetes.container.name"] = input.config->metadata().name();
  spec["annotations"] = annotations;
  return absl::OkStatus();
}

}  // namespace berth::oci
