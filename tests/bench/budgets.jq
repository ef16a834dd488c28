# The budgets of the pod and container issues, from compare.sh's combined JSON
# ({"image", "pod", "container", "stream": berth-bench runs; "floor": berth-bench-floor's}).
# Usage: jq -r -f budgets.jq berth-compare.json
def r2: . * 100 | round / 100;
def r3: . * 1000 | round / 1000;
def target(run; who): ((.[run].targets // []) | map(select(.label == who)) | .[0]) // {};
def op(run; who; scenario; name; stat): target(run; who).scenarios[scenario].ops[name][stat];
def p50(run; who; scenario; name): op(run; who; scenario; name; "p50_ms");
def metric(run; who; scenario; name): target(run; who).scenarios[scenario].metrics[name].mean;
def floor(scenario; name): .floor.targets[0].scenarios[scenario].ops[name].p50_ms;
def verdict(value; limit): if value <= limit then "MET" else "MISSED" end;
def ratio(what; a; b; limit):
  if a == null or b == null or b == 0 then "  \(what): -"
  else (a / b) as $r
  | "  \(what): \(a | r2) / \(b | r2) = \($r | r3) (<= \(limit)) \(verdict($r; limit))" end;
def absolute(what; value; unit; limit):
  if value == null then "  \(what): -"
  else "  \(what): \(value | r2) \(unit) (<= \(limit)) \(verdict(value; limit))" end;
def info(what; value; unit):
  if value == null then "  \(what): -" else "  \(what): \(value | r2) \(unit)" end;

(.container.targets // [] | map(select(.label == "berth")) | length > 0) as $berth_containers
| [
  "pods:",
  ratio("RunPodSandbox berth / floor (netns+ADD)";
        p50("pod"; "berth"; "pod"; "RunPodSandbox"); floor("pod-floor"; "netns+ADD"); 1.3),
  ratio("RunPodSandbox berth / containerd";
        p50("pod"; "berth"; "pod"; "RunPodSandbox");
        p50("pod"; "containerd"; "pod"; "RunPodSandbox"); 0.5),
  ratio("Stop+RemovePodSandbox berth / containerd";
        p50("pod"; "berth"; "pod"; "Stop+RemovePodSandbox");
        p50("pod"; "containerd"; "pod"; "Stop+RemovePodSandbox"); 0.5),
  info("Stop+RemovePodSandbox floor (DEL+netns del)"; floor("pod-floor"; "DEL+netns-del"); "ms"),
  info("berth-mon per pod, PSS"; metric("pod"; "berth"; "pod"; "pod_process_per_pod_pss_kib");
       "KiB"),
  info("berth-mon per pod, RSS"; metric("pod"; "berth"; "pod"; "pod_process_per_pod_rss_kib");
       "KiB"),
  info("berth-mon per pod, private (no containers)";
       metric("pod"; "berth"; "pod"; "pod_process_per_pod_private_kib"); "KiB"),
  info("containerd shim per pod, PSS";
       metric("pod"; "containerd"; "pod"; "pod_process_per_pod_pss_kib"); "KiB"),
  "containers:" + (if $berth_containers then "" else " (berth: not measured)" end),
  ratio("Create+StartContainer berth / floor (runc create+start)";
        p50("container"; "berth"; "container"; "Create+StartContainer");
        floor("container-floor"; "runc create+start"); 1.2),
  ratio("Create+StartContainer berth / containerd";
        p50("container"; "berth"; "container"; "Create+StartContainer");
        p50("container"; "containerd"; "container"; "Create+StartContainer"); 0.6),
  ratio("Stop+RemoveContainer berth / containerd";
        p50("container"; "berth"; "container"; "Stop+RemoveContainer");
        p50("container"; "containerd"; "container"; "Stop+RemoveContainer"); 0.5),
  ratio("ExecSync berth / floor (runc exec true)";
        p50("container"; "berth"; "container"; "ExecSync");
        floor("container-floor"; "runc exec true"); 1.2),
  (.container.targets // [] | map(.scenarios.container.ops // {} | to_entries[]
     | select(.key | startswith("ListContainers("))) | .[0].key) as $list
  | absolute("\($list // "ListContainers") p99 berth";
             op("container"; "berth"; "container"; $list // "-"; "p99_ms"); "ms"; 2),
  info("\($list // "ListContainers") p99 containerd";
       op("container"; "containerd"; "container"; $list // "-"; "p99_ms"); "ms"),
  ((.container.targets // []) | map(select(.label == "berth")) | .[0].scenarios.container.metrics
     // {} | to_entries | map(select(.key | endswith("_containers_private_kib"))) | .[0])
  as $private
  | absolute("berth-mon private memory, pod with containers"; $private.value.mean; "KiB"; 1024),
  (metric("density"; "berth"; "density"; "containers_per_pod")) as $k
  | absolute("berth-mon private memory per pod, density pods of \($k // "-") containers";
             metric("density"; "berth"; "density"; "pod_processes_per_pod_private_kib");
             "KiB"; 1024),
  (if $berth_containers then .container else .pod end) as $last
  | ({"x": $last} | metric("x"; "berth"; "memory"; "daemon_idle_rss_mib")) as $idle
  | ({"x": $last} | metric("x"; "berth"; "memory"; "daemon_rss_mib")) as $rss
  | if $idle == null then absolute("berthd RSS after the runs (idle)"; $rss; "MiB"; 15)
    else (absolute("berthd idle RSS (--idle-seconds after the runs)"; $idle; "MiB"; 15),
          info("berthd RSS right after the runs"; $rss; "MiB")) end,
  info("floor: runc kill+delete"; floor("container-floor"; "runc kill+delete"); "ms"),
  "streaming:",
  ratio("Exec (streaming) true / ExecSync true, berth";
        p50("stream"; "berth"; "stream"; "Exec (streaming) true");
        p50("stream"; "berth"; "stream"; "ExecSync"); 1.3),
  info("Exec (streaming) true, containerd";
       p50("stream"; "containerd"; "stream"; "Exec (streaming) true"); "ms"),
  info("PortForward download, berth"; metric("stream"; "berth"; "stream"; "portforward_mb_s");
       "MB/s"),
  info("direct TCP to the pod IP, berth"; metric("stream"; "berth"; "stream"; "direct_tcp_mb_s");
       "MB/s"),
  info("PortForward download, containerd";
       metric("stream"; "containerd"; "stream"; "portforward_mb_s"); "MB/s")
] | .[]
