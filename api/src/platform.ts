// Node's names for CPU architectures in the words Kubernetes and OCI use (Go's GOARCH).

const goArch: Readonly<Record<string, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/** `process.arch` (or `os.arch()`) as Go names it: `x64` → `amd64`, `ia32` → `386`; unknown names pass through. */
export function goArchitecture(nodeArch: string): string {
  return goArch[nodeArch] ?? nodeArch;
}
