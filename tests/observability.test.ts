/**
 * Metrics from logs and alert rules, with the real tools (binaries from `scripts/toolchain --bin-dir`, else
 * PATH): each mtail program runs in a real mtail that tails a temp log file, the sample logs in
 * tests/fixtures/logs are appended to it, and the exact values mtail serves on /metrics are checked; promtool
 * checks the rules file lib/observability.ts generates and runs the unit tests in observability/rules-tests
 * against it.
 *
 * What this proves: the programs compile, match the documented line formats (and ignore other lines) and
 * export exactly the metrics documented, with no labels but mtail's `prog`; the generated rules are valid and
 * fire, or stay quiet, on the series in the unit tests, `for:` included. What it does not: that the apps really
 * write these formats (the samples are hand-written), that Prometheus scrapes the sidecar with the `job` and
 * target labels the rules assume, or that kube-state-metrics and the kubelet export the series as the unit
 * tests model them.
 */
import * as assert from "assert";
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import {
    AlertOptions,
    alertRuleSpec,
    LOG_FORMAT_INFO,
    LOG_FORMATS,
    LogFormat,
    MTAIL_PROGRAM_DIR,
    mtailArgs,
    mtailProgramPath,
    promDuration,
    RulesSpec,
    rulesFileYaml,
} from "../lib/observability";
import { STACK_SCHEMA } from "../config/schema";

const ROOT = path.resolve(__dirname, "..");
const FIXTURES = path.join(ROOT, "tests", "fixtures", "logs");
const RULES_TESTS = path.join(ROOT, "observability", "rules-tests");
const NAMESPACE = "stateful-dev";

/** A tool from the toolchain's bin dir, else from PATH; throws with a hint when neither has it. */
function tool(name: string): string {
    let binDir = "";
    try {
        binDir = execFileSync("bash", [path.join(ROOT, "scripts", "toolchain"), "--bin-dir"], { encoding: "utf8" }).trim();
    } catch {
        // No toolchain script output: PATH only.
    }
    const dirs = [binDir, ...(process.env.PATH ?? "").split(path.delimiter)].filter((d) => d);
    for (const dir of dirs) {
        const candidate = path.join(dir, name);
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            return candidate;
        } catch {
            // Not here.
        }
    }
    throw new Error(`${name} is neither in ${binDir || "the toolchain bin dir"} nor on PATH (run: bash scripts/toolchain mtail promtool)`);
}

/** One sample of the Prometheus text exposition format. */
interface Sample {
    readonly name: string;
    readonly labels: Record<string, string>;
    readonly value: number;
}

/**
 * Parses the Prometheus text format (version 0.0.4): `name{label="value",...} value [timestamp]` per line,
 * `#` comments, label values with `\\`, `\"` and `\n` escapes, and `+Inf`, `-Inf`, `NaN` values.
 */
function parsePrometheusText(text: string): Sample[] {
    const samples: Sample[] = [];
    for (const [i, raw] of text.split("\n").entries()) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#")) {
            continue;
        }
        const fail = (why: string): never => {
            throw new Error(`line ${i + 1}: ${why}: ${raw}`);
        };
        const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line) ?? fail("no metric name");
        const name = nameMatch[0];
        let pos = name.length;
        const labels: Record<string, string> = {};
        if (line[pos] === "{") {
            pos++;
            for (;;) {
                while (line[pos] === " ") pos++;
                if (line[pos] === "}") {
                    pos++;
                    break;
                }
                const key = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(pos)) ?? fail("bad label name");
                pos += key[0].length;
                if (line[pos] !== "=" || line[pos + 1] !== '"') fail('expected ="');
                pos += 2;
                let value = "";
                while (line[pos] !== '"') {
                    if (pos >= line.length) fail("unterminated label value");
                    if (line[pos] === "\\") {
                        const next = line[pos + 1];
                        value += next === "n" ? "\n" : next;
                        pos += 2;
                    } else {
                        value += line[pos++];
                    }
                }
                pos++;
                labels[key[0]] = value;
                while (line[pos] === " ") pos++;
                if (line[pos] === ",") pos++;
                else if (line[pos] !== "}") fail("expected , or }");
            }
        }
        const fields = line.slice(pos).trim().split(/\s+/);
        if (fields.length < 1 || fields.length > 2 || fields[0] === "") fail("expected a value and an optional timestamp");
        const special: Record<string, number> = { "+Inf": Infinity, "-Inf": -Infinity, NaN: NaN };
        const value = fields[0] in special ? special[fields[0]] : Number(fields[0]);
        if (Number.isNaN(value) && fields[0] !== "NaN") fail("bad value");
        samples.push({ name, labels, value });
    }
    return samples;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A running mtail on one log file, with a single program, bound to a free port on 127.0.0.1. */
class Mtail {
    private constructor(
        private readonly proc: ChildProcess,
        readonly port: number,
        private readonly stderr: () => string,
    ) {}

    /** Starts mtail and waits (up to 10 s) until it listens and tails `logFile`. */
    static async start(binary: string, progsDir: string, logFile: string): Promise<Mtail> {
        const proc = spawn(binary, mtailArgs({ logFile, progsDir, port: 0, address: "127.0.0.1" }), { stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        proc.stderr?.on("data", (d) => (err += d));
        const deadline = Date.now() + 10_000;
        for (;;) {
            const listening = /Listening on 127\.0\.0\.1:(\d+)/.exec(err);
            if (listening && err.includes(`Tailing ${logFile}`)) {
                return new Mtail(proc, Number(listening[1]), () => err);
            }
            if (proc.exitCode !== null || Date.now() > deadline) {
                proc.kill();
                throw new Error(`mtail did not start (exit ${proc.exitCode}):\n${err}`);
            }
            await sleep(20);
        }
    }

    async samples(): Promise<Sample[]> {
        const res = await fetch(`http://127.0.0.1:${this.port}/metrics`);
        assert.strictEqual(res.status, 200);
        return parsePrometheusText(await res.text());
    }

    /**
     * The program's metrics by name. Asserts that each has exactly one series, labelled only with mtail's
     * `prog` (the program adds no labels).
     */
    async programMetrics(program: string): Promise<Record<string, number>> {
        const out: Record<string, number> = {};
        for (const s of await this.samples()) {
            if (s.labels.prog === program && !s.name.startsWith("mtail_")) {
                assert.deepStrictEqual(s.labels, { prog: program }, `labels of ${s.name}`);
                assert.ok(!(s.name in out), `${s.name} has more than one series`);
                out[s.name] = s.value;
            }
        }
        return out;
    }

    /** Polls /metrics (up to 5 s) until the program's metrics equal `expected` exactly; then asserts it. */
    async expectMetrics(program: string, expected: Record<string, number>): Promise<void> {
        const deadline = Date.now() + 5000;
        let actual = await this.programMetrics(program);
        while (!isDeepStrictEqual(actual, expected) && Date.now() < deadline) {
            await sleep(50);
            actual = await this.programMetrics(program);
        }
        assert.deepStrictEqual(actual, expected, `mtail stderr:\n${this.stderr()}`);
    }

    /** SIGTERM, and waits for the exit (SIGKILL after 2 s). */
    async stop(): Promise<void> {
        if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
            return;
        }
        const exited = new Promise((resolve) => this.proc.once("exit", resolve));
        this.proc.kill();
        const timer = setTimeout(() => this.proc.kill("SIGKILL"), 2000);
        await exited;
        clearTimeout(timer);
    }
}

function isDeepStrictEqual(a: unknown, b: unknown): boolean {
    try {
        assert.deepStrictEqual(a, b);
        return true;
    } catch {
        return false;
    }
}

function fixtureLines(file: string): string[] {
    return fs
        .readFileSync(path.join(FIXTURES, file), "utf8")
        .split("\n")
        .filter((l) => l !== "");
}

/** Unix seconds of an RFC 3339 time. */
const unix = (rfc3339: string) => Date.parse(rfc3339) / 1000;

const HASH = "6f1c2b0e4d3a29187c5e0f9b8a7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a190817";

/** Per format: the fixture, how many of its lines to append first, and the metrics after each step. */
interface FormatCase {
    readonly fixture: string;
    /** A line already in the file when mtail starts: never counted (mtail tails from the end). */
    readonly preexisting: string;
    readonly initial: Record<string, number>;
    readonly firstLines: number;
    readonly afterFirst: Record<string, number>;
    readonly afterAll: Record<string, number>;
    /** Lines in other formats, then one valid line last (so the values prove the others were read first). */
    readonly others: string[];
    readonly afterOthers: Record<string, number>;
}

const CASES: Record<LogFormat, FormatCase> = {
    visits: {
        fixture: "visits.txt",
        preexisting: "2026-11-23T09:00:00Z visit 16 pod=visits-0",
        initial: { visits_total: 0 },
        firstLines: 2,
        afterFirst: { visits_total: 2, visits_counter_value: 18, visits_last_timestamp_seconds: unix("2026-11-23T10:15:09Z") },
        afterAll: { visits_total: 5, visits_counter_value: 21, visits_last_timestamp_seconds: unix("2026-11-23T10:21:31Z") },
        others: [
            "",
            "Traceback (most recent call last):",
            "2026-11-23T10:22:00Z visited 99 pod=visits-0",
            "visit 99 pod=visits-0",
            "2026-11-23T10:22:00Z",
            "2026-11-23T10:22:30Z visit 22 pod=visits-1",
        ],
        afterOthers: { visits_total: 6, visits_counter_value: 22, visits_last_timestamp_seconds: unix("2026-11-23T10:22:30Z") },
    },
    timestamps: {
        fixture: "timestamps.txt",
        preexisting: "2026-11-23T09:00:00Z",
        initial: { visits_total: 0 },
        firstLines: 2,
        afterFirst: { visits_total: 2, visits_last_timestamp_seconds: unix("2026-11-23T10:15:09Z") },
        // The last line is 11:21:31+01:00.
        afterAll: { visits_total: 4, visits_last_timestamp_seconds: unix("2026-11-23T10:21:31Z") },
        others: ["2026-11-23T10:22:00Z visit 22 pod=visits-0", "2026-11-23 10:22:00", "not a timestamp", "", "2026-11-23T10:23:00.5Z"],
        afterOthers: { visits_total: 5, visits_last_timestamp_seconds: unix("2026-11-23T10:23:00Z") },
    },
    "litecoin-debug": {
        fixture: "litecoin-debug.txt",
        preexisting: `2024-05-01T11:00:00Z UpdateTip: new best=${HASH} height=3212000 version=0x20000000 log2_work=61.2 tx=6437000 date='2024-05-01T10:59:00Z' progress=0.5 cache=0.1MiB(10txo)`,
        initial: { litecoin_log_lines_total: 0, litecoin_tip_updates_total: 0, litecoin_peer_connections_total: 0, litecoin_peer_disconnections_total: 0 },
        // Up to and including the second UpdateTip.
        firstLines: 21,
        afterFirst: {
            litecoin_log_lines_total: 21,
            litecoin_tip_updates_total: 2,
            litecoin_block_height: 3212342,
            litecoin_sync_progress_ratio: 0.999727,
            litecoin_peer_connections_total: 1,
            litecoin_peer_disconnections_total: 0,
        },
        afterAll: {
            litecoin_log_lines_total: 28,
            litecoin_tip_updates_total: 4,
            litecoin_block_height: 3212402,
            litecoin_sync_progress_ratio: 1,
            litecoin_peer_connections_total: 2,
            // "socket closed for peer=0" then "disconnecting peer=0": one disconnection.
            litecoin_peer_disconnections_total: 1,
        },
        others: [
            // Newer bitcoin-core formats: connection type names, category prefixes.
            "2024-05-01T12:00:01Z New outbound peer connected: version: 70015, blocks=2712345, peer=12 (outbound-full-relay)",
            "2024-05-01T12:00:05Z [net] socket closed for peer=12",
            "2024-05-01T12:00:05Z [net] disconnecting peer=12",
            // Mention heights, progress or disconnections without being the counted events.
            `2024-05-01T12:00:06Z Loaded best chain: hashBestChain=${HASH} height=9999999 date=2024-05-01T12:00:00Z progress=0.100000`,
            `2024-05-01T12:00:07Z Timeout downloading block ${HASH} from peer=3, disconnecting`,
            "2024-05-01T12:00:08Z Disconnecting and discouraging peer 4!",
            "2024-05-01T12:00:09Z Synchronizing blockheaders, height: 3212403 (~100.00%)",
            `2024-05-01T12:01:00Z [msghand] UpdateTip: new best=${HASH} height=3212403 version=0x20000000 log2_work=61.264534 tx=6437399 date='2024-05-01T12:00:50Z' progress=0.999999 cache=1.0MiB(4200txo) warning='1 of last 100 blocks have unexpected version'`,
        ],
        afterOthers: {
            litecoin_log_lines_total: 36,
            litecoin_tip_updates_total: 5,
            litecoin_block_height: 3212403,
            litecoin_sync_progress_ratio: 0.999999,
            litecoin_peer_connections_total: 3,
            litecoin_peer_disconnections_total: 2,
        },
    },
};

describe("mtail programs (observability/mtail) in a real mtail", function () {
    // Every wait below is bounded (mtail start 10 s, each metrics poll 5 s); this only covers slow machines.
    this.timeout(20_000);
    let mtail = "";
    before(() => {
        mtail = tool("mtail");
    });

    it("every program compiles (mtail -compile_only), and each file is the program of one LogFormat", () => {
        // -compile_only still binds the HTTP port (3903 by default): give it a free one.
        const r = spawnSync(mtail, ["-compile_only", "-progs", MTAIL_PROGRAM_DIR, "-port", "0", "-address", "127.0.0.1", "-logtostderr"], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stderr);
        const files = fs.readdirSync(MTAIL_PROGRAM_DIR).sort();
        assert.deepStrictEqual(files, LOG_FORMATS.map((f) => LOG_FORMAT_INFO[f].program).sort());
        for (const f of files) {
            assert.match(r.stderr, new RegExp(`Loaded program ${f.replace(".", "\\.")}`));
        }
    });

    it("mtail -compile_only fails on a program that does not compile", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mtail-bad-"));
        try {
            fs.writeFileSync(path.join(dir, "bad.mtail"), "counter x\n/(/ {\n  x++\n}\n");
            const r = spawnSync(mtail, ["-compile_only", "-progs", dir, "-port", "0", "-address", "127.0.0.1", "-logtostderr"], { encoding: "utf8" });
            assert.notStrictEqual(r.status, 0);
            assert.match(r.stderr, /compile failed for bad\.mtail/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("each program declares exactly the metrics LOG_FORMAT_INFO lists", () => {
        for (const format of LOG_FORMATS) {
            const source = fs.readFileSync(mtailProgramPath(format), "utf8");
            const declared = [...source.matchAll(/^(?:counter|gauge) (\w+)/gm)].map((m) => m[1]).sort();
            assert.deepStrictEqual(declared, [...LOG_FORMAT_INFO[format].metrics].sort(), format);
            assert.ok(declared.includes(LOG_FORMAT_INFO[format].presenceMetric));
        }
    });

    for (const format of LOG_FORMATS) {
        describe(`${format} (${LOG_FORMAT_INFO[format].program})`, () => {
            const c = CASES[format];
            const program = LOG_FORMAT_INFO[format].program;
            let dir = "";
            let logFile = "";
            let running: Mtail | undefined;

            before(async () => {
                dir = fs.mkdtempSync(path.join(os.tmpdir(), `mtail-${format}-`));
                // Only this program, as the sidecar would mount it.
                fs.mkdirSync(path.join(dir, "progs"));
                fs.copyFileSync(mtailProgramPath(format), path.join(dir, "progs", program));
                logFile = path.join(dir, "app.log");
                fs.writeFileSync(logFile, `${c.preexisting}\n`);
                running = await Mtail.start(mtail, path.join(dir, "progs"), logFile);
            });

            after(async () => {
                await running?.stop();
                fs.rmSync(dir, { recursive: true, force: true });
            });

            it("starts with its counters at 0 and no gauges; a line written before mtail started is not counted", async () => {
                await running!.expectMetrics(program, c.initial);
            });

            it(`turns the lines of tests/fixtures/logs/${c.fixture} into exact values as they are appended`, async () => {
                const lines = fixtureLines(c.fixture);
                fs.appendFileSync(
                    logFile,
                    lines
                        .slice(0, c.firstLines)
                        .map((l) => `${l}\n`)
                        .join(""),
                );
                await running!.expectMetrics(program, c.afterFirst);
                fs.appendFileSync(
                    logFile,
                    lines
                        .slice(c.firstLines)
                        .map((l) => `${l}\n`)
                        .join(""),
                );
                await running!.expectMetrics(program, c.afterAll);
            });

            it("ignores lines that are not the counted events", async () => {
                fs.appendFileSync(logFile, c.others.map((l) => `${l}\n`).join(""));
                await running!.expectMetrics(program, c.afterOthers);
            });
        });
    }
});

describe("Prometheus text format parser (test helper)", () => {
    it("parses names, escaped label values, special values and timestamps", () => {
        const text = [
            "# HELP x_total A counter.",
            "# TYPE x_total counter",
            'x_total{prog="a.mtail",path="C:\\\\dir",msg="say \\"hi\\"\\nbye",empty=""} 2.712345e+06',
            "up 1 1700000000000",
            'h_bucket{le="+Inf"} +Inf',
            "g NaN",
            "",
        ].join("\n");
        const s = parsePrometheusText(text);
        assert.deepStrictEqual(s.slice(0, 2), [
            { name: "x_total", labels: { prog: "a.mtail", path: "C:\\dir", msg: 'say "hi"\nbye', empty: "" }, value: 2712345 },
            { name: "up", labels: {}, value: 1 },
        ]);
        assert.deepStrictEqual(s[2], { name: "h_bucket", labels: { le: "+Inf" }, value: Infinity });
        assert.ok(Number.isNaN(s[3].value));
        assert.throws(() => parsePrometheusText('x{a="1} 1'), /unterminated/);
        assert.throws(() => parsePrometheusText("x one"), /bad value/);
    });
});

/** The stack schema's monitoring defaults (`stateful-apps:monitoring` absent). */
const MONITORING = STACK_SCHEMA.shape.monitoring.parse(undefined);

/** Alert options as a stack with default monitoring gives them, for `app` (mtail job `<app>-mtail`), with `over`. */
function opts(app: string, over: Partial<AlertOptions> = {}): AlertOptions {
    const { notReadyForSeconds, volumeFreeRatio, volumeFillHorizonSeconds, restartThreshold, restartWindowSeconds, mtailDownForSeconds } = MONITORING;
    return {
        notReadyForSeconds,
        volumeFreeRatio,
        volumeFillHorizonSeconds,
        restartThreshold,
        restartWindowSeconds,
        mtailDownForSeconds,
        mtailJob: `${app}-mtail`,
        ...over,
    };
}

describe("alert rules (lib/observability.ts)", () => {
    const visits = () => alertRuleSpec("visits", NAMESPACE, opts("visits", { logFormat: "visits" }));

    it("are one group per app, with the workload rules and, for log formats, the mtail rules", () => {
        const workload = [
            "StatefulAppReplicasNotReady",
            "StatefulAppPodNotReady",
            "StatefulAppContainerRestarting",
            "StatefulAppVolumeNearlyFull",
            "StatefulAppVolumeFillingUp",
        ];
        const spec = visits();
        assert.strictEqual(spec.groups.length, 1);
        assert.strictEqual(spec.groups[0].name, "stateful-apps.stateful-dev.visits");
        assert.deepStrictEqual(
            spec.groups[0].rules.map((r) => r.alert),
            [...workload, "StatefulAppMtailDown", "StatefulAppLogMetricsAbsent"],
        );
        assert.deepStrictEqual(
            alertRuleSpec("datastore", NAMESPACE, opts("datastore")).groups[0].rules.map((r) => r.alert),
            workload,
        );
        for (const r of spec.groups[0].rules) {
            assert.strictEqual(r.labels.app, "visits");
            assert.ok(["warning", "critical"].includes(r.labels.severity));
            assert.match(r.for, /^\d+[smh]$/);
            assert.ok(r.annotations.summary && r.annotations.description);
            assert.strictEqual(r.annotations.runbook_url, undefined);
        }
    });

    it("scope every selector to the namespace", () => {
        for (const format of [undefined, ...LOG_FORMATS]) {
            for (const r of alertRuleSpec("litecoin", NAMESPACE, opts("litecoin", { logFormat: format })).groups[0].rules) {
                const selectors = r.expr.match(/[a-z_]+\{[^}]*\}/g) ?? [];
                assert.ok(selectors.length > 0, r.alert);
                for (const s of selectors) {
                    assert.ok(s.includes('namespace="stateful-dev"'), `${r.alert}: ${s}`);
                }
            }
        }
    });

    it("use the presence metric of the log format and the mtail job", () => {
        const rules = alertRuleSpec("litecoin", NAMESPACE, opts("litecoin", { logFormat: "litecoin-debug", mtailJob: "stateful-dev/litecoin" })).groups[0]
            .rules;
        const absent = rules.find((r) => r.alert === "StatefulAppLogMetricsAbsent")!;
        assert.strictEqual(
            absent.expr,
            'absent(up{namespace="stateful-dev", job="stateful-dev/litecoin"}) or (up{namespace="stateful-dev", job="stateful-dev/litecoin"} == 1 unless on (job, instance) litecoin_log_lines_total{namespace="stateful-dev", job="stateful-dev/litecoin"})',
        );
    });

    it("take thresholds, durations and a runbook base URL from the options", () => {
        const rules = alertRuleSpec(
            "visits",
            NAMESPACE,
            opts("visits", {
                volumeFreeRatio: 0.05,
                volumeFillHorizonSeconds: 43200,
                restartThreshold: 0,
                restartWindowSeconds: 3600,
                notReadyForSeconds: 120,
                runbookBaseUrl: "https://runbooks.example/stateful-apps",
            }),
        ).groups[0].rules;
        const byName = Object.fromEntries(rules.map((r) => [r.alert, r]));
        assert.match(byName.StatefulAppVolumeNearlyFull.expr, / < 0\.05$/);
        assert.match(byName.StatefulAppVolumeNearlyFull.annotations.description, /alert under 5%/);
        assert.match(byName.StatefulAppVolumeFillingUp.expr, /\[6h\], 43200\) < 0$/);
        assert.match(byName.StatefulAppVolumeFillingUp.annotations.description, /fills within 12h/);
        assert.match(byName.StatefulAppContainerRestarting.expr, /\[1h\]\) > 0 and/);
        assert.strictEqual(byName.StatefulAppPodNotReady.for, "2m");
        assert.strictEqual(byName.StatefulAppReplicasNotReady.for, "2m");
        assert.strictEqual(byName.StatefulAppPodNotReady.annotations.runbook_url, "https://runbooks.example/stateful-apps#statefulapppodnotready");
    });

    it("need the mtail job with a log format (the schema checks every other option: tests/config.test.ts)", () => {
        assert.throws(
            () => alertRuleSpec("visits", NAMESPACE, { ...opts("visits"), logFormat: "visits", mtailJob: undefined }),
            /logFormat visits needs mtailJob/,
        );
    });

    it("format durations in the largest whole unit", () => {
        const cases: [number, string][] = [
            [0, "0s"],
            [90, "90s"],
            [300, "5m"],
            [900, "15m"],
            [3600, "1h"],
            [5400, "90m"],
            [86400, "24h"],
        ];
        for (const [s, d] of cases) {
            assert.strictEqual(promDuration(s), d);
        }
        assert.throws(() => promDuration(-1));
        assert.throws(() => promDuration(1.5));
        assert.deepStrictEqual(
            [MONITORING.notReadyForSeconds, MONITORING.volumeFillHorizonSeconds, MONITORING.restartWindowSeconds, MONITORING.mtailDownForSeconds].map(
                promDuration,
            ),
            ["15m", "24h", "15m", "5m"],
        );
    });

    it("render as a rules file (YAML) that parses back to the specs, refusing duplicate group names", () => {
        const specs = [visits(), alertRuleSpec("datastore", NAMESPACE, opts("datastore"))];
        const text = rulesFileYaml(...specs);
        assert.match(text, /^# Generated by lib\/observability\.ts/);
        assert.deepStrictEqual(parse(text), { groups: specs.flatMap((s) => s.groups) });
        assert.throws(() => rulesFileYaml(visits(), visits()), /rule group "stateful-apps\.stateful-dev\.visits" appears twice/);
    });

    it("map each log format to its program and build the mtail command line", () => {
        for (const format of LOG_FORMATS) {
            assert.ok(fs.existsSync(mtailProgramPath(format)), format);
            assert.strictEqual(path.dirname(mtailProgramPath(format)), path.join(ROOT, "observability", "mtail"));
        }
        assert.deepStrictEqual(mtailArgs({ logFile: "/data/visits.log", progsDir: "/etc/mtail" }), [
            "-progs",
            "/etc/mtail",
            "-logs",
            "/data/visits.log",
            "-port",
            "3903",
            "-logtostderr",
        ]);
    });
});

describe("alert rules with promtool", function () {
    // promtool test rules takes about 0.6 s per run; the mutation test runs it twice.
    this.timeout(20_000);
    let promtool = "";
    let dir = "";
    /** The sample apps observability/rules-tests/stateful-apps.test.yaml is written for. */
    const sampleSpecs = (overrides: Partial<AlertOptions> = {}): RulesSpec[] => [
        alertRuleSpec("visits", NAMESPACE, opts("visits", { logFormat: "visits", ...overrides })),
        alertRuleSpec("litecoin", NAMESPACE, opts("litecoin", { logFormat: "litecoin-debug", ...overrides })),
        alertRuleSpec("datastore", NAMESPACE, opts("datastore", overrides)),
    ];
    const run = (args: string[]) => {
        const r = spawnSync(promtool, args, { encoding: "utf8", cwd: dir });
        if (r.error) throw r.error;
        return { status: r.status, out: r.stdout + r.stderr };
    };
    /** Writes the rules file the unit tests load, next to a copy of every checked-in unit-test file. */
    const writeRules = (specs: RulesSpec[]) => fs.writeFileSync(path.join(dir, "stateful-apps.rules.yaml"), rulesFileYaml(...specs));
    const testFiles = () => fs.readdirSync(RULES_TESTS).filter((f) => f.endsWith(".yaml"));

    before(() => {
        promtool = tool("promtool");
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "promtool-"));
        for (const f of testFiles()) {
            fs.copyFileSync(path.join(RULES_TESTS, f), path.join(dir, f));
        }
    });

    after(() => {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("the generated rules file passes promtool check rules (lint errors fatal)", () => {
        writeRules(sampleSpecs());
        const r = run(["check", "rules", "--lint-fatal", "stateful-apps.rules.yaml"]);
        assert.strictEqual(r.status, 0, r.out);
        assert.match(r.out, /SUCCESS: 19 rules found/);
    });

    it("the generated rules pass the unit tests in observability/rules-tests (promtool test rules)", () => {
        writeRules(sampleSpecs());
        assert.ok(testFiles().length > 0);
        const r = run(["test", "rules", ...testFiles()]);
        assert.strictEqual(r.status, 0, r.out);
        assert.match(r.out, /SUCCESS/);
    });

    it("promtool rejects a rules file with a broken expression", () => {
        const spec = visits();
        const [first, ...rest] = spec.groups[0].rules;
        const broken: RulesSpec = { groups: [{ ...spec.groups[0], rules: [{ ...first, expr: first.expr.replace(/ > 0$/, " >") }, ...rest] }] };
        fs.writeFileSync(path.join(dir, "broken.rules.yaml"), rulesFileYaml(broken));
        const r = run(["check", "rules", "broken.rules.yaml"]);
        assert.notStrictEqual(r.status, 0, r.out);
        assert.match(r.out, /parse error/);
        writeRules([broken, ...sampleSpecs().slice(1)]);
        assert.notStrictEqual(run(["test", "rules", ...testFiles()]).status, 0);
    });

    it("the unit tests fail when a threshold or a for: duration changes", () => {
        writeRules(sampleSpecs({ volumeFreeRatio: 0.5 }));
        const ratio = run(["test", "rules", ...testFiles()]);
        assert.notStrictEqual(ratio.status, 0);
        assert.match(ratio.out, /alertname: StatefulAppVolumeNearlyFull/);
        writeRules(sampleSpecs({ notReadyForSeconds: MONITORING.notReadyForSeconds - 60 }));
        const forChanged = run(["test", "rules", ...testFiles()]);
        assert.notStrictEqual(forChanged.status, 0);
        assert.match(forChanged.out, /alertname: StatefulAppReplicasNotReady/);
        assert.match(forChanged.out, /alertname: StatefulAppPodNotReady/);
    });

    function visits(): RulesSpec {
        return sampleSpecs()[0];
    }
});
