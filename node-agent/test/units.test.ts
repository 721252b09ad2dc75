// One test process for the node agent's parts that need no API server (mutation cache, writer identity, container
// changes, config and volumes, the reconciler, service names, stop signals, the content store, errors, host
// preparation, posix_spawn, the spawn helper, DNS, user networks, OCI specs, the fake runtime, service endpoints,
// overlay snapshots, cgroup block I/O, disk usage, atomic writes, host paths, subPaths, k8s-file logs, probe workers, agent
// options, user namespace id ranges and their commits): each *.subtests.ts module registers its tests on tap's root as
// a test file would. Every test process costs seconds of CPU before its first assertion (tap's loader hooks see each of
// its ~1,400 modules), so small files share one. A module imported here still runs alone: `npx tap FILE.subtests.ts`.
import './cluster/mutation-cache.subtests.js';
import './cluster/writer-identity.subtests.js';
import './containers/container-changes.subtests.js';
import './containers/container-config.subtests.js';
import './containers/container-volumes.subtests.js';
import './containers/reconciler.subtests.js';
import './containers/reconciler-probes.subtests.js';
import './containers/service-names.subtests.js';
import './containers/stop-start-signal.subtests.js';
import './containers/status-conditions.subtests.js';
import './content/local-store.subtests.js';
import './errors/error-family.subtests.js';
import './host/prepare-host.subtests.js';
import './host/posix-spawn.subtests.js';
import './host/run-command.subtests.js';
import './network/dns-names.subtests.js';
import './network/dns-server.subtests.js';
import './network/user-networks.subtests.js';
import './runtime/oci-spec.subtests.js';
import './runtime/fake-runtime.subtests.js';
import './service-ports/service-endpoints.subtests.js';
import './snapshots/overlay.subtests.js';
import './stats/cgroup-stats.subtests.js';
import './stats/disk-usage.subtests.js';
import './user-namespaces/id-ranges.subtests.js';
import './build/upper-diff-ids.subtests.js';
import './snapshots/overlay-conformance.subtests.js';
import './volumes/atomic-writer.subtests.js';
import './volumes/host-path.subtests.js';
import './volumes/subpath.subtests.js';
import './logs/k8s-file.subtests.js';
import './probes/probe-worker.subtests.js';
import './agent/options.subtests.js';
import './build/add-url.subtests.js';
