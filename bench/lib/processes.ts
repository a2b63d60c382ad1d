/**
 * Peak memory and CPU time of the processes behind one engine operation, read from /proc (Linux only): this Node.js
 * process (the Automation API and the inline program), the Pulumi CLI (the engine) and the kubernetes resource plugin
 * (the provider), sampled every `intervalMs` while the operation runs. RSS is what each process has resident (VmRSS,
 * KiB in /proc/<pid>/status, reported in MiB); a sample between two reads can miss a short peak.
 */
import * as fs from "fs";

/** Which part of the engine a process is: the process running the program, the CLI, the provider, or another. */
export type Role = "program" | "engine" | "provider" | "other";

/** Peak resident memory per role in MiB (the sum over that role's processes at one sample, the largest sample). */
export type PeakRss = Record<Role, number>;

/** What {@link sampleUsage} measured: peak RSS per role (MiB), CPU seconds per role, and the machine's busy share. */
export interface Usage {
    readonly peakMiB: PeakRss;
    /** CPU time (user + system, seconds) each role's processes used during the operation (last value seen per process). */
    readonly cpuSeconds: Record<Role, number>;
    /** Share of all cores' time the whole machine was busy during the operation (/proc/stat; 1 = every core busy). */
    readonly machineBusy: number;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux x86_64 (getconf CLK_TCK)

/** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat, after the command name). */
function cpuTicks(pid: number): number {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return Number(fields[11]) + Number(fields[12]);
    } catch {
        return 0;
    }
}

/** All cores' busy and total ticks since boot (/proc/stat `cpu` line; idle and iowait are not busy). */
function machineTicks(): { busy: number; total: number } {
    const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - f[4], total };
}

function children(pid: number): number[] {
    const out: number[] = [];
    let tasks: string[] = [];
    try {
        tasks = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
        return out;
    }
    for (const t of tasks) {
        try {
            out.push(...fs.readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").split(" ").filter(Boolean).map(Number));
        } catch {
            // The task ended between the two reads.
        }
    }
    return out;
}

function rssKiB(pid: number): number {
    try {
        const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        return m ? Number(m[1]) : 0;
    } catch {
        return 0;
    }
}

function role(pid: number): Role {
    if (pid === process.pid) return "program";
    let exe = "";
    try {
        exe = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
    } catch {
        return "other";
    }
    const name = exe.slice(exe.lastIndexOf("/") + 1);
    if (name === "pulumi") return "engine";
    if (name.startsWith("pulumi-resource-kubernetes")) return "provider";
    return "other";
}

/** This process and all its descendants, with their roles and RSS (KiB), now. */
export function processTree(): { pid: number; role: Role; rssKiB: number }[] {
    const seen = new Set<number>();
    const queue = [process.pid];
    const out: { pid: number; role: Role; rssKiB: number }[] = [];
    while (queue.length > 0) {
        const pid = queue.shift()!;
        if (seen.has(pid)) continue;
        seen.add(pid);
        out.push({ pid, role: role(pid), rssKiB: rssKiB(pid) });
        queue.push(...children(pid));
    }
    return out;
}

/**
 * Samples {@link processTree} every `intervalMs` until `stop()`, which returns the peak RSS per role, the CPU time
 * each role used, and how busy the machine was. The provider is a grandchild (the CLI starts it); the program's own
 * growth shows under `program`, whose CPU time counts only from the start (it is this long-lived process).
 */
export function sampleUsage(intervalMs = 100): { stop: () => Usage } {
    const peak: PeakRss = { program: 0, engine: 0, provider: 0, other: 0 };
    const firstTicks = new Map<number, number>([[process.pid, cpuTicks(process.pid)]]);
    const lastTicks = new Map<number, { role: Role; ticks: number }>();
    const machine0 = machineTicks();
    const tick = () => {
        const sums: PeakRss = { program: 0, engine: 0, provider: 0, other: 0 };
        for (const p of processTree()) {
            sums[p.role] += p.rssKiB;
            // A process's role from the first sample that knew it: a child not yet exec'd still shows this
            // process's command line ("other"), and an exited one (a zombie until reaped) shows none.
            const known = lastTicks.get(p.pid)?.role;
            lastTicks.set(p.pid, { role: known && known !== "other" ? known : p.role, ticks: cpuTicks(p.pid) });
        }
        for (const r of Object.keys(sums) as Role[]) peak[r] = Math.max(peak[r], sums[r]);
    };
    tick();
    const timer = setInterval(tick, intervalMs);
    return {
        stop: () => {
            clearInterval(timer);
            tick();
            const machine1 = machineTicks();
            const cpu: Record<Role, number> = { program: 0, engine: 0, provider: 0, other: 0 };
            for (const [pid, { role, ticks }] of lastTicks) cpu[role] += (ticks - (firstTicks.get(pid) ?? 0)) / TICKS_PER_SECOND;
            return {
                peakMiB: Object.fromEntries(Object.entries(peak).map(([r, kib]) => [r, Math.round(kib / 1024)])) as PeakRss,
                cpuSeconds: Object.fromEntries(Object.entries(cpu).map(([r, sec]) => [r, Math.round(sec * 10) / 10])) as Record<Role, number>,
                machineBusy: Math.round(((machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total)) * 100) / 100,
            };
        },
    };
}
