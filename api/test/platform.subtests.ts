import t from 'tap';
import { goArchitecture } from '@berth/api';

t.test("Node's architecture names become Go's, as Kubernetes and OCI write them", async (t) => {
  t.equal(goArchitecture('x64'), 'amd64');
  t.equal(goArchitecture('ia32'), '386');
  t.equal(goArchitecture('ppc64'), 'ppc64le');
  t.equal(goArchitecture('arm64'), 'arm64');
  t.equal(goArchitecture('loong64'), 'loong64', 'an unknown name passes through');
});
