// The Pod Security Standards' checks (kubernetes/pod-security-admission, policy/check_*.go) that a pod the project
// defines could fail, for the levels `baseline` and `restricted`: enough to tell which level a namespace can enforce.

export type Level = 'baseline' | 'restricted';

const RESTRICTED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
const BASELINE_CAPABILITIES = ['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT'];

/** What keeps a pod (its template's metadata and spec) from the level; empty when it passes. */
export function podSecurityViolations(metadata: any, spec: any, level: Level): string[] {
  const v: string[] = [];
  const containers: any[] = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  const annotations: Record<string, string> = metadata?.annotations ?? {};

  // baseline
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) v.push('host namespaces');
  for (const c of containers) {
    if (c.securityContext?.privileged) v.push(`${c.name}: privileged`);
    for (const cap of c.securityContext?.capabilities?.add ?? []) if (!BASELINE_CAPABILITIES.includes(cap)) v.push(`${c.name}: adds ${cap}`);
    for (const p of c.ports ?? []) if (p.hostPort) v.push(`${c.name}: hostPort`);
    if (c.securityContext?.seccompProfile?.type === 'Unconfined') v.push(`${c.name}: seccomp Unconfined`);
  }
  if (spec.securityContext?.seccompProfile?.type === 'Unconfined') v.push('pod: seccomp Unconfined');
  for (const vol of spec.volumes ?? []) if (vol.hostPath) v.push(`volume ${vol.name}: hostPath`);
  for (const [key, value] of Object.entries(annotations)) {
    if (key.startsWith('container.apparmor.security.beta.kubernetes.io/') && !/^(runtime\/default|localhost\/.+)$/.test(value)) {
      v.push(`${key.split('/')[1]}: AppArmor ${value}`);
    }
  }
  if (level === 'baseline') return v;

  // restricted
  for (const vol of spec.volumes ?? []) {
    const type = Object.keys(vol).find((k) => k !== 'name');
    if (!RESTRICTED_VOLUMES.includes(type!)) v.push(`volume ${vol.name}: ${type}`);
  }
  const podNonRoot = spec.securityContext?.runAsNonRoot === true;
  const podSeccomp = ['RuntimeDefault', 'Localhost'].includes(spec.securityContext?.seccompProfile?.type);
  if (spec.securityContext?.runAsUser === 0) v.push('pod: runAsUser 0');
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) v.push(`${c.name}: allowPrivilegeEscalation not false`);
    if (!(sc.runAsNonRoot === true || (podNonRoot && sc.runAsNonRoot !== false))) v.push(`${c.name}: runAsNonRoot not true`);
    if (sc.runAsUser === 0) v.push(`${c.name}: runAsUser 0`);
    if (!(['RuntimeDefault', 'Localhost'].includes(sc.seccompProfile?.type) || (podSeccomp && !sc.seccompProfile))) v.push(`${c.name}: no RuntimeDefault seccomp`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) v.push(`${c.name}: capabilities not dropping ALL`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') v.push(`${c.name}: adds ${cap}`);
  }
  return v;
}

/** The pod templates of the workloads among `manifests`, with their namespace. */
export function podTemplates(manifests: any[]): Array<{ what: string; namespace: string; metadata: any; spec: any }> {
  return manifests.flatMap((m) => {
    const template = m.kind === 'CronJob' ? m.spec.jobTemplate.spec.template
      : ['StatefulSet', 'Deployment', 'DaemonSet', 'Job'].includes(m.kind) ? m.spec.template : undefined;
    return template ? [{ what: `${m.kind} ${m.metadata.namespace}/${m.metadata.name}`, namespace: m.metadata.namespace, metadata: template.metadata, spec: template.spec }] : [];
  });
}
