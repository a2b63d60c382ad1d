/**
 * Rules of a clustered app's keys (./peer-schema.ts): unique port names and numbers, peer env that can arrive, a
 * seed count the app has, and the membership guard, at preview against the live StatefulSet's replicas.
 */
import type { LiveStatefulSet } from "../lib/kube-api";
import { MAX_APP_NAME_WITH_STEPS } from "../lib/membership";
import { PEER_PLACEHOLDERS } from "./peer-schema";
import { INJECTED_ENV } from "./fields";
import { ConfigProblem, configKey } from "./errors";
import type { AppConfig } from "./schema";

/** One problem at a config path (the shape of config/rules.ts `Problem`). */
interface Problem {
    readonly path: PropertyKey[];
    readonly message: string;
    readonly given?: unknown;
}

/**
 * Extra ports: names and numbers unique across the app's ports (the main port, the mtail `metrics` port): the API
 * server refuses a Service with two ports of one name or one number and protocol (core/validation
 * ValidateService: "Duplicate value"), and a container's duplicate port names (validateContainerPorts).
 */
function portRules(app: AppConfig, at: (...p: PropertyKey[]) => PropertyKey[]): Problem[] {
    const out: Problem[] = [];
    const names = new Map<string, string>([[app.portName, "portName"]]);
    const numbers = new Map<number, string>([[app.port, "port"]]);
    if (app.metrics) {
        names.set("metrics", "the metrics sidecar's port name");
        numbers.set(app.metrics.port, "metrics.port");
    }
    // The client Service carries the main port as service.port (default: port) and each clients port as itself.
    const clientPort = app.service.port ?? app.port;
    app.extraPorts.forEach((p, j) => {
        const taken = names.get(p.name);
        if (taken) out.push({ path: at("extraPorts", j, "name"), message: `is already used by ${taken}; port names must be unique in the app`, given: p.name });
        names.set(p.name, `extraPorts[${j}].name`);
        const used = numbers.get(p.port);
        if (used) out.push({ path: at("extraPorts", j, "port"), message: `is already used by ${used}; port numbers must be unique in the app`, given: p.port });
        numbers.set(p.port, `extraPorts[${j}].port`);
        if (p.access === "clients" && p.port === clientPort && clientPort !== app.port) {
            out.push({ path: at("extraPorts", j, "port"), message: `is the client Service's port (service.port ${clientPort}); pick another`, given: p.port });
        }
    });
    return out;
}

/** Placeholders a format may use with `members`: all of them, but `{ordinal}` not for `self` (no field gives it). */
function formatProblem(format: string, members: "self" | "all" | "first"): string | undefined {
    const unknown = (format.match(/\{[^}]*\}/g) ?? []).filter((p) => !(p in PEER_PLACEHOLDERS));
    if (unknown.length > 0) return `has ${unknown.join(", ")}; the placeholders are ${Object.keys(PEER_PLACEHOLDERS).join(", ")}`;
    if (members === "self" && format.includes("{ordinal}")) return "uses {ordinal} with members: self; use {pod} (the pod's name ends in its ordinal)";
    return undefined;
}

/** Peer env: names that arrive (not shadowed, not shadowing), a `count` exactly for `first` and within `replicas`. */
function peerEnvRules(app: AppConfig, at: (...p: PropertyKey[]) => PropertyKey[]): Problem[] {
    const out: Problem[] = [];
    const seen = new Map<string, number>();
    app.peerEnv.forEach((e, j) => {
        const where = at("peerEnv", j);
        if (e.name in INJECTED_ENV || e.name === app.secret.envName) {
            out.push({
                path: [...where, "name"],
                message: `is set by the program (${[...Object.keys(INJECTED_ENV), "secret.envName"].join(", ")}); pick another name`,
                given: e.name,
            });
        } else if (e.name in app.env) {
            out.push({ path: [...where, "name"], message: `is also set in env; the container would see only one of them: remove it from env`, given: e.name });
        } else if (seen.has(e.name)) {
            out.push({ path: [...where, "name"], message: `duplicates peerEnv[${seen.get(e.name)}].name`, given: e.name });
        }
        seen.set(e.name, j);
        if (e.members === "first" && e.count === undefined) {
            out.push({ path: [...where, "count"], message: "is required with members: first (how many seeds, e.g. 1 or 2)" });
        } else if (e.members !== "first" && e.count !== undefined) {
            out.push({ path: [...where, "count"], message: `applies only to members: first (members is ${e.members})`, given: e.count });
        } else if (e.count !== undefined && app.replicas > 0 && e.count > app.replicas) {
            out.push({
                path: [...where, "count"],
                message: `is above replicas (${app.replicas}): the seeds would name members that do not exist, and they would wait for them forever`,
                given: e.count,
            });
        }
        const bad = formatProblem(e.format, e.members);
        if (bad) out.push({ path: [...where, "format"], message: bad, given: e.format });
    });
    return out;
}

/** A `replicas` below `membership.minReplicas` (0, a parked app, is allowed). */
function minReplicasRule(app: AppConfig, at: (...p: PropertyKey[]) => PropertyKey[]): Problem[] {
    const min = app.membership.minReplicas;
    return min !== undefined && app.replicas > 0 && app.replicas < min
        ? [
              {
                  path: at("replicas"),
                  message: `is below membership.minReplicas (${min}): the app cannot keep its quorum with fewer members`,
                  given: app.replicas,
              },
          ]
        : [];
}

/** An app with membership steps: its name must leave room for the step Jobs' `job-name` label. */
function stepNameRule(app: AppConfig, at: (...p: PropertyKey[]) => PropertyKey[]): Problem[] {
    const steps = app.membership.beforeScaleDown ?? app.membership.afterScaleUp;
    return steps && app.name.length > MAX_APP_NAME_WITH_STEPS
        ? [
              {
                  path: at("name"),
                  message: `must be at most ${MAX_APP_NAME_WITH_STEPS} characters with membership steps: the Job <name>-scale-down-<hash> becomes a 63-character label (job-name)`,
                  given: app.name,
              },
          ]
        : [];
}

/** Every problem of an app's clustered keys, as config/rules.ts `crossFieldProblems` collects them. */
export function peerRules(app: AppConfig, at: (...p: PropertyKey[]) => PropertyKey[]): Problem[] {
    return [...portRules(app, at), ...peerEnvRules(app, at), ...minReplicasRule(app, at), ...stepNameRule(app, at)];
}

/**
 * The membership guard against the live StatefulSet (`sts`, from the pre-flight read): a change of `replicas` by more
 * than `membership.maxScaleDownStep` (down) or `maxScaleUpStep` (up) members in one `up` is refused, naming the
 * key, the live count and the safe steps. Scaling to 0 (parking the app: every member stops, none leaves the
 * membership) and an app with no live StatefulSet are not checked.
 */
export function membershipProblems(app: AppConfig, i: number, sts: LiveStatefulSet | undefined): ConfigProblem[] {
    const live = sts?.replicas;
    if (live === undefined || live === 0 || app.replicas === 0 || app.replicas === live) return [];
    const down = live - app.replicas;
    const step = down > 0 ? app.membership.maxScaleDownStep : app.membership.maxScaleUpStep;
    if (step === undefined || Math.abs(down) <= step) return [];
    const next = down > 0 ? live - step : live + step;
    return [
        {
            key: configKey(["apps", i, "replicas"]),
            message: `would ${down > 0 ? "remove" : "add"} ${Math.abs(down)} members at once (the live StatefulSet ${sts?.name} has ${live}); membership.${down > 0 ? "maxScaleDownStep" : "maxScaleUpStep"} allows ${step} per up. Go in steps: ${next} first, then on`,
            given: app.replicas,
        },
    ];
}
