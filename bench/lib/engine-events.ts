/**
 * Where the time of one engine operation goes, from the Automation API's event stream. The events' own
 * timestamps are whole seconds, so each event is stamped when this process receives it (the Automation API tails
 * the engine's event log). The inline program runs in this same process: while it computes synchronously, events
 * are received late, so a phase that follows program work includes that work.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";

/** An event as received: milliseconds since the operation started. */
export interface Stamped {
    readonly ms: number;
    readonly event: EngineEvent;
}

/** Collects the events of one operation; pass `onEvent` to `up`/`preview`, read `events` afterwards. */
export function eventRecorder(): { onEvent: (e: EngineEvent) => void; events: Stamped[]; start: () => void } {
    const events: Stamped[] = [];
    let t0 = process.hrtime.bigint();
    return {
        events,
        start: () => (t0 = process.hrtime.bigint()),
        onEvent: (event) => events.push({ ms: Number(process.hrtime.bigint() - t0) / 1e6, event }),
    };
}

/** Per Kubernetes resource type: how many steps, and the median and largest time from a step's start to its outputs. */
export interface TypeCost {
    readonly type: string;
    readonly steps: number;
    readonly medianMs: number;
    readonly maxMs: number;
}

/**
 * The split of one operation (milliseconds from its start; `totalMs` is when the Automation API call returned):
 * - `engineStartMs`: the CLI started, read the state and the config (its prelude event);
 * - `providerReadyMs`: the kubernetes provider's step finished (its plugin started and configured);
 * - `firstResourceMs`: the program's first Kubernetes object reached the engine;
 * - `lastOutputsMs`: the last step finished (creates, updates and their awaits);
 * - `summaryMs`: the engine's summary event (the operation is over; what follows is the CLI saving its last
 *   checkpoint and exiting, and for `up` the Automation API's own reads after it: `pulumi stack output` twice and
 *   `pulumi stack history`, three more CLI processes that a `pulumi up` on the command line does not run);
 * - `byType`: each Kubernetes resource type's steps, slowest first (where `up`'s time goes).
 */
export interface Phases {
    readonly engineStartMs: number;
    readonly providerReadyMs: number;
    readonly firstResourceMs: number;
    readonly lastOutputsMs: number;
    readonly summaryMs: number;
    readonly totalMs: number;
    readonly byType: TypeCost[];
}

/** The {@link Phases} of an operation from its recorded events and its wall time. */
export function phases(events: Stamped[], totalMs: number): Phases {
    const first = (pred: (e: EngineEvent) => boolean) => events.find((s) => pred(s.event))?.ms ?? NaN;
    const pre = new Map<string, { ms: number; type: string }>();
    const durations = new Map<string, number[]>();
    let lastOutputsMs = NaN;
    let providerReadyMs = NaN;
    for (const { ms, event } of events) {
        const p = event.resourcePreEvent?.metadata;
        if (p) pre.set(p.urn, { ms, type: p.type });
        const o = event.resOutputsEvent?.metadata;
        if (o) {
            lastOutputsMs = ms;
            const start = pre.get(o.urn);
            // Kubernetes objects only: a component's step spans its children's, and the Stack's the whole run.
            if (start && start.type.startsWith("kubernetes:")) durations.set(start.type, [...(durations.get(start.type) ?? []), ms - start.ms]);
            if (o.type.startsWith("pulumi:providers:kubernetes") && Number.isNaN(providerReadyMs)) providerReadyMs = ms;
        }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
    const byType = [...durations.entries()]
        .map(([type, xs]) => ({ type, steps: xs.length, medianMs: Math.round(median(xs)), maxMs: Math.round(Math.max(...xs)) }))
        .sort((a, b) => b.maxMs - a.maxMs);
    return {
        engineStartMs: Math.round(first((e) => e.preludeEvent !== undefined)),
        providerReadyMs: Math.round(providerReadyMs),
        firstResourceMs: Math.round(first((e) => (e.resourcePreEvent?.metadata.type ?? "").startsWith("kubernetes:"))),
        lastOutputsMs: Math.round(lastOutputsMs),
        summaryMs: Math.round(first((e) => e.summaryEvent !== undefined)),
        totalMs: Math.round(totalMs),
        byType,
    };
}
