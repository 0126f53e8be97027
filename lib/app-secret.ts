import { Construct } from 'constructs';
import {
  ExternalSecret, ExternalSecretProps, ExternalSecretSpecData, ExternalSecretSpecDataFrom,
  ExternalSecretSpecDataRemoteRefConversionStrategy as Conversion, ExternalSecretSpecDataRemoteRefDecodingStrategy as Decoding,
  ExternalSecretSpecDataRemoteRefMetadataPolicy as Metadata, ExternalSecretSpecSecretStoreRefKind,
  ExternalSecretSpecTargetCreationPolicy as Creation, ExternalSecretSpecTargetDeletionPolicy as Deletion,
} from '../imports/external-secrets.io';
import { checkVaultPath, EsoStore } from './eso-store';
import { crdObjectAnnotations, WAVES } from './gitops';
import { invalid, validating } from '../build/prop-error';
import { checkDnsLabel, checkDnsSubdomain, checkDuration, checkMetadataMap } from './checks';

// The allowed values are those of ESO's CRD, through the classes imported from it, so they cannot drift.
export type DecodingStrategy = `${Decoding}`;
export type ConversionStrategy = `${Conversion}`;
export type MetadataPolicy = `${Metadata}`;
export type CreationPolicy = `${Creation}`;
export type DeletionPolicy = `${Deletion}`;

/** How a value read from Vault is decoded and converted; each is written only when set. */
export interface AppSecretStrategies {
  /**
   * How ESO decodes the value read from Vault.
   * @default - not written (ESO's behaviour: no decoding)
   */
  readonly decodingStrategy?: DecodingStrategy;
  /**
   * How ESO converts the value read from Vault.
   * @default - not written (ESO's behaviour: Default)
   */
  readonly conversionStrategy?: ConversionStrategy;
  /**
   * Whether ESO reads the Vault secret's custom metadata instead of its data.
   * @default - not written (ESO's behaviour: None)
   */
  readonly metadataPolicy?: MetadataPolicy;
}

/** One key of the Secret, read from one field of a Vault secret. */
export interface AppSecretKey extends AppSecretStrategies {
  /** The key in the Kubernetes Secret, such as `POSTGRES_PASSWORD`. */
  readonly secretKey: string;
  /** The Vault path under the store's KV mount, such as `postgres-secret` for `secret/postgres-secret`. */
  readonly path: string;
  /**
   * The field of the Vault secret.
   * @default - the same as `secretKey`
   */
  readonly property?: string;
}

/** Every field of one Vault secret, each becoming a key of the Secret. */
export interface AppSecretExtract extends AppSecretStrategies {
  /** The Vault path under the store's KV mount, such as `grafana-admin` for `secret/grafana-admin`. */
  readonly path: string;
}

export interface AppSecretProps {
  /** The app's namespace, where the ExternalSecret and its Secret live. */
  readonly namespace: string;
  /**
   * The ExternalSecret's name.
   * @default - the construct's id
   */
  readonly name?: string;
  /**
   * The EsoStore to read through: the ExternalSecret names the EsoStore's store of this namespace, which only this
   * namespace may name and whose Vault role reads only this namespace's paths.
   */
  readonly store: EsoStore;
  /**
   * Secret keys, each read from a Vault path and property.
   * @default - none; `data` or `dataFrom` must name something
   */
  readonly data?: AppSecretKey[];
  /**
   * Whole Vault paths, every field of which becomes a Secret key.
   * @default - none; `data` or `dataFrom` must name something
   */
  readonly dataFrom?: AppSecretExtract[];
  /**
   * How often ESO reads Vault again, as a duration; "0" reads once.
   * @default '1h'
   */
  readonly refreshInterval?: string;
  /**
   * The name of the Secret that ESO writes.
   * @default - the ExternalSecret's name
   */
  readonly targetName?: string;
  /**
   * Who owns the Secret: `Owner` makes the ExternalSecret its owner, so it is deleted with it.
   * @default 'Owner'
   */
  readonly creationPolicy?: CreationPolicy;
  /**
   * What happens to the Secret when the data is deleted from Vault.
   * @default - not written (ESO's behaviour: Retain)
   */
  readonly deletionPolicy?: DeletionPolicy;
  /**
   * Labels of the Secret that ESO writes.
   * @default - none
   */
  readonly targetLabels?: Record<string, string>;
  /**
   * Annotations of the Secret that ESO writes, for example to let a reloader restart the app.
   * @default - none
   */
  readonly targetAnnotations?: Record<string, string>;
  /**
   * A token written as the ExternalSecret's `force-sync` annotation: change it (a timestamp, say) and the next GitOps
   * apply makes ESO read Vault at once instead of at the next refresh.
   * @default - no annotation
   */
  readonly forceSync?: string;
}

const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/;

/** One ExternalSecret: the Secret an app needs, read from Vault through the store. */
export class AppSecret extends Construct {
  /** The ExternalSecret's name. */
  public readonly name: string;
  /** The name of the Secret that ESO writes. */
  public readonly targetName: string;
  /** The app's namespace. */
  public readonly namespace: string;

  constructor(scope: Construct, id: string, props: AppSecretProps) {
    super(scope, id);
    const checked = validating(this, () => checkProps(id, props));
    this.name = checked.name;
    this.namespace = checked.namespace;
    this.targetName = checked.targetName;
    // The namespace's store exists once this AppSecret is recorded as its reader: the ExternalSecret then names it.
    const store = validating(this, () => props.store.addReader(this));
    new ExternalSecret(this, 'external-secret', checked.externalSecret(store.name));
  }
}

/** Checks the props, and returns the ExternalSecret they describe. */
function checkProps(id: string, props: AppSecretProps) {
  const name = checkDnsSubdomain('AppSecret name', props?.name ?? id);
  const what = `AppSecret ${name}`;
  const namespace = checkDnsLabel(`${what} namespace`, props.namespace);
  const targetName = checkDnsSubdomain(`${what} targetName`, props.targetName ?? name);
  const refreshInterval = checkDuration(`${what} refreshInterval`, props.refreshInterval ?? '1h');
  const creationPolicy = oneOf(`${what} creationPolicy`, props.creationPolicy ?? 'Owner', Object.values(Creation));
  const deletionPolicy = props.deletionPolicy && oneOf(`${what} deletionPolicy`, props.deletionPolicy, Object.values(Deletion));
  // The same rules as ESO's admission webhook, so a wrong secret fails synthesis instead of the sync.
  if (deletionPolicy === 'Delete' && creationPolicy !== 'Owner') {
    invalid(`${what} deletionPolicy`, deletionPolicy, `"Merge" or "Retain" with creationPolicy "${creationPolicy}" ("Delete" needs creationPolicy "Owner")`);
  }
  if (deletionPolicy === 'Merge' && creationPolicy === 'None') {
    invalid(`${what} deletionPolicy`, deletionPolicy, '"Retain" or "Delete" with creationPolicy "None"');
  }
  const data = props.data ?? [];
  const dataFrom = props.dataFrom ?? [];
  if (data.length === 0 && dataFrom.length === 0) {
    invalid(`${what} data`, props.data ?? null, 'at least one key in data or one path in dataFrom');
  }
  const mount = props.store.path;
  const seen = new Set<string>();
  for (const key of data) {
    if (typeof key.secretKey !== 'string' || !SECRET_KEY.test(key.secretKey)) {
      invalid(`${what} data secretKey`, key.secretKey, 'a Secret key of letters, digits, "-", "_" or "."');
    }
    if (seen.has(key.secretKey)) invalid(`${what} data secretKey`, key.secretKey, 'each secretKey once');
    seen.add(key.secretKey);
    if (key.property !== undefined && (typeof key.property !== 'string' || key.property.length === 0)) {
      invalid(`${what} data property`, key.property, 'the name of a field of the Vault secret');
    }
  }
  for (const source of [...data, ...dataFrom]) checkSecretPath(`${what} path`, source.path, mount);
  const labels = checkMetadataMap(`${what} targetLabels`, props.targetLabels ?? {}, true);
  const annotations = checkMetadataMap(`${what} targetAnnotations`, props.targetAnnotations ?? {}, false);
  if (props.forceSync !== undefined && !/^[\x21-\x7e]{1,63}$/.test(props.forceSync)) {
    invalid(`${what} forceSync`, props.forceSync, 'a token of 1 to 63 printable characters, such as a timestamp');
  }
  const hasTemplate = Object.keys(labels).length > 0 || Object.keys(annotations).length > 0;

  const externalSecret = (storeName: string): ExternalSecretProps => ({
    metadata: {
      name,
      namespace,
      annotations: {
        ...crdObjectAnnotations(WAVES.externalSecrets),
        ...(props.forceSync !== undefined && { 'force-sync': props.forceSync }),
      },
    },
    spec: {
      refreshInterval,
      secretStoreRef: { name: storeName, kind: ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE },
      target: {
        name: targetName,
        creationPolicy: creationPolicy as Creation,
        deletionPolicy: deletionPolicy as Deletion | undefined,
        ...(hasTemplate && {
          template: { metadata: { labels: nonEmpty(labels), annotations: nonEmpty(annotations) } },
        }),
      },
      data: data.length > 0 ? data.map((key) => toData(what, key)) : undefined,
      dataFrom: dataFrom.length > 0 ? dataFrom.map((source) => toDataFrom(what, source)) : undefined,
    },
  });
  return { name, namespace, targetName, externalSecret };
}

function checkSecretPath(prop: string, path: string, mount: string): void {
  checkVaultPath(prop, path);
  if (path === mount || path.startsWith(`${mount}/`)) {
    invalid(prop, path, `a path relative to the store's mount "${mount}" (this would read ${mount}/${path})`);
  }
}

function oneOf<T extends string>(prop: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) invalid(prop, value, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
  return value as T;
}

function strategies(what: string, s: AppSecretStrategies): Record<string, string> {
  // Written only when set: ESO's CRD defaults none of them, so writing defaults would churn every diff.
  const written: Record<string, string> = {};
  if (s.decodingStrategy !== undefined) {
    written.decodingStrategy = oneOf(`${what} decodingStrategy`, s.decodingStrategy, Object.values(Decoding));
  }
  if (s.conversionStrategy !== undefined) {
    written.conversionStrategy = oneOf(`${what} conversionStrategy`, s.conversionStrategy, Object.values(Conversion));
  }
  if (s.metadataPolicy !== undefined) {
    written.metadataPolicy = oneOf(`${what} metadataPolicy`, s.metadataPolicy, Object.values(Metadata));
  }
  return written;
}

function toData(what: string, key: AppSecretKey): ExternalSecretSpecData {
  return {
    secretKey: key.secretKey,
    remoteRef: { key: key.path, property: key.property ?? key.secretKey, ...strategies(what, key) },
  };
}

function toDataFrom(what: string, source: AppSecretExtract): ExternalSecretSpecDataFrom {
  return { extract: { key: source.path, ...strategies(what, source) } };
}

function nonEmpty(map: Record<string, string>): Record<string, string> | undefined {
  return Object.keys(map).length > 0 ? map : undefined;
}
