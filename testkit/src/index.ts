// @berth/testkit: the fixtures berth's tests share — a real API server, a loopback registry, busybox.
export {
  kubectlBackground,
  kubectlBinary,
  startTestServer,
  type KubectlResult,
  type PeerServer,
  type TestServer,
  type TestServerOptions,
} from './api-server.js';
export { startTestAgent, type TestAgent } from './node-agent.js';
export { makeBusyboxRootfs, makeDataRoot } from './busybox-rootfs.js';
export { pushBusybox, pushTwoPlatformBusybox } from './busybox-image.js';
export { eventually } from './eventually.js';
export { freePort } from './free-port.js';
export { chromiumPath, launchHeadlessChromium } from './headless-chromium.js';
export { assertBuilt, berthMain, repo } from './built-cli.js';
export { etcdBinary, etcdctlBinary, startTestEtcd, type TestEtcd, type TestEtcdOptions } from './etcd.js';
export { request, type RawResponse } from './raw-request.js';
export { startRegistry, type RegistryOptions, type TestRegistry } from './registry.js';
export type { Teardown } from './teardown.js';
export { startTestCluster, type TestCluster, type TestClusterOptions } from './cluster.js';
export {
  parseMetricsText,
  sampleSum,
  scrapeMetrics,
  type ParsedMetrics,
  type PrometheusFamily,
  type PrometheusSample,
  type Scrape,
} from './metrics-scrape.js';
