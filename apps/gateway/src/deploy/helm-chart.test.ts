// deploy/helm/gw rendered as `helm template` would (go-template.ts, the subset the chart uses; no helm binary here)
// and checked as Kubernetes would take it: every manifest parses, the probes point at the health routes, the
// ConfigMap holds a configuration the gateway itself accepts, and the pod outlives the gateway's drain.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseConfigText } from '../config/load.ts';
import { renderGoTemplate } from './go-template.ts';

const chart = fileURLToPath(new URL('../../../../deploy/helm/gw/', import.meta.url));

type Values = Record<string, unknown>;

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Helm's merge of --set/-f values over values.yaml: maps merge key by key, anything else is replaced.
function merge(base: Values, override: Values): Values {
  const merged: Values = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = merged[key];
    merged[key] = isMap(current) && isMap(value) ? merge(current, value) : value;
  }
  return merged;
}

const manifestSchema = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
    labels: z.record(z.string(), z.string()),
  }),
});
type Manifest = z.infer<typeof manifestSchema>;

/** Renders every template with values.yaml under `overrides`, like `helm template <release> deploy/helm/gw`. */
async function renderChart(overrides: Values = {}, release = 'gw'): Promise<Manifest[]> {
  const values = merge(parse(await readFile(join(chart, 'values.yaml'), 'utf8')) as Values, overrides);
  const meta = z
    .object({ name: z.string(), version: z.string(), appVersion: z.string() })
    .parse(parse(await readFile(join(chart, 'Chart.yaml'), 'utf8')));
  const data = {
    Values: values,
    Release: { Name: release, Namespace: 'default' },
    Chart: { Name: meta.name, Version: meta.version, AppVersion: meta.appVersion },
  };
  const manifests: Manifest[] = [];
  for (const file of (await readdir(join(chart, 'templates'))).sort()) {
    const rendered = renderGoTemplate(await readFile(join(chart, 'templates', file), 'utf8'), data);
    for (const document of parseAllDocuments(rendered)) {
      expect(document.errors, `${file}: ${rendered}`).toEqual([]);
      const object: unknown = document.toJS();
      if (object !== null) manifests.push(manifestSchema.parse(object));
    }
  }
  return manifests;
}

const KEYS = { secrets: { GW_MASTER_KEY: 'helm-master-key-123', OPENAI_API_KEY: 'sk-helm-test-1234' } };

function only(manifests: Manifest[], kind: string): Manifest {
  const found = manifests.filter((manifest) => manifest.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as Manifest;
}

const probeSchema = z.object({ httpGet: z.object({ path: z.string(), port: z.union([z.string(), z.number()]) }) });
const deploymentSchema = z.object({
  spec: z.object({
    replicas: z.number().optional(),
    selector: z.object({ matchLabels: z.record(z.string(), z.string()) }),
    template: z.object({
      metadata: z.object({ labels: z.record(z.string(), z.string()), annotations: z.record(z.string(), z.string()) }),
      spec: z.object({
        terminationGracePeriodSeconds: z.number(),
        securityContext: z.object({ runAsNonRoot: z.literal(true), runAsUser: z.number() }),
        containers: z.array(
          z.object({
            image: z.string(),
            env: z.array(z.object({ name: z.string(), value: z.string() })),
            envFrom: z.array(z.object({ secretRef: z.object({ name: z.string() }) })),
            ports: z.array(z.object({ name: z.string(), containerPort: z.number() })),
            livenessProbe: probeSchema,
            readinessProbe: probeSchema,
            lifecycle: z.object({ preStop: z.object({ exec: z.object({ command: z.array(z.string()) }) }) }),
            volumeMounts: z.array(z.object({ name: z.string(), mountPath: z.string() })),
          }),
        ),
        volumes: z.array(z.looseObject({ name: z.string(), configMap: z.object({ name: z.string() }).optional() })),
      }),
    }),
  }),
});

describe('the Helm chart (deploy/helm/gw)', () => {
  it('renders a ConfigMap, a Secret, a Deployment, a Service and an HPA that fit together', async () => {
    const manifests = await renderChart(KEYS);
    expect(manifests.map((manifest) => manifest.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'HorizontalPodAutoscaler',
      'Secret',
      'Service',
    ]);
    const deployment = deploymentSchema.parse(only(manifests, 'Deployment'));
    const pod = deployment.spec.template;
    const [container] = pod.spec.containers;
    if (container === undefined) throw new Error('no container');

    // Probes on the health routes, by the port's name.
    expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    const env = Object.fromEntries(container.env.map(({ name, value }) => [name, value]));
    expect(env).toMatchObject({ HOST: '0.0.0.0', PORT: String(container.ports[0]?.containerPort) });

    // The Service reaches these pods on that port.
    const service = z
      .object({
        spec: z.object({
          selector: z.record(z.string(), z.string()),
          ports: z.array(z.looseObject({ targetPort: z.string() })),
        }),
      })
      .parse(only(manifests, 'Service'));
    expect(pod.metadata.labels).toMatchObject(service.spec.selector);
    expect(deployment.spec.selector.matchLabels).toEqual(service.spec.selector);
    expect(container.ports.map((port) => port.name)).toContain(service.spec.ports[0]?.targetPort);

    // The config file is the ConfigMap, mounted where GW_CONFIG points.
    const configMap = only(manifests, 'ConfigMap');
    const volume = pod.spec.volumes.find((entry) => entry.configMap?.name === configMap.metadata.name);
    const mount = container.volumeMounts.find((entry) => entry.name === volume?.name);
    expect(`${mount?.mountPath}/gateway.yaml`).toBe(env['GW_CONFIG']);

    // The keys come from the Secret, only those that were given.
    const secret = z.object({ stringData: z.record(z.string(), z.string()) }).parse(only(manifests, 'Secret'));
    expect(secret.stringData).toEqual(KEYS.secrets);
    expect(container.envFrom[0]?.secretRef.name).toBe(only(manifests, 'Secret').metadata.name);

    // The HPA scales this Deployment, which leaves the replica count to it.
    const hpa = z
      .object({
        spec: z.object({ scaleTargetRef: z.object({ kind: z.string(), name: z.string() }), minReplicas: z.number() }),
      })
      .parse(only(manifests, 'HorizontalPodAutoscaler'));
    expect(hpa.spec.scaleTargetRef).toEqual({ kind: 'Deployment', name: only(manifests, 'Deployment').metadata.name });
    expect(deployment.spec.replicas).toBeUndefined();
  });

  it('holds a gateway.yaml the gateway accepts, that listens on every interface and keeps the master key required', async () => {
    const configMap = z
      .object({ data: z.object({ 'gateway.yaml': z.string() }) })
      .parse(only(await renderChart(KEYS), 'ConfigMap'));
    const text = configMap.data['gateway.yaml'];
    const config = parseConfigText(text, { env: { ...KEYS.secrets, HOST: '0.0.0.0' }, source: 'configmap' });
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.auth.masterKey).toBe(KEYS.secrets.GW_MASTER_KEY);
    expect(config.providers.find((provider) => provider.id === 'openai')?.apiKey).toBe(KEYS.secrets.OPENAI_API_KEY);
    // A Secret without the master key is a pod that refuses to start, not one in open dev mode.
    expect(() => parseConfigText(text, { env: {}, source: 'configmap' })).toThrow(/GW_MASTER_KEY/);
  });

  it('gives the pod the preStop sleep plus the gateway drain (server.drainTimeoutMs) before it is killed', async () => {
    for (const drainTimeoutMs of [30_000, 90_000]) {
      const manifests = await renderChart({ ...KEYS, config: { server: { drainTimeoutMs } } });
      const pod = deploymentSchema.parse(only(manifests, 'Deployment')).spec.template;
      const configMap = z
        .object({ data: z.object({ 'gateway.yaml': z.string() }) })
        .parse(only(manifests, 'ConfigMap'));
      const config = parseConfigText(configMap.data['gateway.yaml'], { env: KEYS.secrets });
      const [, sleep] = pod.spec.containers[0]?.lifecycle.preStop.exec.command ?? [];
      // The drain ends streams at drainTimeoutMs, then waits a second before it destroys what is left.
      expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
        Number(sleep) + config.server.drainTimeoutMs / 1000 + 1,
      );
      expect(config.server.drainTimeoutMs).toBe(drainTimeoutMs);
    }
  });

  it('refuses to render without a master key, and uses an existing Secret instead of its own', async () => {
    await expect(renderChart()).rejects.toThrow('secrets.GW_MASTER_KEY is required');
    const manifests = await renderChart({ existingSecret: 'my-gw-keys' });
    expect(manifests.map((manifest) => manifest.kind)).not.toContain('Secret');
    const pod = deploymentSchema.parse(only(manifests, 'Deployment')).spec.template;
    expect(pod.spec.containers[0]?.envFrom[0]?.secretRef.name).toBe('my-gw-keys');
  });

  it('rolls the pods when the config changes, and sets replicas itself when autoscaling is off', async () => {
    const annotations = async (overrides: Values): Promise<Record<string, string>> =>
      deploymentSchema.parse(only(await renderChart(overrides), 'Deployment')).spec.template.metadata.annotations;
    const before = await annotations(KEYS);
    const after = await annotations({ ...KEYS, config: { logging: { level: 'debug' } } });
    expect(after['checksum/config']).not.toBe(before['checksum/config']);
    expect(before['prometheus.io/scrape']).toBe('true');
    const manifests = await renderChart({ ...KEYS, autoscaling: { enabled: false }, replicaCount: 3 });
    expect(manifests.map((manifest) => manifest.kind)).not.toContain('HorizontalPodAutoscaler');
    expect(deploymentSchema.parse(only(manifests, 'Deployment')).spec.replicas).toBe(3);
  });
});
