/**
 * A read-only view of the cluster the stack deploys to, for the few facts the program must know before it
 * registers anything: the live PVCs (their sizes, classes and owners), the live StatefulSets of the stack's namespace
 * (immutable fields, recreate marks) and this program's StatefulSets in every namespace (to find the apps an `up`
 * would delete), and StorageClasses. Connections and requests: lib/kube-client.ts.
 *
 * Why not a `.get()` through the provider: a read of an object that does not exist fails the whole program, and the
 * PVCs that matter are created by the StatefulSet controller, not by Pulumi.
 */
import { ClusterConnection, getJson, getJsonIfAllowed, getJsonIfExists } from "./kube-client";
import { DELETION_PROPAGATION_ANNOTATION, MANAGED_BY_LABEL, PART_OF_LABEL, PROJECT, STACK_ANNOTATION } from "./names";

/**
 * A live PersistentVolumeClaim: its name, requested size (`spec.resources.requests.storage`, e.g. `1Gi`) and
 * StorageClass (`spec.storageClassName`, filled in by the API server's DefaultStorageClass admission when the claim
 * named none; absent for a claim bound to a PersistentVolume without a class).
 */
export interface LiveClaim {
    readonly name: string;
    readonly size: string;
    readonly storageClass?: string;
    /** `spec.accessModes`, e.g. `["ReadWriteOnce"]`; undefined when the list did not say. */
    readonly accessModes?: string[];
    /**
     * The UIDs of the claim's `metadata.ownerReferences`. The StatefulSet controller makes a StatefulSet the owner of
     * its claims while `persistentVolumeClaimRetentionPolicy.whenDeleted` is `Delete`, so the garbage collector deletes
     * them with it (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#persistentvolumeclaim-retention).
     * Default: none.
     */
    readonly ownerUids?: string[];
}

/**
 * The PersistentVolumeClaims in `namespace` (an empty list when the namespace does not exist: the API server lists
 * nothing rather than failing).
 */
export async function listClaims(conn: ClusterConnection, namespace: string): Promise<LiveClaim[]> {
    const list = (await getJson(conn, `/api/v1/namespaces/${encodeURIComponent(namespace)}/persistentvolumeclaims`)) as {
        items?: {
            metadata?: { name?: string; ownerReferences?: { uid?: string }[] };
            spec?: { storageClassName?: string; accessModes?: string[]; resources?: { requests?: { storage?: string } } };
        }[];
    };
    return (list.items ?? []).flatMap((i) => {
        const name = i.metadata?.name;
        const size = i.spec?.resources?.requests?.storage;
        const storageClass = i.spec?.storageClassName;
        const accessModes = i.spec?.accessModes;
        const ownerUids = (i.metadata?.ownerReferences ?? []).flatMap((o) => (o.uid ? [o.uid] : []));
        return name && size
            ? [
                  {
                      name,
                      size,
                      ...(storageClass ? { storageClass } : {}),
                      ...(accessModes ? { accessModes } : {}),
                      ...(ownerUids.length > 0 ? { ownerUids } : {}),
                  },
              ]
            : [];
    });
}

/**
 * A live StatefulSet: who deployed it and how (to find the apps an `up` would delete, config/departures.ts) and the
 * immutable fields that config sets: `podManagementPolicy` and the size its volumeClaimTemplates ask.
 */
export interface LiveStatefulSet {
    readonly name: string;
    /** Its namespace. Default: the namespace that was listed. */
    readonly namespace?: string;
    /** `metadata.uid` (claims it owns name it in their ownerReferences). */
    readonly uid?: string;
    /** The label `app.kubernetes.io/managed-by`: `pulumi` (native path), `Helm` (a release of the chart), or absent. */
    readonly managedBy?: string;
    /** The label `app.kubernetes.io/part-of` (this program's objects: `stateful-apps`). */
    readonly partOf?: string;
    /** The annotation {@link STACK_ANNOTATION}: the stack that deploys it; absent on StatefulSets of earlier versions. */
    readonly stack?: string;
    /** It has a `metadata.deletionTimestamp`: being deleted. Default false. */
    readonly deleting?: boolean;
    readonly podManagementPolicy: string;
    /** `spec.volumeClaimTemplates[0].spec.resources.requests.storage`, e.g. `1Gi`; undefined without templates. */
    readonly claimSize?: string;
    /** Annotated `pulumi.com/deletionPropagationPolicy: orphan` (lib/recreate.ts: marked by a first `up`). Default false. */
    readonly orphanOnDelete?: boolean;
    /** `spec.persistentVolumeClaimRetentionPolicy.whenDeleted` (`Retain`, the API server's default, or `Delete`). */
    readonly whenDeleted?: string;
    /** `metadata.generation`: moves on every spec change (lib/rollout-watch.ts waits for the rollouts an `up` started). */
    readonly generation?: number;
    /** `spec.replicas` (the API server defaults it to 1); config/peer-rules.ts guards membership changes against it. */
    readonly replicas?: number;
}

/** The StatefulSets in `namespace` (an empty list when the namespace does not exist). */
export async function listStatefulSets(conn: ClusterConnection, namespace: string): Promise<LiveStatefulSet[]> {
    return statefulSetsOf(await getJson(conn, `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/statefulsets`), namespace);
}

/**
 * This program's StatefulSets in every namespace (label `app.kubernetes.io/part-of: stateful-apps`; one GET), or
 * undefined when the deploying identity may not list StatefulSets cluster-wide (HTTP 403): then only the stack's own
 * namespace is known.
 */
export async function listProgramStatefulSets(conn: ClusterConnection): Promise<LiveStatefulSet[] | undefined> {
    const body = await getJsonIfAllowed(conn, `/apis/apps/v1/statefulsets?labelSelector=${encodeURIComponent(`${PART_OF_LABEL}=${PROJECT}`)}`);
    return body === undefined ? undefined : statefulSetsOf(body);
}

function statefulSetsOf(body: unknown, listedNamespace?: string): LiveStatefulSet[] {
    const list = body as {
        items?: {
            metadata?: {
                name?: string;
                namespace?: string;
                uid?: string;
                generation?: number;
                deletionTimestamp?: string;
                labels?: Record<string, string>;
                annotations?: Record<string, string>;
            };
            spec?: {
                replicas?: number;
                podManagementPolicy?: string;
                persistentVolumeClaimRetentionPolicy?: { whenDeleted?: string };
                volumeClaimTemplates?: { spec?: { resources?: { requests?: { storage?: string } } } }[];
            };
        }[];
    };
    return (list.items ?? []).flatMap((i) => {
        const name = i.metadata?.name;
        const claimSize = i.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage;
        const orphanOnDelete = i.metadata?.annotations?.[DELETION_PROPAGATION_ANNOTATION]?.toLowerCase() === "orphan";
        const labels = i.metadata?.labels ?? {};
        const namespace = i.metadata?.namespace ?? listedNamespace;
        const uid = i.metadata?.uid;
        const managedBy = labels[MANAGED_BY_LABEL];
        const partOf = labels[PART_OF_LABEL];
        const stack = i.metadata?.annotations?.[STACK_ANNOTATION];
        // The API server defaults podManagementPolicy to OrderedReady.
        return name
            ? [
                  {
                      name,
                      ...(namespace ? { namespace } : {}),
                      ...(uid ? { uid } : {}),
                      ...(managedBy ? { managedBy } : {}),
                      ...(partOf ? { partOf } : {}),
                      ...(stack ? { stack } : {}),
                      ...(i.metadata?.deletionTimestamp ? { deleting: true } : {}),
                      podManagementPolicy: i.spec?.podManagementPolicy ?? "OrderedReady",
                      replicas: i.spec?.replicas ?? 1,
                      whenDeleted: i.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted ?? "Retain",
                      ...(claimSize ? { claimSize } : {}),
                      ...(orphanOnDelete ? { orphanOnDelete } : {}),
                      ...(i.metadata?.generation !== undefined ? { generation: i.metadata.generation } : {}),
                  },
              ]
            : [];
    });
}

/** A live StorageClass: whether claims of it may grow (`allowVolumeExpansion`, false when unset). */
export interface LiveStorageClass {
    readonly name: string;
    readonly allowVolumeExpansion: boolean;
}

/**
 * Reads the StorageClasses named `names` (one GET each, side by side; cluster-scoped, so the deploying identity
 * needs `get` on `storageclasses`). A class that does not exist is left out.
 */
export async function readStorageClasses(conn: ClusterConnection, names: readonly string[]): Promise<LiveStorageClass[]> {
    const read = async (name: string): Promise<LiveStorageClass[]> => {
        const sc = (await getJsonIfExists(conn, `/apis/storage.k8s.io/v1/storageclasses/${encodeURIComponent(name)}`)) as
            | { allowVolumeExpansion?: boolean }
            | undefined;
        return sc ? [{ name, allowVolumeExpansion: sc.allowVolumeExpansion === true }] : [];
    };
    return (await Promise.all([...new Set(names)].map(read))).flat();
}

/**
 * Which of the PriorityClasses named `names` exist (one GET each, side by side; cluster-scoped, so the deploying
 * identity needs `get` on `priorityclasses`). A pod naming a PriorityClass that does not exist is refused by the API
 * server's Priority admission, so its StatefulSet would never roll out.
 */
export async function existingPriorityClasses(conn: ClusterConnection, names: readonly string[]): Promise<string[]> {
    const read = async (name: string): Promise<string[]> =>
        (await getJsonIfExists(conn, `/apis/scheduling.k8s.io/v1/priorityclasses/${encodeURIComponent(name)}`)) === undefined ? [] : [name];
    return (await Promise.all([...new Set(names)].map(read))).flat();
}

/**
 * The names of the cluster's StorageClasses (one LIST; cluster-scoped, so the deploying identity needs `list` on
 * `storageclasses`), or undefined when that is forbidden (HTTP 403): the check that needs them is then skipped.
 */
export async function listStorageClassNames(conn: ClusterConnection): Promise<string[] | undefined> {
    const list = (await getJsonIfAllowed(conn, "/apis/storage.k8s.io/v1/storageclasses")) as { items?: { metadata?: { name?: string } }[] } | undefined;
    return list === undefined ? undefined : (list.items ?? []).flatMap((i) => (i.metadata?.name ? [i.metadata.name] : []));
}

/** What the program reads from the stack's namespace before it registers anything. */
export interface LiveNamespace {
    readonly claims: LiveClaim[];
    readonly statefulSets: LiveStatefulSet[];
    /** The StorageClasses of the claims a larger `storage.size` would grow (config/live.ts `classesToRead`); may be empty. */
    readonly storageClasses: LiveStorageClass[];
    /** Of the PriorityClasses the config names, those that exist (all of them when the config names none). */
    readonly priorityClasses?: string[];
    /** Every StorageClass of the cluster, read when the config names one; undefined when not read or not readable. */
    readonly storageClassNames?: string[];
    /**
     * The program's StatefulSets in other namespaces ({@link listProgramStatefulSets}) and the PVCs of those namespaces,
     * each with its `namespace`; undefined when the deploying identity may not list StatefulSets cluster-wide.
     */
    readonly elsewhere?: { readonly statefulSets: LiveStatefulSet[]; readonly claims: (LiveClaim & { namespace: string })[] };
}

/**
 * Lists the namespace's PVCs and StatefulSets and the program's StatefulSets in every namespace (three GETs, side by
 * side), then the PVCs of each other namespace that holds a StatefulSet for which `stackFilter` is true (one GET each),
 * the StorageClasses that `classesFor` picks from the claims (none by default), the PriorityClasses named
 * `priorityClassNames` (one GET each; none by default) and, when `listStorageClasses`, every StorageClass's name.
 */
export async function readNamespace(
    conn: ClusterConnection,
    namespace: string,
    classesFor: (claims: readonly LiveClaim[]) => string[] = () => [],
    stackFilter: (s: LiveStatefulSet) => boolean = () => false,
    priorityClassNames: readonly string[] = [],
    listStorageClasses = false,
): Promise<LiveNamespace> {
    const [claims, statefulSets, everywhere] = await Promise.all([
        listClaims(conn, namespace),
        listStatefulSets(conn, namespace),
        listProgramStatefulSets(conn),
    ]);
    const others = everywhere?.filter((s) => s.namespace !== namespace && stackFilter(s));
    const otherNamespaces = [...new Set((others ?? []).flatMap((s) => (s.namespace ? [s.namespace] : [])))];
    const [storageClasses, otherClaims, priorityClasses, storageClassNames] = await Promise.all([
        readStorageClasses(conn, classesFor(claims)),
        Promise.all(otherNamespaces.map(async (ns) => (await listClaims(conn, ns)).map((c) => ({ ...c, namespace: ns })))),
        existingPriorityClasses(conn, priorityClassNames),
        listStorageClasses ? listStorageClassNames(conn) : Promise.resolve(undefined),
    ]);
    return {
        claims,
        statefulSets,
        storageClasses,
        priorityClasses,
        ...(storageClassNames ? { storageClassNames } : {}),
        ...(others ? { elsewhere: { statefulSets: others, claims: otherClaims.flat() } } : {}),
    };
}
