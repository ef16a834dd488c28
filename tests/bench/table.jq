# One table of everything compare.sh measured: per scenario, every operation's p50 (and the p99
# of the listing calls) and every metric's mean, for berth, containerd and the floor where the
# floor has the same operation, with the berth/containerd and berth/floor ratios.
# Input: compare.sh's combined JSON ({"image", "pod", ...: berth-bench runs; "floor":
# berth-bench-floor's}). Usage: jq -r -f table.jq berth-compare.json
def r2:
  if . == null then "-"
  else (. * 100 | round) as $n | ($n | fabs) as $a
  | (if $n < 0 then "-" else "" end) + ($a / 100 | floor | tostring) + "."
    + ($a % 100 | tostring | if length < 2 then "0" + . else . end) end;
def pad(n): tostring | if length < n then . + (" " * (n - length)) else . end;
def lpad(n): tostring | if length < n then (" " * (n - length)) + . else . end;
def ratio(a; b): if a == null or b == null or b == 0 then "-" else (a / b | r2) end;
def target(run; who): ((.[run].targets // []) | map(select(.label == who)) | .[0]) // {};
# The floor's operation under a berth-bench operation, as [floor scenario, floor op].
def floor_of:
  {"pod/RunPodSandbox": ["pod-floor", "netns+ADD"],
   "pod/Stop+RemovePodSandbox": ["pod-floor", "DEL+netns-del"],
   "container/Create+StartContainer": ["container-floor", "runc create+start"],
   "container/Stop+RemoveContainer": ["container-floor", "runc kill+delete"],
   "container/ExecSync": ["container-floor", "runc exec true"],
   "stream/ExecSync": ["container-floor", "runc exec true"],
   "scratch/RunPodSandbox": ["scratch-floor", "netns+ADD"],
   "scratch/Run+Create+StartContainer": ["scratch-floor", "netns+ADD+runc create+start"],
   "scratch/Stop+RemovePodSandbox": ["scratch-floor", "runc kill+delete+DEL+netns-del"]}[.];
def row(what; b; c; f):
  "  \(what | pad(46)) \(b | r2 | lpad(10)) \(c | r2 | lpad(11)) \(f | r2 | lpad(9))"
  + " \(ratio(b; c) | lpad(17)) \(ratio(b; f) | lpad(12))";

. as $all
| ["image", "pod", "container", "stream", "scratch", "list", "churn", "density"]
  | map(select($all[.] != null)) as $runs
| (
  "  \("p50 ms (ops), mean (metrics)" | pad(46)) \("berth" | lpad(10)) \("containerd" | lpad(11))"
  + " \("floor" | lpad(9)) \("berth/containerd" | lpad(17)) \("berth/floor" | lpad(12))",
  ($runs[] as $run
   | ($all | target($run; "berth")) as $b
   | ($all | target($run; "containerd")) as $c
   | (([$b, $c] | map(.scenarios // {} | keys[]) | unique) - ["memory"])[] as $scenario
   | "\($scenario):",
     ((([$b, $c] | map(.scenarios[$scenario].ops // {} | keys[]) | unique)[]) as $op
      | ("\($scenario)/\($op)" | floor_of) as $floor
      | ($floor | if . == null then null
                  else $all.floor.targets[0].scenarios[.[0]].ops[.[1]].p50_ms end) as $f
      | row($op; $b.scenarios[$scenario].ops[$op].p50_ms; $c.scenarios[$scenario].ops[$op].p50_ms;
            $f),
        (if ($op | startswith("List")) then
           row("\($op) p99"; $b.scenarios[$scenario].ops[$op].p99_ms;
               $c.scenarios[$scenario].ops[$op].p99_ms; null)
         else empty end)),
     ((([$b, $c] | map(.scenarios[$scenario].metrics // {} | keys[]) | unique)[]) as $metric
      | row($metric; $b.scenarios[$scenario].metrics[$metric].mean;
            $c.scenarios[$scenario].metrics[$metric].mean; null))),
  ($runs | last // empty) as $last
  | ($all | target($last; "berth")) as $b
  | ($all | target($last; "containerd")) as $c
  | "memory at the end (after \($last)):",
    ((([$b, $c] | map(.scenarios.memory.metrics // {} | keys[]) | unique)[]) as $metric
     | row($metric; $b.scenarios.memory.metrics[$metric].mean;
           $c.scenarios.memory.metrics[$metric].mean; null))
)
